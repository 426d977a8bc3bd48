"""uvicorn servers for the ASGI tests, one per kind of handler, sharing a migrated SQLite file and a media root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .live import UvicornServer, migrate


@pytest.fixture(scope="module")
def asgi_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("asgi")
    migrate(workdir)
    return workdir


@pytest.fixture(scope="module")
def server(asgi_workdir: Path) -> Iterator[UvicornServer]:
    """The test project under ``alliance_platform.storage.asgi`` (what the docs tell projects to use)."""
    started = UvicornServer("tests.asgi_app:application", asgi_workdir, "streaming")
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def django_server(asgi_workdir: Path) -> Iterator[UvicornServer]:
    """The same project under Django's own ASGI handler, for the tests that show what it does instead."""
    started = UvicornServer("tests.asgi_app:django_application", asgi_workdir, "django")
    started.start()
    yield started
    started.stop()
