"""The real ClamAV daemon of the run (``--services=...,clamd``, see tests/services/clamd.py) and the library
settings that scan uploads with it."""

from __future__ import annotations

from collections.abc import Iterator
import os

from django.test import override_settings
import pytest

from tests.services.clamd import EICAR, SIGNATURE

CLAMAV_SCANNER = "alliance_platform.storage.async_uploads.scanning.clamav.scan"
#: The threat clamd names for the EICAR file with the run's own signature database.
EICAR_THREAT = f"{SIGNATURE}.UNOFFICIAL"
#: A clamd address where nothing listens: "clamd is down".
DOWN = "unix:///nonexistent/clamd.sock"

__all__ = ["CLAMAV_SCANNER", "DOWN", "EICAR", "EICAR_THREAT"]


@pytest.fixture(scope="session")
def clamd() -> dict[str, str]:
    """clamd's addresses as the scanner takes them: ``unix`` (its socket) and ``tcp`` (its port on 127.0.0.1)."""
    socket_path = os.environ.get("AP_TEST_CLAMD_SOCKET")
    if not socket_path:
        message = "AP_TEST_CLAMD_SOCKET is not set: run pytest with --services=...,clamd"
        if os.environ.get("AP_TEST_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return {
        "unix": f"unix://{socket_path}",
        "tcp": f"tcp://{os.environ['AP_TEST_CLAMD_HOST']}:{os.environ['AP_TEST_CLAMD_PORT']}",
    }


def scanning_settings(address: str, **extra) -> dict:
    return {"SCANNER": CLAMAV_SCANNER, "CLAMD_ADDRESS": address, "CLAMD_TIMEOUT": 30, **extra}


@pytest.fixture
def scan_with_clamd(clamd) -> Iterator[dict]:
    """Uploads are scanned by the ClamAV scanner on the run's clamd before promotion (in the request)."""
    library = scanning_settings(clamd["unix"])
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": library}):
        yield library
