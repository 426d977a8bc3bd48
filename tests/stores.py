"""The stores a test can run the test model ``CloudDocument`` on: the filesystem backend, S3 (SeaweedFS), Azure
(Azurite) and Google Cloud Storage (fake-gcs-server), each built from plain options a task worker (another process) can rebuild it from, and uploads placed
in their temporary area the way a browser would have left them."""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
from pathlib import Path
import posixpath
from typing import IO, Any

from django.core.files import File
import pytest

from alliance_platform.storage.async_uploads.storage.base import AsyncUploadStorage
from alliance_platform.storage.async_uploads.storage.filesystem import FileSystemAsyncUploadStorage
from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile
from tests.azure.conftest import make_storage as make_azure_storage
from tests.gcs.conftest import make_storage as make_gcs_storage
from tests.s3.conftest import make_storage as make_s3_storage
from tests.testapp.models import CloudDocument

KINDS = ["filesystem", "s3", "azure", "gcs"]


@dataclass
class Store:
    kind: str
    storage: AsyncUploadStorage
    spec: dict[str, Any]  # how a worker builds the same storage

    def sha256(self, key: str) -> str | None:
        digest = hashlib.sha256()
        try:
            with self.storage.open(key, "rb") as f:
                while chunk := f.read(4 * 1024 * 1024):
                    digest.update(chunk)
        except Exception:  # noqa: BLE001 - any "not there" of any backend
            return None
        return digest.hexdigest()

    def keys_under(self, prefix: str) -> list[str]:
        return sorted(f"{prefix}{name}" for name in file_names_under(self.storage, prefix))

    def exists(self, key: str) -> bool:
        return self.storage.stat_object(key) is not None


def file_names_under(storage: AsyncUploadStorage, prefix: str) -> list[str]:
    """The names of the files directly in the folder ``prefix``. django-storages' Azure ``listdir`` gives files by
    their full name, S3's, GCS's and the filesystem's relative to the folder; a folder that does not exist (on the
    filesystem) holds nothing."""
    try:
        _directories, files = storage.listdir(prefix)
    except FileNotFoundError:
        return []
    return [posixpath.basename(name) for name in files]


def build_store(kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Store:
    """A fresh store of ``kind`` (its own bucket, container or folder), installed on CloudDocument's fields, whose
    size limit and type restriction are lifted (the tests choose their files' sizes and contents)."""
    if kind == "s3":
        server = request.getfixturevalue("s3_server")
        options = {
            "bucket_name": request.getfixturevalue("bucket"),
            "region_name": "us-east-1",
            "signature_version": "s3v4",
            "addressing_style": "path",
            **server,
        }
        storage: AsyncUploadStorage = make_s3_storage(server, options["bucket_name"])
    elif kind == "azure":
        options = {
            "connection_string": request.getfixturevalue("azurite"),
            "azure_container": request.getfixturevalue("container"),
        }
        storage = make_azure_storage(options["connection_string"], options["azure_container"])
    elif kind == "gcs":
        # The credentials are not an option a worker can be given: it makes its own (it signs nothing).
        options = {"bucket_name": request.getfixturevalue("gcs_bucket"), **request.getfixturevalue("gcs_server")}
        storage = make_gcs_storage(request.getfixturevalue("gcs_server"), options["bucket_name"])
    else:
        options = {"location": str(tmp_path / "media"), "base_url": "/media/"}
        storage = FileSystemAsyncUploadStorage(**options)
    field = CloudDocument._meta.get_field("file")
    for name in ("file", "image"):
        monkeypatch.setattr(CloudDocument._meta.get_field(name), "storage", storage)
    monkeypatch.setattr(field, "max_size", None)
    monkeypatch.setattr(field, "file_restrictions", None)
    return Store(kind=kind, storage=storage, spec={"kind": kind, "options": options})


@dataclass
class StoredUpload:
    key: str
    size: int
    sha256: str


def put_upload(store: Store, user, source: IO[bytes], filename: str) -> StoredUpload:
    """A planned upload of ``user``'s whose object (the bytes of ``source``) is already in the temporary area,
    written with the storage's own client (multipart above its threshold), as the browser would have."""
    content_start = source.tell()
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(4 * 1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    source.seek(content_start)
    field = CloudDocument._meta.get_field("file")
    row = AsyncTempFile.create_for_field(field, filename, uploaded_by=user, declared_size=size)
    saved = store.storage.save(row.key, File(source))
    assert saved == row.key
    return StoredUpload(key=row.key, size=size, sha256=digest.hexdigest())
