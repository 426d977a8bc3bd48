"""Pinned reads and copies on S3 (SeaweedFS): what verification checked is what promotion stores, even when the
presigned POST is sent again with other bytes before the copy."""

from __future__ import annotations

import pytest

from alliance_platform.storage.async_uploads.storage.base import ObjectChanged
from tests.cloud_document import plan
from tests.conftest import PDF_BYTES, png_bytes
from tests.s3.conftest import bucket_keys, make_storage, object_bytes, post_upload, use_storage

pytestmark = pytest.mark.django_db

FINAL = "cloud/contract.pdf"


def _posted(response) -> None:
    assert response.status_code in (200, 201, 204), response.text


@pytest.fixture
def planned(client, s3_storage) -> dict:
    """A PDF uploaded with a presigned POST plan (which stays valid, so it can be sent again)."""
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES))
    _posted(post_upload(upload_plan, PDF_BYTES))
    return upload_plan


@pytest.fixture
def rewritten(s3_storage, planned):
    """The upload's key and its version as verification saw it, then the same presigned POST sent again."""
    verified = s3_storage.stat_object(planned["key"])
    _posted(post_upload(planned, png_bytes()))
    return planned["key"], verified


def rewrite_before(storage, operation: str, planned: dict) -> None:
    """Send the plan's POST again (other bytes each time) just before the storage's client makes ``operation``:
    the race between s3transfer's HeadObject and the copy itself."""
    colours = iter(["red", "blue", "green", "white"])

    def rewrite(**kwargs) -> None:
        _posted(post_upload(planned, png_bytes(colour=next(colours))))

    storage.client.meta.events.register_first(f"before-call.s3.{operation}", rewrite, unique_id=f"rewrite-{operation}")


def test_stat_gives_size_and_etag(s3_storage, planned):
    stored = s3_storage.stat_object(planned["key"])
    assert stored.size == len(PDF_BYTES) and stored.version.startswith('"')
    assert s3_storage.stat_object("async-temp-files/2000/01/01/missing.pdf") is None


def test_reads_of_a_rewritten_version_are_refused(s3_storage, rewritten):
    key, verified = rewritten
    with pytest.raises(ObjectChanged):
        s3_storage.read_head(key, 100, version=verified.version)
    with pytest.raises(ObjectChanged):
        s3_storage.open_version(key, verified.version)
    current = s3_storage.stat_object(key)
    assert s3_storage.read_head(key, 4, version=current.version) == b"\x89PNG"
    with s3_storage.open_version(key, current.version) as f:
        assert f.read() == png_bytes()


def test_a_pinned_copy_of_a_rewritten_upload_stores_nothing(s3_storage, bucket, s3_client, rewritten):
    key, verified = rewritten
    with pytest.raises(ObjectChanged):
        s3_storage.copy_file(key, FINAL, source_version=verified.version)
    assert FINAL not in bucket_keys(s3_client, bucket)
    s3_storage.copy_file(key, FINAL, source_version=s3_storage.stat_object(key).version)
    assert object_bytes(s3_client, bucket, FINAL) == png_bytes()


def test_a_pinned_copy_refuses_a_rewrite_after_its_head_request(s3_storage, bucket, s3_client, planned):
    """s3transfer reads the size with a HeadObject first: the CopyObject itself must carry the condition."""
    verified = s3_storage.stat_object(planned["key"])
    rewrite_before(s3_storage, "CopyObject", planned)
    with pytest.raises(ObjectChanged):
        s3_storage.copy_file(planned["key"], FINAL, source_version=verified.version)
    assert FINAL not in bucket_keys(s3_client, bucket)


def test_a_multipart_copy_refuses_a_rewrite_before_its_parts(s3_server, bucket, s3_client, client, monkeypatch):
    """Objects above ``copy_multipart_threshold`` are copied part by part: every UploadPartCopy names the version,
    and the parts of a refused copy are discarded."""
    storage = make_storage(s3_server, bucket, copy_multipart_threshold=1)
    use_storage(monkeypatch, storage)
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES))
    _posted(post_upload(upload_plan, PDF_BYTES))
    verified = storage.stat_object(upload_plan["key"])
    calls: list[str] = []
    storage.client.meta.events.register("before-call.s3", lambda model, **kwargs: calls.append(model.name))
    rewrite_before(storage, "UploadPartCopy", upload_plan)
    with pytest.raises(ObjectChanged):
        storage.copy_file(upload_plan["key"], FINAL, source_version=verified.version)
    assert "UploadPartCopy" in calls and "CopyObject" not in calls, "the multipart path was taken"
    assert FINAL not in bucket_keys(s3_client, bucket)
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    storage.client.meta.events.unregister("before-call.s3.UploadPartCopy", unique_id="rewrite-UploadPartCopy")
    storage.copy_file(upload_plan["key"], FINAL, source_version=storage.stat_object(upload_plan["key"]).version)
    assert object_bytes(s3_client, bucket, FINAL) == png_bytes()


def test_a_server_that_ignores_the_copy_condition_still_stores_nothing(s3_storage, bucket, s3_client, planned):
    """SeaweedFS and S3 enforce ``CopySourceIfMatch``; without it (dropped here, as a server that ignores it
    would), a rewrite between s3transfer's HeadObject and the CopyObject is copied, and the copy's ETag gives it
    away: the copy is deleted, at a free name and at a fixed one."""

    def drop_condition(params, **kwargs) -> None:
        params.pop("CopySourceIfMatch", None)

    s3_storage.client.meta.events.register("before-parameter-build.s3.CopyObject", drop_condition)
    rewrite_before(s3_storage, "CopyObject", planned)
    with pytest.raises(ObjectChanged):
        s3_storage.copy_file(planned["key"], FINAL, source_version=s3_storage.stat_object(planned["key"]).version)
    assert FINAL not in bucket_keys(s3_client, bucket)
    with pytest.raises(ObjectChanged):
        s3_storage.copy_file(
            planned["key"], FINAL, overwrite=True, source_version=s3_storage.stat_object(planned["key"]).version
        )
    assert FINAL not in bucket_keys(s3_client, bucket), "not even at a fixed name"


def test_a_fixed_name_replaced_by_a_newer_copy_is_left_alone(s3_storage, bucket, s3_client, planned):
    """At a fixed name (``allow_overwrite``) another promotion may write after this copy: its file stays."""
    verified = s3_storage.stat_object(planned["key"])

    def newer_promotion(**kwargs) -> None:
        s3_client.put_object(Bucket=bucket, Key=FINAL, Body=b"newer")

    s3_storage.client.meta.events.register("after-call.s3.CopyObject", newer_promotion)
    s3_storage.copy_file(planned["key"], FINAL, overwrite=True, source_version=verified.version)
    assert object_bytes(s3_client, bucket, FINAL) == b"newer"


def test_a_refused_overwrite_keeps_the_existing_file(s3_storage, bucket, s3_client, rewritten):
    key, verified = rewritten
    s3_client.put_object(Bucket=bucket, Key=FINAL, Body=b"kept")
    with pytest.raises(ObjectChanged):
        s3_storage.copy_file(key, FINAL, overwrite=True, source_version=verified.version)
    assert object_bytes(s3_client, bucket, FINAL) == b"kept"


def test_an_empty_object_reads_as_empty(s3_storage, bucket, s3_client):
    key = "async-temp-files/2026/01/01/0123456789abcdef0123-empty.pdf"
    s3_client.put_object(Bucket=bucket, Key=key, Body=b"")
    stored = s3_storage.stat_object(key)
    assert stored.size == 0
    assert s3_storage.read_head(key, 100, version=stored.version) == b""
    with s3_storage.open_version(key, stored.version) as f:
        assert f.read() == b""


def test_reads_and_copies_of_a_missing_object_say_so(s3_storage):
    missing = "async-temp-files/2000/01/01/0123456789abcdef0123-gone.pdf"
    with pytest.raises(FileNotFoundError):
        s3_storage.read_head(missing, 10, version='"abc"')
    with pytest.raises(FileNotFoundError):
        s3_storage.read_head(missing, 10)
    with pytest.raises(FileNotFoundError):
        s3_storage.open_version(missing, '"abc"')
    with pytest.raises(FileNotFoundError):
        s3_storage.copy_file(missing, "cloud/gone.pdf")
    with pytest.raises(FileNotFoundError):
        s3_storage.copy_file(missing, "cloud/gone.pdf", source_version='"abc"')
