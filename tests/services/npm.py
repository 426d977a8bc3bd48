"""npm packages the test kit needs (Azurite, axe-core), each pinned and installed on first use into a git-ignored
directory of the checkout: one way to fetch them, so a fresh machine needs nothing but npm and its registry."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

from .process import ServiceError, run

INSTALL_TIMEOUT = 600


def installed_version(home: Path, package: str) -> str:
    """The version of ``package`` installed under ``home``, or ``""`` when it is not there."""
    try:
        return json.loads((home / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return ""


def ensure_package(home: Path, package: str, version: str, *, log: Path) -> Path:
    """``package@version`` installed under ``home`` (from npm when it is missing or another version); returns its
    directory. ``ServiceError`` (with the log's tail) when npm is missing or fails."""
    if installed_version(home, package) == version:
        return home / "node_modules" / package
    npm = shutil.which("npm")
    if npm is None:
        raise ServiceError(f"npm is needed to install {package} (Debian: apt-get install -y npm)")
    home.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    if not (home / "package.json").exists():
        (home / "package.json").write_text('{"private": true}\n')
    run(
        [
            npm,
            "install",
            "--prefix",
            str(home),
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--loglevel=error",
            f"{package}@{version}",
        ],
        log=log,
        what=f"npm install {package}@{version}",
        timeout=INSTALL_TIMEOUT,
    )
    if installed_version(home, package) != version:
        raise ServiceError(f"npm did not install {package}@{version} into {home}")
    return home / "node_modules" / package
