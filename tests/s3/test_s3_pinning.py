"""Pinned reads and copies on S3 (SeaweedFS): what verification checked is what promotion stores, even when the
presigned POST is sent again with other bytes before the copy."""

from __future__ import annotations

import pytest

from alliance_platform.storage.async_uploads.storage.base import ObjectChanged
from tests.cloud_document import plan
from tests.conftest import PDF_BYTES, png_bytes
from tests.s3.conftest import bucket_keys, post_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def rewritten(client, s3_storage):
    """An upload, its version as verification saw it, then the same presigned POST sent again with a PNG."""
    planned = plan(client, "contract.pdf", len(PDF_BYTES))
    assert post_upload(planned, PDF_BYTES).status_code in (200, 201, 204)
    verified = s3_storage.stat_object(planned["key"])
    assert post_upload(planned, png_bytes()).status_code in (200, 201, 204)
    return planned["key"], verified


def test_stat_gives_size_and_etag(client, s3_storage):
    planned = plan(client, "contract.pdf", len(PDF_BYTES))
    post_upload(planned, PDF_BYTES)
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
        s3_storage.copy_file(key, "cloud/contract.pdf", source_version=verified.version)
    assert "cloud/contract.pdf" not in bucket_keys(s3_client, bucket)
    s3_storage.copy_file(key, "cloud/contract.pdf", source_version=s3_storage.stat_object(key).version)
    assert "cloud/contract.pdf" in bucket_keys(s3_client, bucket)


def test_reads_and_copies_of_a_missing_object_say_so(s3_storage):
    missing = "async-temp-files/2000/01/01/0123456789abcdef0123-gone.pdf"
    with pytest.raises(FileNotFoundError):
        s3_storage.read_head(missing, 10, version='"abc"')
    with pytest.raises(FileNotFoundError):
        s3_storage.copy_file(missing, "cloud/gone.pdf")
