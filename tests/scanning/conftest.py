"""What the scanning tests share: the EICAR file and its verdict from the run's clamd (tests/services/clamd.py;
the ``clamd`` fixture is in tests/conftest.py) and the library settings that scan uploads with it."""

from __future__ import annotations

from tests.services.clamd import EICAR, SIGNATURE

CLAMAV_SCANNER = "alliance_platform.storage.async_uploads.scanning.clamav.scan"
#: The threat clamd names for the EICAR file with the run's own signature database.
EICAR_THREAT = f"{SIGNATURE}.UNOFFICIAL"
#: A clamd address where nothing listens: "clamd is down".
DOWN = "unix:///nonexistent/clamd.sock"

__all__ = ["CLAMAV_SCANNER", "DOWN", "EICAR", "EICAR_THREAT"]


def scanning_settings(address: str, **extra) -> dict:
    return {"SCANNER": CLAMAV_SCANNER, "CLAMD_ADDRESS": address, "CLAMD_TIMEOUT": 30, **extra}
