"""The discard endpoint: the owner of a pending upload removes it (object, multipart upload and row) at once, so
it stops counting against the pending-upload cap; nobody else can, and nothing a record holds can go."""

from __future__ import annotations

import base64
import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
import pytest
import requests

from alliance_platform.storage.async_uploads.claims import release, try_claim
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.settings import DEFAULTS
from gallery.models import Document
from tests.conftest import PDF_BYTES, default_registry_url, field_id, media_files, read
from tests.gcs.conftest import (  # noqa: F401 - fixtures
    bucket_names as gcs_bucket_names,
    gcs_bucket,
    gcs_client,
    gcs_server,
    gcs_storage,
    post_upload as post_gcs_upload,
)
from tests.s3.conftest import bucket, bucket_keys, post_upload, s3_client, s3_server, s3_storage  # noqa: F401
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def discard_url(model=Document, field: str = "file") -> str:
    return model._meta.get_field(field).async_field_registry.reverse("discard_upload")


def discard(client: Client, key: str, model=Document, field: str = "file", **extra):
    return client.post(discard_url(model, field), {"key": key, "fieldId": field_id(model, field)}, **extra)


def plan(
    client: Client,
    filename: str = "report.pdf",
    model=Document,
    field: str = "file",
    client_kwargs: dict | None = None,
    **params,
) -> dict:
    response = client.post(
        default_registry_url(model, field),
        {"fieldId": field_id(model, field), "filename": filename, **params},
        **(client_kwargs or {}),
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_url_is_registered_next_to_the_plan_url(registry):
    assert registry.reverse("discard_upload") == "/async-uploads/discard-upload/"


def test_the_owner_discards_an_uploaded_file(logged_in, upload):
    made = upload(logged_in, Document, "file", "unwanted.pdf", PDF_BYTES)
    assert made.put_status == 201 and read(made.key) == PDF_BYTES

    response = discard(logged_in, made.key)

    assert response.status_code == 204
    assert response.content == b""
    assert not AsyncTempFile.objects.filter(key=made.key).exists()
    assert not default_storage.exists(made.key)
    assert media_files() == {}


def test_a_planned_upload_that_never_arrived_can_be_discarded(logged_in):
    key = plan(logged_in)["key"]

    assert discard(logged_in, key).status_code == 204
    assert not AsyncTempFile.objects.filter(key=key).exists()


def test_the_upload_url_is_refused_after_a_discard(logged_in):
    upload_plan = plan(logged_in)
    assert discard(logged_in, upload_plan["key"]).status_code == 204

    put = logged_in.put(upload_plan["uploadUrl"]["url"], PDF_BYTES, content_type="application/octet-stream")

    assert put.status_code == 409
    assert not default_storage.exists(upload_plan["key"])


def test_discarding_frees_a_place_under_the_pending_cap(logged_in):
    cap = DEFAULTS["MAX_PENDING_UPLOADS"]
    keys = [plan(logged_in, f"{n}.pdf")["key"] for n in range(cap)]
    full = logged_in.post(
        default_registry_url(Document, "file"), {"fieldId": field_id(Document, "file"), "filename": "x.pdf"}
    )
    assert full.status_code == 429

    assert discard(logged_in, keys[0]).status_code == 204

    assert plan(logged_in, "again.pdf")["key"]
    assert AsyncTempFile.objects.count() == cap


def test_an_anonymous_browser_discards_its_own_upload_and_no_other_browsers(client):
    key = plan(client, "mine.pdf", model=CloudDocument)["key"]
    stranger = Client()

    assert discard(stranger, key, model=CloudDocument).status_code == 404
    assert AsyncTempFile.objects.filter(key=key).exists()
    assert discard(client, key, model=CloudDocument).status_code == 204
    assert not AsyncTempFile.objects.filter(key=key).exists()


def test_another_user_gets_404_and_the_upload_stays(logged_in, client_for, other_user, upload):
    made = upload(logged_in, Document, "file", "mine.pdf", PDF_BYTES)

    for intruder in (client_for(other_user), Client()):
        response = discard(intruder, made.key)
        assert response.status_code == 404
        assert "detail" in response.json()

    assert AsyncTempFile.objects.filter(key=made.key).exists()
    assert read(made.key) == PDF_BYTES


def test_another_field_or_an_unknown_key_gets_404(logged_in, upload):
    made = upload(logged_in, Document, "file", "mine.pdf", PDF_BYTES)

    assert discard(logged_in, made.key, field="image").status_code == 404
    unknown_field = logged_in.post(discard_url(), {"key": made.key, "fieldId": "no.such.field"})
    assert unknown_field.status_code == 404
    missing = made.key.rsplit("/", 1)[0] + "/0000000000-missing.pdf"
    assert discard(logged_in, missing).status_code == 404
    assert AsyncTempFile.objects.filter(key=made.key).exists()
    assert read(made.key) == PDF_BYTES


def test_a_saved_records_file_is_never_discarded(logged_in):
    default_storage.save("documents/saved.pdf", ContentFile(PDF_BYTES))
    Document.objects.create(title="Saved", file="documents/saved.pdf")

    assert discard(logged_in, "documents/saved.pdf").status_code == 404
    assert read("documents/saved.pdf") == PDF_BYTES


def test_a_claimed_upload_gets_409_and_stays(logged_in, upload):
    made = upload(logged_in, Document, "file", "claimed.pdf", PDF_BYTES)
    # Saving a record with the key claims the upload in the same transaction (promotion follows the commit).
    Document.objects.create(title="Claims it", file=made.key)
    assert AsyncTempFile.objects.get(key=made.key).object_id

    response = discard(logged_in, made.key)

    assert response.status_code == 409
    assert "detail" in response.json()
    assert AsyncTempFile.objects.filter(key=made.key).exists()
    assert read(made.key) == PDF_BYTES


def test_a_promoted_upload_gets_409_and_the_record_keeps_its_file(
    logged_in, upload, django_capture_on_commit_callbacks
):
    made = upload(logged_in, Document, "file", "promoted.pdf", PDF_BYTES)
    with django_capture_on_commit_callbacks(execute=True):
        document = Document.objects.create(title="Promoted", file=made.key)
    document.refresh_from_db()
    assert AsyncTempFile.objects.get(key=made.key).moved_to_location == document.file.name

    assert discard(logged_in, made.key).status_code == 409
    assert AsyncTempFile.objects.filter(key=made.key).exists()
    assert read(document.file.name) == PDF_BYTES


def test_an_upload_rejected_by_promotion_is_kept_for_a_person_to_look_at(logged_in, upload):
    made = upload(logged_in, Document, "file", "rejected.pdf", PDF_BYTES)
    AsyncTempFile.objects.filter(key=made.key).update(error="Virus found")

    assert discard(logged_in, made.key).status_code == 409
    assert AsyncTempFile.objects.filter(key=made.key).exists()


def test_an_upload_another_actor_holds_gets_409(settings, logged_in, upload):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CLAIM_WAIT": 0}}
    made = upload(logged_in, Document, "file", "busy.pdf", PDF_BYTES)
    row, token = try_claim(made.key)
    assert row is not None

    response = discard(logged_in, made.key)

    assert response.status_code == 409
    assert read(made.key) == PDF_BYTES
    release(row.pk, token)
    assert discard(logged_in, made.key).status_code == 204


def test_a_storage_failure_keeps_the_row_for_cleanup(logged_in, upload, monkeypatch):
    made = upload(logged_in, Document, "file", "stuck.pdf", PDF_BYTES)

    def unreachable(key):
        raise OSError("storage unreachable")

    monkeypatch.setattr(Document._meta.get_field("file").storage, "delete", unreachable)

    response = discard(logged_in, made.key)

    assert response.status_code == 503
    assert "detail" in response.json()
    row = AsyncTempFile.objects.get(key=made.key)
    assert row.lease_token == ""  # released, so cleanup can take it


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"fieldId": "x"},
        {"key": "async-temp-files/2024/01/01/abc-x.pdf"},
        {"key": "", "fieldId": ""},
        {"key": "async-temp-files/2024/01/01/a\x00b.pdf", "fieldId": "x"},
        {"key": "async-temp-files/" + "a" * 2000, "fieldId": "x"},
        {"key": "k", "fieldId": "f" * 301},
        {"key": "k", "fieldId": "a\nb"},
    ],
)
def test_malformed_input_gets_400(logged_in, data):
    response = logged_in.post(discard_url(), data)

    assert response.status_code == 400
    assert response.json()


def test_only_post_is_allowed(logged_in):
    key = plan(logged_in)["key"]

    assert logged_in.get(discard_url(), {"key": key, "fieldId": field_id(Document, "file")}).status_code == 405
    assert AsyncTempFile.objects.filter(key=key).exists()


def test_the_snake_case_field_id_is_accepted(logged_in):
    key = plan(logged_in)["key"]

    assert logged_in.post(discard_url(), {"key": key, "field_id": field_id(Document, "file")}).status_code == 204


def test_session_users_need_the_csrf_token(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/documents/new/")  # sets the CSRF cookie, as the page with the widget does
    token = browser.cookies["csrftoken"].value
    key = plan(browser, client_kwargs={"HTTP_X_CSRFTOKEN": token})["key"]

    assert discard(browser, key).status_code == 403
    assert AsyncTempFile.objects.filter(key=key).exists()
    assert discard(browser, key, HTTP_X_CSRFTOKEN=token).status_code == 204


def test_api_clients_with_header_credentials_need_no_csrf_token(settings, user):
    settings.ALLIANCE_PLATFORM = {
        "STORAGE": {"AUTHENTICATE_REQUEST": "alliance_platform.storage.async_uploads.rest_framework.authenticate"}
    }
    api = Client(enforce_csrf_checks=True)
    credentials = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:pw").decode()}
    key = plan(api, client_kwargs=credentials)["key"]
    assert AsyncTempFile.objects.get(key=key).uploaded_by == user

    assert discard(api, key).status_code == 403  # without credentials it is a browser's request: CSRF applies
    assert AsyncTempFile.objects.filter(key=key).exists()
    assert discard(api, key, **credentials).status_code == 204
    assert not AsyncTempFile.objects.filter(key=key).exists()


# S3: the object is deleted in the bucket, and a multipart upload in progress is aborted.


@pytest.fixture
def multipart_threshold(settings, monkeypatch):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"S3_MULTIPART_THRESHOLD": 6 * MIB, "S3_MULTIPART_PART_SIZE": 5 * MIB}}
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 30)


def test_an_s3_object_is_deleted(logged_in, s3_storage, s3_client, bucket):  # noqa: F811
    upload_plan = plan(logged_in, "small.pdf", model=CloudDocument, size=len(PDF_BYTES))
    assert post_upload(upload_plan, PDF_BYTES).status_code in (200, 201, 204)
    assert bucket_keys(s3_client, bucket) == [upload_plan["key"]]

    assert discard(logged_in, upload_plan["key"], model=CloudDocument).status_code == 204

    assert bucket_keys(s3_client, bucket) == []
    assert not AsyncTempFile.objects.filter(key=upload_plan["key"]).exists()


def test_an_s3_multipart_upload_in_progress_is_aborted(
    logged_in,
    multipart_threshold,
    s3_storage,  # noqa: F811
    s3_client,  # noqa: F811
    bucket,  # noqa: F811
):
    content = b"%PDF-1.4\n" + hashlib.sha256(b"discard").digest() * (12 * MIB // 32)
    upload_plan = plan(logged_in, "big.pdf", model=CloudDocument, size=len(content), contentType="application/pdf")
    multipart = upload_plan["uploadUrl"]["multipart"]
    signed = logged_in.post(multipart["signUrl"], {"token": multipart["token"], "partNumbers": "1"}).json()["parts"]
    part = requests.put(signed[0]["url"], data=content[: multipart["partSize"]], timeout=60)
    assert part.status_code == 200, part.text
    uploads = s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [item["UploadId"] for item in uploads] == [multipart["uploadId"]]

    assert discard(logged_in, upload_plan["key"], model=CloudDocument).status_code == 204

    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert bucket_keys(s3_client, bucket) == []
    assert not AsyncTempFile.objects.filter(key=upload_plan["key"]).exists()
    # The session's own endpoints no longer accept it either.
    assert logged_in.post(multipart["listUrl"], {"token": multipart["token"]}).status_code == 409


def test_a_gcs_object_is_deleted(logged_in, gcs_storage, gcs_client, gcs_bucket):  # noqa: F811
    upload_plan = plan(logged_in, "small.pdf", model=CloudDocument, size=len(PDF_BYTES))
    assert post_gcs_upload(upload_plan, PDF_BYTES).status_code in (200, 201, 204)
    assert gcs_bucket_names(gcs_client, gcs_bucket) == [upload_plan["key"]]

    assert discard(logged_in, upload_plan["key"], model=CloudDocument).status_code == 204

    assert gcs_bucket_names(gcs_client, gcs_bucket) == []
    assert not AsyncTempFile.objects.filter(key=upload_plan["key"]).exists()


def test_the_parts_of_a_gcs_upload_in_progress_are_deleted(
    logged_in,
    settings,
    monkeypatch,
    gcs_storage,  # noqa: F811
    gcs_client,  # noqa: F811
    gcs_bucket,  # noqa: F811
):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"GCS_MULTIPART_THRESHOLD": 6 * MIB, "GCS_MULTIPART_PART_SIZE": 5 * MIB}}
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 30)
    content = b"%PDF-1.4\n" + hashlib.sha256(b"discard").digest() * (12 * MIB // 32)
    upload_plan = plan(logged_in, "big.pdf", model=CloudDocument, size=len(content), contentType="application/pdf")
    multipart = upload_plan["uploadUrl"]["multipart"]
    signed = logged_in.post(multipart["signUrl"], {"token": multipart["token"], "partNumbers": "1,2"}).json()["parts"]
    for part in signed:
        start = (part["partNumber"] - 1) * multipart["partSize"]
        sent = requests.put(part["url"], data=content[start : start + multipart["partSize"]], timeout=60)
        assert sent.status_code == 200, sent.text
    assert len(gcs_bucket_names(gcs_client, gcs_bucket)) == 2, "two parts, each an object"

    assert discard(logged_in, upload_plan["key"], model=CloudDocument).status_code == 204

    assert gcs_bucket_names(gcs_client, gcs_bucket) == []
    assert not AsyncTempFile.objects.filter(key=upload_plan["key"]).exists()
    assert logged_in.post(multipart["listUrl"], {"token": multipart["token"]}).status_code == 409
