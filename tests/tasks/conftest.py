"""Background promotion on real task workers: the database backend's ``db_worker`` and RQ's worker on Redis,
separate processes on the test run's PostgreSQL database, promoting uploads stored in SeaweedFS or Azurite.

A worker is another process, so what the tests set up in this one (the model field's storage, the library's
settings) is handed to it through the environment (see ``worker_app`` and ``worker_settings``). Records are
created through the DRF test API with the Django test client, as a user would submit them, and the tests then
watch the database and the store, polling with deadlines, while the workers do their part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import hashlib
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any

from django.db import connection
from django.test import override_settings
import pytest

from tests.azure.conftest import azurite, blob_service, container  # noqa: F401 - fixtures
from tests.conftest import PDF_BYTES, mark_folder, require_postgresql, service_variable
from tests.gcs.conftest import gcs_bucket, gcs_client, gcs_server  # noqa: F401 - fixtures
from tests.s3.conftest import bucket, s3_client, s3_server  # noqa: F401 - fixtures
from tests.services.process import log_tail
from tests.stores import Store, StoredUpload, build_store, put_upload

API = "/test-api/cloud-documents/"
REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT = 60
TASK_BACKENDS = {
    "db": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend"},
}
# The settings every worker and this process share: promotion as a task, retries soon (the tests wait for them).
LIBRARY_SETTINGS = {"PROMOTION": "task", "PROMOTION_RETRY_DELAY": 1, "CLAIM_WAIT": 60}


def pytest_collection_modifyitems(config, items):
    mark_folder(items, "tasks", pytest.mark.worker)


@pytest.fixture(autouse=True)
def _postgresql_only():
    require_postgresql("task worker tests")


@pytest.fixture(params=["s3", "azure", "gcs"])
def store(request, monkeypatch, tmp_path) -> Store:
    return build_store(request.param, request, monkeypatch, tmp_path)


@pytest.fixture
def task_mode(request) -> Iterator[str]:
    """This process enqueues promotions on the backend the test is parametrised with (``db`` by default)."""
    backend = getattr(request, "param", "db")
    if backend == "rq":
        service_variable("AP_TEST_REDIS_URL", "redis")
    with override_settings(TASKS={"default": TASK_BACKENDS[backend]}, ALLIANCE_PLATFORM={"STORAGE": LIBRARY_SETTINGS}):
        yield backend


class Worker:
    """One worker process (in its own process group, so that a kill takes its children, such as RQ's work horse)."""

    def __init__(self, backend: str, store: Store, workdir: Path, name: str, **settings: Any):
        self.log_path = workdir / f"worker-{name}.log"
        self.stopped = False
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.tasks.worker_settings",
            "AP_WORKER_DB_NAME": connection.settings_dict["NAME"],
            "AP_WORKER_TASKS": json.dumps({"default": TASK_BACKENDS[backend]}),
            "AP_WORKER_STORAGE": json.dumps(store.spec),
            "AP_WORKER_STORAGE_SETTINGS": json.dumps({**LIBRARY_SETTINGS, **settings.pop("library", {})}),
            "PYTHONUNBUFFERED": "1",
            # The tests' packages (tests, and the demo's apps the test settings install), as pytest's pythonpath.
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "demo")]),
        }
        self.pause_marker = workdir / f"paused-{name}"
        if pause := settings.pop("pause", None):
            env.update(AP_WORKER_PAUSE=pause, AP_WORKER_PAUSE_MARKER=str(self.pause_marker))
        if backend == "db":
            command = ["db_worker", "--interval", "0.05", "--no-startup-delay", "--no-reload"]
        else:
            command = ["rqworker", "default", "--with-scheduler", "--job-class", "django_tasks_rq.Job"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "django", *command],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def died(self) -> bool:
        """Whether the worker exited without the test stopping it."""
        return not self.stopped and self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is cleaned up, as when the machine or the OOM killer stops it."""
        self.stopped = True
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        self.stopped = True
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return log_tail(self.log_path)


@pytest.fixture
def workers(tmp_path, store, task_mode) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(**settings: Any) -> Worker:
        started.append(Worker(task_mode, store, tmp_path, str(len(started)), **settings))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 120, workers: list[Worker] = ()) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with the workers' logs after ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        value = condition()
        if value:
            return value
        died = [worker for worker in workers if worker.died()]
        if died or time.monotonic() > deadline:
            what = f"{what}: a worker exited" if died else what
            logs = "\n\n".join(worker.log() for worker in workers)
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)


def put_large_upload(store: Store, user, tmp_path: Path, size: int, filename: str = "large.pdf") -> StoredUpload:
    """A planned upload of ``user``'s whose object, ``size`` bytes of a PDF, is already in the temporary area."""
    source = tmp_path / f"{filename}.source"
    with open(source, "wb") as f:
        block = hashlib.sha256(filename.encode()).digest() * (1024 * 1024 // 32)
        f.write(PDF_BYTES)
        while f.tell() < size:
            f.write(block[: size - f.tell()])
    with open(source, "rb") as f:
        upload = put_upload(store, user, f, filename)
    source.unlink()
    return upload


def submit(client, upload: StoredUpload, name: str = "large.pdf"):
    return client.post(API, {"title": "t", "file": {"key": upload.key, "name": name}}, content_type="application/json")
