"""One pass of the database task backend's worker, as a project runs it: ``manage.py db_worker --batch`` in a
process of its own, on the benchmark settings and the workspace's database, storage and service.

A separate process on purpose: the background-promotion benchmark must show that the enqueued task is all a
worker needs, with nothing shared with the process that saved the record but the database and the storage.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import subprocess
import sys
import time

from .harness import ROOT, BenchmarkError, log_tail

# A batch pass over one 512 MiB promotion finishes in seconds; this only stops a hung worker.
WORKER_TIMEOUT_SECONDS = 600


@dataclass
class WorkerPass:
    seconds: float  # process start to exit: Python and Django start-up included
    log: Path


def worker_environment() -> dict[str, str]:
    """The runner's environment (AP_BENCH_*, DJANGO_SETTINGS_MODULE), with promotion as a task, as a project
    running a worker would configure it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["AP_BENCH_PROMOTION"] = "task"
    return env


def run_batch(workspace_path: Path, name: str) -> WorkerPass:
    """Run ``db_worker --batch`` until the queue is empty; its output goes to ``worker-NAME.log``."""
    log_path = workspace_path / f"worker-{name}.log"
    command = [sys.executable, "-m", "django", "db_worker", "--batch", "--no-startup-delay", "--interval", "0.05"]
    started = time.perf_counter()
    with open(log_path, "ab") as log:
        try:
            completed = subprocess.run(
                command,
                cwd=ROOT,
                env=worker_environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=WORKER_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchmarkError(f"db_worker --batch did not finish within {WORKER_TIMEOUT_SECONDS} s") from exc
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise BenchmarkError(f"db_worker --batch exited with {completed.returncode}:\n{log_tail(log_path)}")
    return WorkerPass(seconds, log_path)
