"""The reference, alliance-platform-storage 0.0.5, installed from PyPI into a virtual environment of its own.

It shares the import path ``alliance_platform.storage`` with this library, so it cannot live in the runner's
environment. The environment gets the same Django, gunicorn and psycopg as the runner's (so only the library
differs between the two servers) and the two packages 0.0.5 depends on, pinned as the upgrade test pins them. It
is built in the workspace for each run (about half a minute), or taken from ``AP_BENCH_REFERENCE_PYTHON`` (the
Python of an environment built the same way) to save that time.
"""

from __future__ import annotations

from importlib.metadata import version
import os
from pathlib import Path
import subprocess
import sys

from .harness import BenchmarkError, Workspace

REFERENCE = "alliance-platform-storage==0.0.5"
REFERENCE_DEPENDENCIES = ["alliance-platform-core==0.0.5", "django-allianceutils==4.2.1"]


def _run(command: list[str], timeout: float) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise BenchmarkError(f"{' '.join(command[:4])} ... failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def reference_python(workspace: Workspace, progress) -> str:
    """The Python of an environment with the reference installed (built on first use)."""
    given = os.environ.get("AP_BENCH_REFERENCE_PYTHON")
    packages = [
        REFERENCE,
        *REFERENCE_DEPENDENCIES,
        f"Django=={version('django')}",
        f"gunicorn=={version('gunicorn')}",
        f"psycopg[binary]=={version('psycopg')}",
    ]
    if given:
        python = given
    else:
        venv = workspace.path / "reference-venv"
        python = str(venv / "bin" / "python")
        if not Path(python).exists():
            progress(f"installing {REFERENCE} from PyPI into {venv.name} (with {', '.join(packages[1:])})")
            _run([sys.executable, "-m", "venv", str(venv)], 120)
            pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "5"]
            _run([*pip, *packages], 900)
    installed = _run([python, "-c", _VERSIONS], 60).split()
    expected = ["0.0.5", version("django"), version("gunicorn")]
    if installed != expected:
        raise BenchmarkError(
            f"the reference environment {python} has alliance-platform-storage, Django, gunicorn "
            f"{' '.join(installed)}, not {' '.join(expected)}"
        )
    return python


_VERSIONS = (
    "from importlib.metadata import version; "
    "print(version('alliance-platform-storage'), version('django'), version('gunicorn'))"
)
