"""S3AsyncUploadStorage against a real S3 server that enforces signatures and POST policies."""

from __future__ import annotations

import base64
import json

from botocore.exceptions import ClientError
from django.db import transaction
from django.test import Client
import pytest
import requests

from alliance_platform.storage.async_uploads import cleanup
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from tests.cloud_document import plan, submit
from tests.conftest import PDF_BYTES, cleanup_after_upload_window, png_bytes
from tests.s3.conftest import OperationLog, bucket_keys, make_storage, object_bytes, post_upload, use_storage
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)


def uploaded(client: Client, filename: str = "contract.pdf", content: bytes = PDF_BYTES, **extra) -> str:
    upload_plan = plan(client, filename, len(content), **extra)
    response = post_upload(upload_plan, content, filename)
    assert response.status_code in (200, 201, 204), response.text
    return upload_plan["key"]


def test_plan_is_a_presigned_post_pinned_to_the_key(client, s3_storage):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    upload_url = upload_plan["uploadUrl"]
    assert (upload_url["method"], upload_url["provider"], upload_url["fileFieldName"]) == ("POST", "s3", "file")
    assert upload_url["fields"]["key"] == upload_plan["key"]
    assert upload_url["fields"]["Content-Type"] == "application/pdf"
    policy = json.loads(base64.b64decode(upload_url["fields"]["policy"]))
    assert ["content-length-range", 0, 1024 * 1024] in policy["conditions"]
    assert {"key": upload_plan["key"]} in policy["conditions"]


def test_upload_submit_promote_and_download(client, s3_storage, s3_client, bucket):
    key = uploaded(client, contentType="application/pdf")
    assert bucket_keys(s3_client, bucket) == [key]
    form = submit(client, file={"key": key, "name": "contract.pdf"})
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get()
    assert doc.file.name == "cloud/contract.pdf"
    assert object_bytes(s3_client, bucket, "cloud/contract.pdf") == PDF_BYTES
    assert bucket_keys(s3_client, bucket) == ["cloud/contract.pdf"], "the temporary object is gone"
    redirect = client.get(doc.file.url)
    assert redirect.status_code == 302
    download = requests.get(redirect["Location"], timeout=30)
    assert download.status_code == 200
    assert download.content == PDF_BYTES
    assert download.headers["Content-Disposition"] == 'attachment; filename="contract.pdf"'


def test_image_dimensions_are_read_with_a_ranged_get(client, s3_storage, s3_client, bucket):
    pdf_key = uploaded(client)
    image = png_bytes(53, 19)
    image_plan = plan(client, "photo.png", len(image), field="image")
    assert post_upload(image_plan, image, "photo.png").status_code in (200, 201, 204)
    log = OperationLog(s3_storage)
    form = submit(client, file={"key": pdf_key, "name": "a.pdf"}, image={"key": image_plan["key"], "name": "p.png"})
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get()
    assert (doc.width, doc.height) == (53, 19)
    assert log.counts()["GetObject"] <= 4, "verification reads a few ranges, never whole objects repeatedly"


def test_oversize_post_is_refused_by_the_s3_policy(client, s3_storage, s3_client, bucket):
    upload_plan = plan(client, "big.pdf", 1000)
    response = post_upload(upload_plan, PDF_BYTES + b"0" * (1024 * 1024), "big.pdf")
    assert response.status_code == 400
    assert "EntityTooLarge" in response.text
    assert bucket_keys(s3_client, bucket) == []


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda fields: {"key": fields["key"].replace("contract", "evil")}, id="changed key"),
        pytest.param(lambda fields: {"key": "cloud/contract.pdf"}, id="final key"),
        pytest.param(
            lambda fields: {
                "policy": base64.b64encode(base64.b64decode(fields["policy"]).replace(b"1048576", b"99999999")).decode()
            },
            id="tampered policy",
        ),
        pytest.param(lambda fields: {"x-amz-signature": "0" * 64}, id="forged signature"),
        pytest.param(lambda fields: {"Content-Type": "text/html"}, id="other content type"),
    ],
)
def test_tampered_posts_are_refused(client, s3_storage, s3_client, bucket, tamper):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    response = post_upload(upload_plan, PDF_BYTES, "contract.pdf", **tamper(upload_plan["uploadUrl"]["fields"]))
    assert response.status_code == 403, response.text
    assert bucket_keys(s3_client, bucket) == []


def test_expired_post_is_refused(client, s3_storage, s3_client, bucket, settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"UPLOAD_URL_EXPIRY": -60}}
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES))
    response = post_upload(upload_plan, PDF_BYTES, "contract.pdf")
    assert response.status_code == 403, response.text
    assert bucket_keys(s3_client, bucket) == []


def test_wrong_content_is_refused_at_verification_and_deleted(client, s3_storage, s3_client, bucket):
    key = uploaded(client, "contract.pdf", b"PK\x03\x04" + b"\x00" * 100)
    form = submit(client, file={"key": key, "name": "contract.pdf"})
    assert form.errors.as_data()["file"][0].code == "content_mismatch"
    assert bucket_keys(s3_client, bucket) == []


def test_promotion_moves_no_object_bytes_through_the_app(client, s3_storage, s3_client, bucket):
    key = uploaded(client)
    log = OperationLog(s3_storage)
    doc = CloudDocument.objects.create(file=key)
    assert doc.file.name == "cloud/contract.pdf"
    operations = log.counts()
    assert operations["CopyObject"] == 1
    assert "GetObject" not in operations and "PutObject" not in operations


def test_large_objects_are_promoted_with_a_multipart_copy(client, s3_server, bucket, s3_client, monkeypatch):
    storage = make_storage(
        s3_server, bucket, copy_multipart_threshold=5 * 1024 * 1024, copy_multipart_chunksize=5 * 1024 * 1024
    )
    use_storage(monkeypatch, storage)
    content = PDF_BYTES + bytes(range(256)) * (44 * 1024)  # just over 11 MiB: three parts
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 20)
    key = uploaded(client, "big.pdf", content)
    log = OperationLog(storage)
    doc = CloudDocument.objects.create(file=key)
    assert doc.file.name == "cloud/big.pdf"
    operations = log.counts()
    assert operations["UploadPartCopy"] == 3
    assert operations["CompleteMultipartUpload"] == 1
    assert "GetObject" not in operations and "UploadPart" not in operations
    assert object_bytes(s3_client, bucket, "cloud/big.pdf") == content


def test_existing_objects_are_never_overwritten(client, s3_storage, s3_client, bucket):
    first = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"one"))
    second = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"two"))
    assert first.file.name == "cloud/contract.pdf"
    assert second.file.name != first.file.name
    assert object_bytes(s3_client, bucket, first.file.name) == PDF_BYTES + b"one"
    assert object_bytes(s3_client, bucket, second.file.name) == PDF_BYTES + b"two"


def test_a_field_that_allows_overwrite_replaces_the_object(client, s3_storage, s3_client, bucket, monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "allow_overwrite", True)
    first = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"one"))
    second = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"two"))
    assert first.file.name == second.file.name == "cloud/contract.pdf"
    assert object_bytes(s3_client, bucket, "cloud/contract.pdf") == PDF_BYTES + b"two"
    assert bucket_keys(s3_client, bucket) == ["cloud/contract.pdf"]


def test_rollback_keeps_the_previous_value(client, s3_storage, s3_client, bucket):
    doc = CloudDocument.objects.create(file=uploaded(client, "first.pdf", PDF_BYTES + b"1"))
    second = uploaded(client, "second.pdf", PDF_BYTES + b"2")
    with pytest.raises(RuntimeError), transaction.atomic():
        doc.file = second
        doc.save()
        raise RuntimeError
    doc.refresh_from_db()
    assert doc.file.name == "cloud/first.pdf"
    assert object_bytes(s3_client, bucket, "cloud/first.pdf") == PDF_BYTES + b"1"
    assert second in bucket_keys(s3_client, bucket)


def test_storage_error_keeps_the_record_on_its_temporary_object(client, s3_storage, s3_client, bucket, monkeypatch):
    key = uploaded(client)

    def failing_copy(*args, **kwargs):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "CopyObject")

    monkeypatch.setattr(s3_storage.client, "copy", failing_copy)
    doc = CloudDocument.objects.create(file=key)
    doc.refresh_from_db()
    assert doc.file.name == key
    assert object_bytes(s3_client, bucket, key) == PDF_BYTES
    assert "InternalError" in AsyncTempFile.objects.get(key=key).error


def test_resubmitted_create_form_is_refused(client, s3_storage, s3_client, bucket):
    key = uploaded(client)
    assert submit(client, file={"key": key, "name": "contract.pdf"}).is_valid()
    again = submit(client, file={"key": key, "name": "contract.pdf"})
    assert again.errors.as_data()["file"][0].code == "already_used"
    assert CloudDocument.objects.count() == 1
    assert bucket_keys(s3_client, bucket) == ["cloud/contract.pdf"]


def test_location_prefix_is_honoured_everywhere(client, s3_server, bucket, s3_client, monkeypatch):
    storage = make_storage(s3_server, bucket, location="tenant-a")
    use_storage(monkeypatch, storage)
    promoted = CloudDocument.objects.create(file=uploaded(client))
    abandoned = uploaded(client, "abandoned.pdf")
    assert bucket_keys(s3_client, bucket) == sorted(["tenant-a/cloud/contract.pdf", f"tenant-a/{abandoned}"])
    assert promoted.file.name == "cloud/contract.pdf"
    download = requests.get(client.get(promoted.file.url)["Location"], timeout=30)
    assert download.content == PDF_BYTES
    AsyncTempFile.objects.update(created_at="2000-01-01T00:00:00Z")
    cleanup.cleanup_expired(1)
    assert bucket_keys(s3_client, bucket) == ["tenant-a/cloud/contract.pdf"]


def test_cleanup_deletes_in_batches(client, s3_storage, s3_client, bucket, monkeypatch):
    keys = [uploaded(client, f"file-{i}.pdf") for i in range(7)]
    AsyncTempFile.objects.update(created_at="2000-01-01T00:00:00Z")
    monkeypatch.setattr(s3_storage, "delete_batch_size", 3)
    log = OperationLog(s3_storage)
    report = cleanup.cleanup_expired(1)
    assert report.deleted_rows == 7
    assert log.counts()["DeleteObjects"] == 3
    assert "DeleteObject" not in log.counts()
    assert bucket_keys(s3_client, bucket) == []
    assert not AsyncTempFile.objects.filter(key__in=keys).exists()


def test_cleanup_sweeps_orphans_under_the_location_only(s3_server, bucket, s3_client, monkeypatch):
    storage = make_storage(s3_server, bucket, location="tenant-a")
    use_storage(monkeypatch, storage)
    orphan = "tenant-a/async-temp-files/2000/01/01/0123456789abcdef0123-orphan.pdf"
    kept = ["tenant-a/cloud/final.pdf", "tenant-b/async-temp-files/2000/01/01/0123456789abcdef0123-theirs.pdf"]
    for key in [orphan, *kept]:
        s3_client.put_object(Bucket=bucket, Key=key, Body=PDF_BYTES)
    # A multipart upload whose temp row is gone: its parts cost storage and are invisible as objects.
    abandoned = s3_client.create_multipart_upload(
        Bucket=bucket, Key="tenant-a/async-temp-files/2000/01/01/0123456789abcdef0123-big.pdf"
    )["UploadId"]
    log = OperationLog(storage)

    report = cleanup_after_upload_window(0)

    assert (report.orphans_deleted, report.uploads_aborted) == (1, 1)
    assert bucket_keys(s3_client, bucket) == sorted(kept)
    uploads = s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert abandoned not in [upload["UploadId"] for upload in uploads]
    counts = log.counts()
    assert (counts["ListObjectsV2"], counts["DeleteObjects"], counts["AbortMultipartUpload"]) == (1, 1, 1)
