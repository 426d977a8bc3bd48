"""Generation-pinned reads and rewrites on GCS (fake-gcs-server): what verification checked is what promotion
stores, even when the signed POST policy is sent again with other bytes before the copy."""

from __future__ import annotations

from google.cloud.storage import Blob
import pytest

from alliance_platform.storage.async_uploads.storage.base import ObjectChanged
from tests.cloud_document import plan
from tests.conftest import PDF_BYTES, png_bytes
from tests.gcs.conftest import bucket_names, object_bytes, post_upload
from tests.gcs.request_log import GcsRequestLog

pytestmark = pytest.mark.django_db

FINAL = "cloud/contract.pdf"
MIB = 1024 * 1024


def _posted(response) -> None:
    assert response.status_code in (200, 201, 204), response.text


@pytest.fixture
def planned(client, gcs_storage) -> dict:
    """A PDF uploaded with a signed POST policy plan (which stays valid, so it can be sent again)."""
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES))
    _posted(post_upload(upload_plan, PDF_BYTES))
    return upload_plan


@pytest.fixture
def rewritten(gcs_storage, planned):
    """The upload's key and its version as verification saw it, then the same POST policy sent again."""
    verified = gcs_storage.stat_object(planned["key"])
    _posted(post_upload(planned, png_bytes()))
    return planned["key"], verified


def test_stat_gives_size_and_generation(gcs_storage, gcs_client, gcs_bucket, planned):
    stored = gcs_storage.stat_object(planned["key"])
    assert stored.size == len(PDF_BYTES)
    assert stored.version == str(gcs_client.bucket(gcs_bucket).get_blob(planned["key"]).generation)
    assert gcs_storage.stat_object("async-temp-files/2000/01/01/missing.pdf") is None


def test_a_new_upload_to_the_same_key_is_a_new_version(gcs_storage, rewritten):
    key, verified = rewritten
    assert gcs_storage.stat_object(key).version != verified.version


def test_reads_of_a_rewritten_version_are_refused(gcs_storage, rewritten):
    key, verified = rewritten
    with pytest.raises(ObjectChanged):
        gcs_storage.read_head(key, 100, version=verified.version)
    with pytest.raises(ObjectChanged):
        gcs_storage.open_version(key, verified.version)
    current = gcs_storage.stat_object(key)
    assert gcs_storage.read_head(key, 4, version=current.version) == b"\x89PNG"
    with gcs_storage.open_version(key, current.version) as f:
        assert f.read() == png_bytes()


def test_a_read_rewritten_while_it_streams_ends_with_object_changed(gcs_storage, gcs_client, gcs_bucket, monkeypatch):
    """``open_version`` reads in ranged chunks, each naming the generation: bytes of two versions never mix."""
    from alliance_platform.storage.async_uploads.storage import gcs as gcs_module

    monkeypatch.setattr(gcs_module, "READ_CHUNK_SIZE", 1024)
    key = "async-temp-files/2026/01/01/0123456789abcdef0123-long.pdf"
    blob = gcs_client.bucket(gcs_bucket).blob(key)
    blob.upload_from_string(PDF_BYTES * 4)
    stored = gcs_storage.stat_object(key)
    reader = gcs_storage.open_version(key, stored.version)
    assert reader.read(1024) == (PDF_BYTES * 4)[:1024]
    blob.upload_from_string(b"other bytes" * 1000)
    with pytest.raises(ObjectChanged):
        reader.read()


def test_a_pinned_copy_of_a_rewritten_upload_stores_nothing(gcs_storage, gcs_client, gcs_bucket, rewritten):
    key, verified = rewritten
    with pytest.raises(ObjectChanged):
        gcs_storage.copy_file(key, FINAL, source_version=verified.version)
    assert FINAL not in bucket_names(gcs_client, gcs_bucket)
    gcs_storage.copy_file(key, FINAL, source_version=gcs_storage.stat_object(key).version)
    assert object_bytes(gcs_client, gcs_bucket, FINAL) == png_bytes()


def test_the_rewrite_names_the_verified_generation_in_every_round(gcs_storage, planned):
    """GCS rewrites large objects in several calls: each carries ``sourceGeneration``, so a rewrite that starts on
    the verified version cannot finish on another."""
    verified = gcs_storage.stat_object(planned["key"])
    original = Blob.rewrite

    def two_rounds(blob, source, token=None, **kwargs):
        if token is None:
            original(blob, source, token=None, **kwargs)  # the first round, as GCS would answer it: not done
            return "round-2", 0, verified.size
        return original(blob, source, token=None, **kwargs)

    log = GcsRequestLog(gcs_storage)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Blob, "rewrite", two_rounds)
        gcs_storage.copy_file(planned["key"], FINAL, overwrite=True, source_version=verified.version)
    rewrites = log.of("rewrite")
    assert len(rewrites) == 2
    assert all(request.query["sourceGeneration"] == [verified.version] for request in rewrites)


def test_a_refused_overwrite_keeps_the_existing_file(gcs_storage, gcs_client, gcs_bucket, rewritten):
    key, verified = rewritten
    gcs_client.bucket(gcs_bucket).blob(FINAL).upload_from_string(b"kept")
    with pytest.raises(ObjectChanged):
        gcs_storage.copy_file(key, FINAL, overwrite=True, source_version=verified.version)
    assert object_bytes(gcs_client, gcs_bucket, FINAL) == b"kept"


def test_an_empty_object_reads_as_empty(gcs_storage, gcs_client, gcs_bucket):
    key = "async-temp-files/2026/01/01/0123456789abcdef0123-empty.pdf"
    gcs_client.bucket(gcs_bucket).blob(key).upload_from_string(b"")
    stored = gcs_storage.stat_object(key)
    assert stored.size == 0
    assert gcs_storage.read_head(key, 100, version=stored.version) == b""
    with gcs_storage.open_version(key, stored.version) as f:
        assert f.read() == b""


def test_reads_and_copies_of_a_missing_object_say_so(gcs_storage):
    missing = "async-temp-files/2000/01/01/0123456789abcdef0123-gone.pdf"
    with pytest.raises(FileNotFoundError):
        gcs_storage.read_head(missing, 10, version="1234")
    with pytest.raises(FileNotFoundError):
        gcs_storage.read_head(missing, 10)
    with pytest.raises(FileNotFoundError):
        gcs_storage.open_version(missing, "1234")
    with pytest.raises(FileNotFoundError):
        gcs_storage.copy_file(missing, "cloud/gone.pdf")
    with pytest.raises(FileNotFoundError):
        gcs_storage.copy_file(missing, "cloud/gone.pdf", source_version="1234")
