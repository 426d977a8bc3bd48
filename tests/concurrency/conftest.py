"""The concurrency suite: the library's promises checked after real interleavings, not one request at a time.

Every test here runs a race many rounds over: real threads send real HTTP requests to a live server (Django's
threaded live server, so requests are served concurrently) backed by PostgreSQL and a real store (the filesystem,
SeaweedFS or Azurite), while other threads run cleanup or promotion directly. After every round the invariants are
checked against the database and the store themselves:

* every saved record points at an object that exists and holds exactly its upload's bytes;
* no two records share an object;
* no request answered with a 5xx;
* no upload that was promoted carries an error.

The suite needs PostgreSQL (SQLite serialises writers, which hides the races): it is marked ``concurrency`` and
run by the PostgreSQL pass of scripts/test.sh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
import threading
from typing import Any

from django.db import connections
import pytest
import requests

from alliance_platform.storage.async_uploads.storage.base import AsyncUploadStorage
from alliance_platform.storage.async_uploads.storage.filesystem import FileSystemAsyncUploadStorage
from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile
from tests.azure.conftest import azurite, blob_service, container, make_storage as make_azure_storage  # noqa: F401
from tests.conftest import mark_folder, require_postgresql
from tests.gcs.conftest import gcs_bucket, gcs_client, gcs_server, make_storage as make_gcs_storage  # noqa: F401
from tests.s3.conftest import bucket, make_storage as make_s3_storage, s3_client, s3_server  # noqa: F401
from tests.testapp.models import CloudDocument

ROUNDS = 20
API = "/test-api/cloud-documents/"
PLAN_URL = "/async-uploads/generate-upload-url/"
THREAD_TIMEOUT = 120


def pytest_collection_modifyitems(config, items):
    mark_folder(items, "concurrency", pytest.mark.concurrency)


@pytest.fixture(autouse=True)
def _postgresql_only():
    require_postgresql("concurrency tests")


@dataclass
class Backend:
    name: str
    storage: AsyncUploadStorage
    #: Whether an uploaded object can be written again with the same upload URL (S3's presigned POST, GCS's signed
    #: POST policy).
    rewritable: bool

    def read(self, key: str) -> bytes | None:
        try:
            with self.storage.open(key, "rb") as f:
                return f.read()
        except Exception:  # noqa: BLE001 - any "not there" of any backend
            return None


@pytest.fixture(params=["filesystem", "s3", "azure", "gcs"])
def backend(request, monkeypatch, tmp_path) -> Backend:
    if request.param == "filesystem":
        storage: AsyncUploadStorage = FileSystemAsyncUploadStorage(location=str(tmp_path / "store"))
    elif request.param == "s3":
        storage = make_s3_storage(request.getfixturevalue("s3_server"), request.getfixturevalue("bucket"))
    elif request.param == "gcs":
        storage = make_gcs_storage(request.getfixturevalue("gcs_server"), request.getfixturevalue("gcs_bucket"))
    else:
        storage = make_azure_storage(request.getfixturevalue("azurite"), request.getfixturevalue("container"))
    for name in ("file", "image"):
        monkeypatch.setattr(CloudDocument._meta.get_field(name), "storage", storage)
    return Backend(name=request.param, storage=storage, rewritable=request.param in ("s3", "gcs"))


@pytest.fixture
def server(live_server, transactional_db) -> str:
    return live_server.url


class Visitor:
    """One browser (or API client) with its own session, talking HTTP to the live server."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.statuses: list[int] = []

    def _record(self, response: requests.Response) -> requests.Response:
        self.statuses.append(response.status_code)
        return response

    def plan(self, filename: str, size: int, field: str = "file", **extra: Any) -> dict:
        field_id = CloudDocument._meta.get_field(field).async_field_id
        # GET, as documented (a POST from a session needs the CSRF token a page would have).
        params = {"fieldId": field_id, "filename": filename, "size": size, **extra}
        response = self._record(self.http.get(self.base_url + PLAN_URL, params=params, timeout=60))
        assert response.status_code == 200, response.text
        return response.json()

    def send(self, plan: dict, content: bytes, filename: str = "upload.bin") -> requests.Response:
        """Send the bytes the way the widget does for a single-request plan."""
        upload_url = plan["uploadUrl"]
        url = upload_url["url"]
        if url.startswith("/"):
            url = self.base_url + url  # the filesystem backend receives uploads itself
        if upload_url["method"] == "POST":
            files = {upload_url.get("fileFieldName", "file"): (filename, content)}
            response = requests.post(url, data=upload_url["fields"], files=files, timeout=60)
        else:
            response = self.http.put(url, data=content, headers=upload_url.get("headers", {}), timeout=60)
        return self._record(response)

    def upload(self, filename: str, content: bytes) -> dict:
        plan = self.plan(filename, len(content))
        sent = self.send(plan, content)
        assert sent.status_code in (200, 201, 204), sent.text
        return plan

    def create(self, key: str, name: str, title: str = "t") -> requests.Response:
        body = {"title": title, "file": {"key": key, "name": name}}
        return self._record(self.http.post(self.base_url + API, json=body, timeout=120))


def run_together(*actions: Callable[[], Any]) -> list[Any]:
    """Run each action in its own thread, released at the same moment; re-raise the first failure."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)
    failures: list[BaseException] = []

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            results[index] = action()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, action), daemon=True) for i, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_TIMEOUT)
        assert not thread.is_alive(), "a racing thread did not finish in time"
    if failures:
        raise failures[0]
    return results


def assert_invariants(backend: Backend, expected: dict[int, bytes], statuses: list[int]) -> None:
    """The promises, checked after a round: ``expected`` maps each record the round created to its upload's
    bytes."""
    assert all(status < 500 for status in statuses), f"server errors: {statuses}"
    records = list(CloudDocument.objects.filter(pk__in=expected))
    names = [record.file.name for record in records if record.file.name]
    assert len(names) == len(set(names)), f"two records share an object: {names}"
    for record in records:
        if not record.file.name:
            continue
        stored = backend.read(record.file.name)
        assert stored is not None, f"record {record.pk} points at a missing object {record.file.name}"
        assert stored == expected[record.pk], f"record {record.pk} holds other bytes than its upload's"
    promoted_with_error = list(
        AsyncTempFile.objects.exclude(moved_to_location="").exclude(error="").values_list("key", "error")
    )
    assert not promoted_with_error, f"promoted uploads carry errors: {promoted_with_error}"


@pytest.fixture
def visitor(server) -> Iterator[Callable[[], Visitor]]:
    made: list[Visitor] = []

    def make() -> Visitor:
        made.append(Visitor(server))
        return made[-1]

    yield make
    for each in made:
        each.http.close()
