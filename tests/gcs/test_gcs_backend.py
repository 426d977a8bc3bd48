"""GoogleCloudAsyncUploadStorage against fake-gcs-server: plan, upload, verify, promote, download, clean up.

The emulator checks no signature and no policy condition (tests/gcs/test_gcs_signing.py proves those with
google-cloud-storage's own signer and the key's public half); what it stores, lists, composes, rewrites and deletes
is what these tests check.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

from django.db import transaction
from django.test import Client
from google.api_core import exceptions as google_exceptions
from google.cloud.storage import Blob
import pytest
import requests

from alliance_platform.storage.async_uploads import cleanup
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from tests.cloud_document import plan, submit
from tests.conftest import PDF_BYTES, cleanup_after_upload_window, png_bytes
from tests.gcs.conftest import bucket_names, make_storage, object_bytes, post_upload, use_storage
from tests.gcs.request_log import GcsRequestLog
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)


def uploaded(client: Client, filename: str = "contract.pdf", content: bytes = PDF_BYTES, **extra) -> str:
    upload_plan = plan(client, filename, len(content), **extra)
    response = post_upload(upload_plan, content, filename)
    assert response.status_code in (200, 201, 204), response.text
    return upload_plan["key"]


def test_plan_is_a_signed_post_policy_pinned_to_the_key_type_and_size(client, gcs_storage, gcs_server, gcs_bucket):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    upload_url = upload_plan["uploadUrl"]
    assert (upload_url["method"], upload_url["provider"], upload_url["fileFieldName"]) == ("POST", "gcs", "file")
    assert upload_url["url"] == f"{gcs_server['api_endpoint']}/{gcs_bucket}"
    fields = upload_url["fields"]
    assert fields["key"] == upload_plan["key"]
    assert fields["Content-Type"] == "application/pdf"
    assert fields["x-goog-algorithm"] == "GOOG4-RSA-SHA256"
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 0, 1024 * 1024] in policy["conditions"]
    assert {"key": upload_plan["key"]} in policy["conditions"]
    assert {"bucket": gcs_bucket} in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]


def test_upload_submit_promote_and_download(client, gcs_storage, gcs_client, gcs_bucket):
    key = uploaded(client, contentType="application/pdf")
    assert bucket_names(gcs_client, gcs_bucket) == [key]
    assert gcs_client.bucket(gcs_bucket).get_blob(key).content_type == "application/pdf"
    form = submit(client, file={"key": key, "name": "contract.pdf"})
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get()
    assert doc.file.name == "cloud/contract.pdf"
    assert object_bytes(gcs_client, gcs_bucket, "cloud/contract.pdf") == PDF_BYTES
    assert bucket_names(gcs_client, gcs_bucket) == ["cloud/contract.pdf"], "the temporary object is gone"
    redirect = client.get(doc.file.url)
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect["Location"]).query)
    assert query["response-content-disposition"] == ['attachment; filename="contract.pdf"']
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    download = requests.get(redirect["Location"], timeout=30)
    assert download.status_code == 200
    assert download.content == PDF_BYTES


def test_image_dimensions_are_read_with_ranged_reads(client, gcs_storage):
    pdf_key = uploaded(client)
    image = png_bytes(53, 19)
    image_plan = plan(client, "photo.png", len(image), field="image")
    assert post_upload(image_plan, image, "photo.png").status_code in (200, 201, 204)
    log = GcsRequestLog(gcs_storage)
    form = submit(client, file={"key": pdf_key, "name": "a.pdf"}, image={"key": image_plan["key"], "name": "p.png"})
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get()
    assert (doc.width, doc.height) == (53, 19)
    downloads = log.of("download")
    assert 1 <= len(downloads) <= 4, "verification reads a few ranges, never whole objects repeatedly"
    assert all(request.ranged for request in downloads)


def test_an_object_larger_than_the_field_allows_is_refused_at_verification(client, gcs_storage, gcs_client, gcs_bucket):
    # GCS refuses this POST (content-length-range); the emulator does not, so verification is what stops it.
    upload_plan = plan(client, "big.pdf", 1000)
    assert post_upload(upload_plan, PDF_BYTES + b"0" * (1024 * 1024), "big.pdf").status_code in (200, 201, 204)
    form = submit(client, file={"key": upload_plan["key"], "name": "big.pdf"})
    assert form.errors.as_data()["file"][0].code == "too_large"
    assert CloudDocument.objects.count() == 0


def test_wrong_content_is_refused_at_verification_and_deleted(client, gcs_storage, gcs_client, gcs_bucket):
    key = uploaded(client, "contract.pdf", b"PK\x03\x04" + b"\x00" * 100)
    form = submit(client, file={"key": key, "name": "contract.pdf"})
    assert form.errors.as_data()["file"][0].code == "content_mismatch"
    assert bucket_names(gcs_client, gcs_bucket) == []


def test_promotion_moves_no_object_bytes_through_the_app(client, gcs_storage):
    key = uploaded(client)
    log = GcsRequestLog(gcs_storage)
    doc = CloudDocument.objects.create(file=key)
    assert doc.file.name == "cloud/contract.pdf"
    counts = log.counts()
    assert counts["rewrite"] == 1
    assert "download" not in counts and "upload" not in counts
    assert log.bytes_received_in_bodies("download") == 0


def test_a_rewrite_gcs_answers_in_several_calls_is_followed_to_the_end(client, gcs_storage, gcs_client, gcs_bucket):
    """GCS rewrites large objects (or across storage classes) in rounds, answering a token for the next one; the
    copy is done only when no token comes back. The emulator finishes at once, so its first answer carries a token
    here, as GCS's would."""
    key = uploaded(client)
    log = GcsRequestLog(gcs_storage)
    original = Blob.rewrite
    calls = []

    def rewrite_in_two_rounds(blob, source, token=None, **kwargs):
        calls.append(token)
        if token is None:
            return "next-round", 0, len(PDF_BYTES)
        return original(blob, source, token=None, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Blob, "rewrite", rewrite_in_two_rounds)
        doc = CloudDocument.objects.create(file=key)
    assert calls == [None, "next-round"]
    assert doc.file.name == "cloud/contract.pdf"
    assert object_bytes(gcs_client, gcs_bucket, "cloud/contract.pdf") == PDF_BYTES
    assert "download" not in log.counts()


def test_existing_objects_are_never_overwritten(client, gcs_storage, gcs_client, gcs_bucket):
    first = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"one"))
    second = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"two"))
    assert first.file.name == "cloud/contract.pdf"
    assert second.file.name != first.file.name
    assert object_bytes(gcs_client, gcs_bucket, first.file.name) == PDF_BYTES + b"one"
    assert object_bytes(gcs_client, gcs_bucket, second.file.name) == PDF_BYTES + b"two"


def test_copy_to_an_existing_name_is_refused(client, gcs_storage, gcs_client, gcs_bucket):
    key = uploaded(client)
    gcs_client.bucket(gcs_bucket).blob("cloud/taken.pdf").upload_from_string(b"theirs")
    with pytest.raises(FileExistsError):
        gcs_storage.copy_file(key, "cloud/taken.pdf")
    assert object_bytes(gcs_client, gcs_bucket, "cloud/taken.pdf") == b"theirs"


def test_the_copy_asks_gcs_for_no_existing_destination(client, gcs_storage):
    """``ifGenerationMatch=0`` is what makes "never overwrite" atomic on GCS (the emulator ignores it)."""
    key = uploaded(client)
    log = GcsRequestLog(gcs_storage)
    gcs_storage.copy_file(key, "cloud/new.pdf")
    (rewrite,) = log.of("rewrite")
    assert rewrite.query["ifGenerationMatch"] == ["0"]
    log = GcsRequestLog(gcs_storage)
    gcs_storage.copy_file(key, "cloud/new.pdf", overwrite=True)
    (rewrite,) = log.of("rewrite")
    assert "ifGenerationMatch" not in rewrite.query


def test_a_field_that_allows_overwrite_replaces_the_object(client, gcs_storage, gcs_client, gcs_bucket, monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "allow_overwrite", True)
    first = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"one"))
    second = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"two"))
    assert first.file.name == second.file.name == "cloud/contract.pdf"
    assert object_bytes(gcs_client, gcs_bucket, "cloud/contract.pdf") == PDF_BYTES + b"two"
    assert bucket_names(gcs_client, gcs_bucket) == ["cloud/contract.pdf"]


def test_rollback_keeps_the_previous_value(client, gcs_storage, gcs_client, gcs_bucket):
    doc = CloudDocument.objects.create(file=uploaded(client, "first.pdf", PDF_BYTES + b"1"))
    second = uploaded(client, "second.pdf", PDF_BYTES + b"2")
    with pytest.raises(RuntimeError), transaction.atomic():
        doc.file = second
        doc.save()
        raise RuntimeError
    doc.refresh_from_db()
    assert doc.file.name == "cloud/first.pdf"
    assert object_bytes(gcs_client, gcs_bucket, "cloud/first.pdf") == PDF_BYTES + b"1"
    assert second in bucket_names(gcs_client, gcs_bucket)


def test_storage_error_keeps_the_record_on_its_temporary_object(
    client, gcs_storage, gcs_client, gcs_bucket, monkeypatch
):
    key = uploaded(client)

    def failing_rewrite(*args, **kwargs):
        raise google_exceptions.InternalServerError("boom")

    monkeypatch.setattr(Blob, "rewrite", failing_rewrite)
    doc = CloudDocument.objects.create(file=key)
    doc.refresh_from_db()
    assert doc.file.name == key
    assert object_bytes(gcs_client, gcs_bucket, key) == PDF_BYTES
    assert "boom" in AsyncTempFile.objects.get(key=key).error


def test_resubmitted_create_form_is_refused(client, gcs_storage, gcs_client, gcs_bucket):
    key = uploaded(client)
    assert submit(client, file={"key": key, "name": "contract.pdf"}).is_valid()
    again = submit(client, file={"key": key, "name": "contract.pdf"})
    assert again.errors.as_data()["file"][0].code == "already_used"
    assert CloudDocument.objects.count() == 1
    assert bucket_names(gcs_client, gcs_bucket) == ["cloud/contract.pdf"]


def test_location_prefix_is_honoured_everywhere(client, gcs_server, gcs_bucket, gcs_client, monkeypatch):
    storage = make_storage(gcs_server, gcs_bucket, location="tenant-a")
    use_storage(monkeypatch, storage)
    promoted = CloudDocument.objects.create(file=uploaded(client))
    abandoned = uploaded(client, "abandoned.pdf")
    assert bucket_names(gcs_client, gcs_bucket) == sorted(["tenant-a/cloud/contract.pdf", f"tenant-a/{abandoned}"])
    assert promoted.file.name == "cloud/contract.pdf"
    download = requests.get(client.get(promoted.file.url)["Location"], timeout=30)
    assert download.content == PDF_BYTES
    AsyncTempFile.objects.update(created_at="2000-01-01T00:00:00Z")
    cleanup.cleanup_expired(1)
    assert bucket_names(gcs_client, gcs_bucket) == ["tenant-a/cloud/contract.pdf"]


def test_cleanup_deletes_in_batches(client, gcs_storage, gcs_client, gcs_bucket, monkeypatch):
    keys = [uploaded(client, f"file-{i}.pdf") for i in range(7)]
    AsyncTempFile.objects.update(created_at="2000-01-01T00:00:00Z")
    monkeypatch.setattr(gcs_storage, "delete_batch_size", 3)
    log = GcsRequestLog(gcs_storage)
    report = cleanup.cleanup_expired(1)
    assert report.deleted_rows == 7
    assert log.counts()["batch"] == 3
    assert "delete" not in log.counts()
    assert bucket_names(gcs_client, gcs_bucket) == []
    assert not AsyncTempFile.objects.filter(key__in=keys).exists()


def test_a_batch_reports_the_objects_it_could_not_delete(gcs_storage, gcs_client, gcs_bucket, monkeypatch):
    bucket = gcs_client.bucket(gcs_bucket)
    for name in ("a.txt", "b.txt"):
        bucket.blob(name).upload_from_string(b"x")
    assert gcs_storage.delete_many(["a.txt", "missing.txt"]) == {}, "a missing object is no failure"
    refused = requests.Response()
    refused.status_code = 503
    monkeypatch.setattr(gcs_storage.client._http, "post", lambda *args, **kwargs: refused)
    failures = gcs_storage.delete_many(["b.txt"])
    assert list(failures) == ["b.txt"]
    assert "503" in str(failures["b.txt"])
    assert bucket_names(gcs_client, gcs_bucket) == ["b.txt"]


def test_cleanup_sweeps_orphans_and_abandoned_parts_under_the_location_only(
    gcs_server, gcs_bucket, gcs_client, monkeypatch
):
    storage = make_storage(gcs_server, gcs_bucket, location="tenant-a")
    use_storage(monkeypatch, storage)
    bucket = gcs_client.bucket(gcs_bucket)
    orphan = "tenant-a/async-temp-files/2000/01/01/0123456789abcdef0123-orphan.pdf"
    kept = ["tenant-a/cloud/final.pdf", "tenant-b/async-temp-files/2000/01/01/0123456789abcdef0123-theirs.pdf"]
    # Parts of an upload whose temp row is gone: objects of their own, found by the listing of incomplete uploads.
    parts = [
        f"tenant-a/async-temp-files/.parts/2000/01/01/0123456789abcdef0123-big.pdf/00aa11bb22cc33dd/{n:05d}"
        for n in (1, 2)
    ]
    # Something else under the parts directory, not shaped like an upload's part: neither listed nor deleted.
    stray = "tenant-a/async-temp-files/.parts/notes.txt"
    kept.append(stray)
    for name in [orphan, *kept, *parts]:
        bucket.blob(name).upload_from_string(PDF_BYTES)
    assert list(storage.list_incomplete_uploads(cleanup.timezone.now())) == [
        ("async-temp-files/2000/01/01/0123456789abcdef0123-big.pdf", "00aa11bb22cc33dd")
    ]

    report = cleanup_after_upload_window(0)

    assert (report.orphans_deleted, report.uploads_aborted) == (1, 1)
    assert bucket_names(gcs_client, gcs_bucket) == sorted(kept)


def test_object_parameters_apply_to_the_copy_which_keeps_the_uploads_type(
    client, gcs_server, gcs_bucket, gcs_client, monkeypatch
):
    """A rewrite that names metadata of its own takes all of it from the request (on GCS; the emulator merges):
    the storage sends the upload's type along with the object parameters."""
    storage = make_storage(gcs_server, gcs_bucket, object_parameters={"cache_control": "private, max-age=60"})
    use_storage(monkeypatch, storage)
    key = uploaded(client, contentType="application/pdf")
    assert gcs_client.bucket(gcs_bucket).get_blob(key).cache_control == "private, max-age=60", "set by the policy"
    log = GcsRequestLog(storage)
    doc = CloudDocument.objects.create(file=key)
    (rewrite,) = log.of("rewrite")
    assert rewrite.body["contentType"] == "application/pdf"
    assert rewrite.body["cacheControl"] == "private, max-age=60"
    promoted = gcs_client.bucket(gcs_bucket).get_blob(doc.file.name)
    assert (promoted.content_type, promoted.cache_control) == ("application/pdf", "private, max-age=60")
