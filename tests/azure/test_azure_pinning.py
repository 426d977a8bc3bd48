"""Pinned reads and copies on Azure (Azurite): a blob rewritten after verification is neither read nor copied."""

from __future__ import annotations

import pytest

from alliance_platform.storage.async_uploads.storage.base import ObjectChanged
from tests.azure.conftest import blob_bytes, container_blobs
from tests.conftest import PDF_BYTES, png_bytes

pytestmark = pytest.mark.django_db

KEY = "async-temp-files/2026/01/01/0123456789abcdef0123-contract.pdf"
FINAL = "cloud/contract.pdf"


@pytest.fixture
def rewritten(azure_storage, blob_service, container):
    """A blob, its version as verification saw it, then the blob written again (a block upload's write SAS
    allows that until it expires)."""
    blob = blob_service.get_blob_client(container, KEY)
    blob.upload_blob(PDF_BYTES)
    verified = azure_storage.stat_object(KEY)
    blob.upload_blob(png_bytes(), overwrite=True)
    return verified


def test_stat_gives_size_and_etag(azure_storage, rewritten):
    stored = azure_storage.stat_object(KEY)
    assert stored.size == len(png_bytes()) and stored.version and stored.version != rewritten.version
    assert azure_storage.stat_object("async-temp-files/2000/01/01/missing.pdf") is None


def test_reads_of_a_rewritten_version_are_refused(azure_storage, rewritten):
    with pytest.raises(ObjectChanged):
        azure_storage.read_head(KEY, 100, version=rewritten.version)
    with pytest.raises(ObjectChanged):
        azure_storage.open_version(KEY, rewritten.version)
    current = azure_storage.stat_object(KEY).version
    assert azure_storage.read_head(KEY, 4, version=current) == b"\x89PNG"
    with azure_storage.open_version(KEY, current) as f:
        assert f.read() == png_bytes()


def test_a_blob_rewritten_while_it_is_read_stops_the_read(azure_storage, blob_service, container, monkeypatch):
    """A virus scan streams the blob: the chunks after the first name the version too, so a rewrite in between
    ends the read instead of handing over the rest of another file."""
    config = azure_storage.client._config  # shared by the blob clients the storage makes
    monkeypatch.setattr(config, "max_single_get_size", 1024)
    monkeypatch.setattr(config, "max_chunk_get_size", 1024)
    blob = blob_service.get_blob_client(container, KEY)
    blob.upload_blob(PDF_BYTES)
    reader = azure_storage.open_version(KEY, azure_storage.stat_object(KEY).version)
    assert reader.read(100) == PDF_BYTES[:100]
    blob.upload_blob(png_bytes() * 20, overwrite=True)
    with pytest.raises(ObjectChanged):
        reader.read()


def test_a_pinned_copy_of_a_rewritten_blob_stores_nothing(azure_storage, blob_service, container, rewritten):
    with pytest.raises(ObjectChanged):
        azure_storage.copy_file(KEY, FINAL, source_version=rewritten.version)
    assert FINAL not in container_blobs(blob_service, container)
    azure_storage.copy_file(KEY, FINAL, source_version=azure_storage.stat_object(KEY).version)
    assert blob_bytes(blob_service, container, FINAL) == png_bytes()
    with pytest.raises(FileExistsError):
        azure_storage.copy_file(KEY, FINAL, source_version=azure_storage.stat_object(KEY).version)


def test_a_refused_overwrite_keeps_the_existing_file(azure_storage, blob_service, container, rewritten):
    blob_service.get_blob_client(container, FINAL).upload_blob(b"kept")
    with pytest.raises(ObjectChanged):
        azure_storage.copy_file(KEY, FINAL, overwrite=True, source_version=rewritten.version)
    assert blob_bytes(blob_service, container, FINAL) == b"kept"


def test_an_empty_blob_reads_as_empty(azure_storage, blob_service, container):
    blob_service.get_blob_client(container, KEY).upload_blob(b"")
    stored = azure_storage.stat_object(KEY)
    assert stored.size == 0
    assert azure_storage.read_head(KEY, 100, version=stored.version) == b""
    with azure_storage.open_version(KEY, stored.version) as f:
        assert f.read() == b""


def test_reads_and_copies_of_a_missing_blob_say_so(azure_storage):
    missing = "async-temp-files/2000/01/01/0123456789abcdef0123-gone.pdf"
    with pytest.raises(FileNotFoundError):
        azure_storage.read_head(missing, 10, version='"0x1"')
    with pytest.raises(FileNotFoundError):
        azure_storage.read_head(missing, 10)
    with pytest.raises(FileNotFoundError):
        azure_storage.open_version(missing, '"0x1"')
    with pytest.raises(FileNotFoundError):
        azure_storage.copy_file(missing, "cloud/gone.pdf")
    with pytest.raises(FileNotFoundError):
        azure_storage.copy_file(missing, "cloud/gone.pdf", source_version='"0x1"')
