"""The pytest plugin that starts the services a run needs (loaded for every run through ``addopts``).

``pytest --services=s3,azure,gcs`` (or ``postgres``, ``redis``, ``clamd``, or ``all``; ``AP_TEST_SERVICES`` works too)
starts them before Django reads its settings, so their ports (free ones, the usual ones when they are free) reach
``tests/settings.py`` and the fixtures through the ``AP_TEST_*`` variables, and stops them when the run ends,
however it ends. A service's data, log and pid live under ``AP_TEST_SERVICES_DIR`` when it is set (the test
command passes one, so that its exit handler can stop what a killed run left behind), else under a temporary
directory that is removed.

Starting ``postgres`` makes the run use it (``AP_TEST_DB=postgres``). A run that starts services also sets
``AP_TEST_REQUIRE_SERVICES=1``: a test that cannot reach one fails instead of skipping.

``all`` means every service whose ``in_all`` is set, which leaves out Redis and ClamAV: only the tests of
background tasks and virus scanning need them, so a run names them (``--services=all,redis,clamd``) rather than
every run paying for them.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import tempfile

import pytest

from . import SERVICES, ServiceError, ServiceSet

#: What ``--services=all`` starts.
ALL = [name for name, service in SERVICES.items() if service.in_all]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--services",
        default=os.environ.get("AP_TEST_SERVICES", ""),
        help=(
            f"start these services for the run: a comma-separated list of {', '.join(SERVICES)}, or 'all' "
            f"({', '.join(ALL)})"
        ),
    )


def requested(value: str) -> dict[str, type]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if "all" in names:
        # "all,redis": everything "all" means, and the opt-in ones named besides it.
        names = [*ALL, *(name for name in names if name != "all" and name not in ALL)]
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        raise pytest.UsageError(f"--services: unknown {', '.join(unknown)} (known: {', '.join(SERVICES)}, all)")
    return {name: SERVICES[name] for name in names}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]):
    # A wrapper runs before every plain implementation, pytest-django's too, which reads the Django settings.
    services = requested(early_config.known_args_namespace.services)
    if services:
        _start(early_config, services)
    return (yield)


def _start(config: pytest.Config, services: dict[str, type]) -> None:
    given = os.environ.get("AP_TEST_SERVICES_DIR")
    root = Path(given) if given else Path(tempfile.mkdtemp(prefix="ap-storage-services-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # PostgreSQL runs as its own user when we are root, and must reach its directory inside
    started = ServiceSet(root, services)

    def stop() -> None:
        started.stop()
        if not given:
            shutil.rmtree(root, ignore_errors=True)

    config.add_cleanup(stop)
    try:
        env = started.start()
    except ServiceError as exc:
        raise pytest.UsageError(f"--services: {exc}") from None
    os.environ.update(env)
    os.environ["AP_TEST_REQUIRE_SERVICES"] = "1"
    lines = [f"{service.name}: {service.directory}" for service in started.started]
    config.stash[_SUMMARY] = lines


_SUMMARY = pytest.StashKey[list[str]]()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = config.stash.get(_SUMMARY, [])
    return [f"services started: {', '.join(lines)}"] if lines else []
