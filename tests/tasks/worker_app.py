"""The app a test's task worker runs with (``tests.tasks.worker_settings``): it gives the test models the storage
the test chose, since a worker is another process and sees none of the test's monkeypatching.

``AP_WORKER_STORAGE`` is JSON ``{"kind": "s3" | "azure" | "gcs" | "filesystem", "options": {...}}``, the arguments the test
built its own storage with. ``AP_WORKER_PAUSE`` (``before_copy`` or ``after_copy``) makes the worker's promotion
stop for good at that point of its first copy, after writing the file ``AP_WORKER_PAUSE_MARKER``: the test kills
the worker there, at a known moment of the promotion.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import threading

from django.apps import AppConfig


def _storage(spec: dict):
    options = spec["options"]
    if spec["kind"] == "s3":
        from alliance_platform.storage.async_uploads.storage.s3 import S3AsyncUploadStorage

        return S3AsyncUploadStorage(**options)
    if spec["kind"] == "azure":
        from alliance_platform.storage.async_uploads.storage.azure import AzureAsyncUploadStorage

        return AzureAsyncUploadStorage(**options)
    if spec["kind"] == "gcs":
        from alliance_platform.storage.async_uploads.storage.gcs import GoogleCloudAsyncUploadStorage
        from tests.gcs.conftest import SigningCredentials

        return GoogleCloudAsyncUploadStorage(credentials=SigningCredentials(), **options)
    from alliance_platform.storage.async_uploads.storage.filesystem import FileSystemAsyncUploadStorage

    return FileSystemAsyncUploadStorage(**options)


def _pausing(storage, where: str, marker: Path) -> None:
    copy_file = storage.copy_file
    forever = threading.Event()

    def paused_copy(*args, **kwargs):
        if where == "before_copy":
            marker.write_text("before_copy")
            forever.wait()
        copy_file(*args, **kwargs)
        if where == "after_copy":
            marker.write_text("after_copy")
            forever.wait()

    storage.copy_file = paused_copy


class WorkerStorageConfig(AppConfig):
    name = "tests.tasks"
    label = "tests_tasks_worker"

    def ready(self) -> None:
        from tests.testapp.models import CloudDocument

        spec = os.environ.get("AP_WORKER_STORAGE")
        if not spec:
            return
        storage = _storage(json.loads(spec))
        if os.environ.get("AP_WORKER_PAUSE"):
            _pausing(storage, os.environ["AP_WORKER_PAUSE"], Path(os.environ["AP_WORKER_PAUSE_MARKER"]))
        for name in ("file", "image"):
            CloudDocument._meta.get_field(name).storage = storage
