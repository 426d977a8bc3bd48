"""The filesystem backend's upload (PUT) and download endpoints, and the download redirect, under hostile input.

Nothing here may answer 500, write a file it should not, or change a stored file.
"""

from __future__ import annotations

import json
import os
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from django.conf import settings as django_settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import RequestFactory
import pytest

from alliance_platform.storage.async_uploads import tokens
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.storage.filesystem import DOWNLOAD_SALT, UPLOAD_SALT, UploadToken
from alliance_platform.storage.async_uploads.views.filesystem import FileSystemUploadView
from gallery.models import Document
from tests.conftest import PDF_BYTES, field_id, media_files, png_bytes, read
from tests.testapp.models import Attachment, Avatar

pytestmark = pytest.mark.django_db

PLAN_URL = "/async-uploads/generate-upload-url/"
UPLOAD_PATH = "/async-uploads/filesystem-upload/"
DOWNLOAD_PATH = "/async-uploads/filesystem-download/"
DOWNLOAD_FILE_URL = "/async-uploads/download-file/"
ONE_MB = 1024 * 1024


# Helpers.


def plan_for(client, model, field: str, filename: str, url: str = PLAN_URL, **extra) -> dict:
    response = client.post(url, {"fieldId": field_id(model, field), "filename": filename, **extra})
    assert response.status_code == 200, response.content
    return response.json()


def put(client, url: str, content: bytes, **extra):
    return client.generic("PUT", url, content, content_type="application/octet-stream", **extra)


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def with_token(path: str, token: str) -> str:
    return f"{path}?{urlencode({'token': token})}"


def upload_token(key: str, field: str) -> str:
    """A validly signed upload token for ``key`` and ``field``, as if this server had issued it."""
    return tokens.sign(UploadToken(key=key, field_id=field), salt=UPLOAD_SALT)


def flip(token: str, index: int) -> str:
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


def promoted_document(client, filename: str = "report.pdf", content: bytes = PDF_BYTES) -> tuple[Document, dict]:
    """A Document created through the whole flow (plan, PUT, form); needs a transactional test."""
    plan = plan_for(client, Document, "file", filename, size=len(content))
    assert put(client, plan["uploadUrl"]["url"], content).status_code == 201
    response = client.post(
        "/documents/new/", {"title": "Doc", "file": json.dumps({"key": plan["key"], "name": filename}), "image": ""}
    )
    assert response.status_code == 302, response.content[:2000]
    return Document.objects.get(), plan


@pytest.fixture
def existing_document() -> Document:
    name = default_storage.save("documents/existing.pdf", ContentFile(PDF_BYTES))
    return Document.objects.create(title="Existing", file=name)


@pytest.fixture
def attachment_plan(logged_in) -> dict:
    """A plan for Attachment.file: PDF only, at most 1 MB, no permission checks."""
    return plan_for(logged_in, Attachment, "file", "report.pdf")


# 2. The upload endpoint.


def test_upload_url_accepts_a_put_and_stores_the_bytes(logged_in, attachment_plan):
    response = put(logged_in, attachment_plan["uploadUrl"]["url"], PDF_BYTES)
    assert response.status_code == 201
    assert read(attachment_plan["key"]) == PDF_BYTES


def test_upload_over_max_size_by_content_length_is_413_and_writes_nothing(logged_in, attachment_plan):
    response = put(logged_in, attachment_plan["uploadUrl"]["url"], b"%PDF-" + b"0" * (ONE_MB + 1 - 5))
    assert response.status_code == 413
    assert media_files() == {}
    assert not default_storage.exists(attachment_plan["key"])


def test_upload_of_exactly_max_size_is_accepted(logged_in, attachment_plan):
    content = b"%PDF-" + b"0" * (ONE_MB - 5)
    assert put(logged_in, attachment_plan["uploadUrl"]["url"], content).status_code == 201
    assert default_storage.size(attachment_plan["key"]) == ONE_MB


def test_upload_larger_than_declared_in_the_plan_is_still_bounded_by_max_size(logged_in):
    plan = plan_for(logged_in, Attachment, "file", "report.pdf", size=10)
    response = put(logged_in, plan["uploadUrl"]["url"], b"0" * (ONE_MB + 1))
    assert response.status_code == 413
    assert media_files() == {}


@pytest.mark.parametrize("index", [0, 1, 10, -1, -5])
def test_tampered_upload_token_is_403_and_writes_nothing(logged_in, attachment_plan, index):
    token = token_of(attachment_plan["uploadUrl"]["url"])
    response = put(logged_in, with_token(UPLOAD_PATH, flip(token, index)), PDF_BYTES)
    assert response.status_code == 403
    assert media_files() == {}


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c", "%00", "x" * 5000])
def test_malformed_upload_token_is_403(logged_in, token):
    response = put(logged_in, with_token(UPLOAD_PATH, token), PDF_BYTES)
    assert response.status_code == 403
    assert media_files() == {}


def test_upload_without_token_is_403(logged_in):
    assert put(logged_in, UPLOAD_PATH, PDF_BYTES).status_code == 403
    assert media_files() == {}


def test_upload_token_signed_without_the_upload_salt_is_403(logged_in, attachment_plan):
    payload = {"key": attachment_plan["key"], "field_id": field_id(Attachment, "file")}
    for salt in ("", "django.core.signing", DOWNLOAD_SALT):
        token = signing.dumps(payload, salt=salt, compress=True)
        assert put(logged_in, with_token(UPLOAD_PATH, token), PDF_BYTES).status_code == 403
    assert media_files() == {}


def malformed_payloads(key: str, field: str) -> list:
    """Payloads signed with the right salt that ``sign`` would never make: each must be refused like a forgery."""
    return [
        {"k": key, "f": field},  # the one-letter names of earlier versions
        {"key": key},
        {"key": key, "field_id": field, "extra": "x"},
        {"key": 7, "field_id": field},
        {"key": key, "field_id": ["a"]},
        [key, field],
        "text",
        None,
    ]


def test_validly_signed_but_malformed_upload_token_is_403(logged_in, attachment_plan):
    for payload in malformed_payloads(attachment_plan["key"], field_id(Attachment, "file")):
        token = signing.dumps(payload, salt=UPLOAD_SALT, compress=True)
        response = put(logged_in, with_token(UPLOAD_PATH, token), PDF_BYTES)
        assert response.status_code == 403, payload
        assert response.json()["detail"] == "This upload URL is not valid."
    assert media_files() == {}


def test_validly_signed_but_malformed_download_token_is_403(logged_in, existing_document):
    field = field_id(Document, "file")
    payloads = [*malformed_payloads("documents/existing.pdf", field)]
    payloads.append({"key": "documents/existing.pdf", "field_id": field, "filename": 3})
    for payload in payloads:
        token = signing.dumps(payload, salt=DOWNLOAD_SALT, compress=True)
        response = logged_in.get(with_token(DOWNLOAD_PATH, token))
        assert response.status_code == 403, payload
        assert not hasattr(response, "streaming_content")


def test_download_url_token_cannot_be_used_to_upload(logged_in, existing_document):
    redirect = logged_in.get(existing_document.file.url)
    assert redirect.status_code == 302
    download_token = token_of(redirect["Location"])
    response = put(logged_in, with_token(UPLOAD_PATH, download_token), b"overwritten")
    assert response.status_code == 403
    assert read("documents/existing.pdf") == PDF_BYTES
    assert set(media_files()) == {"documents/existing.pdf"}


def test_validly_signed_token_for_a_final_key_cannot_overwrite_it(logged_in, existing_document):
    token = upload_token("documents/existing.pdf", field_id(Document, "file"))
    response = put(logged_in, with_token(UPLOAD_PATH, token), b"overwritten")
    assert response.status_code == 403
    assert read("documents/existing.pdf") == PDF_BYTES
    assert set(media_files()) == {"documents/existing.pdf"}


@pytest.mark.parametrize(
    "key",
    [
        "async-temp-files/../documents/escaped.pdf",
        "async-temp-files/../../escaped.pdf",
        "async-temp-files/2026/01/01/never-planned.pdf",
    ],
)
def test_validly_signed_token_for_an_unplanned_key_writes_nothing(logged_in, key):
    token = upload_token(key, field_id(Attachment, "other"))
    response = put(logged_in, with_token(UPLOAD_PATH, token), PDF_BYTES)
    assert response.status_code in (403, 409)
    assert media_files() == {}
    assert not os.path.exists(os.path.join(os.path.dirname(django_settings.MEDIA_ROOT), "escaped.pdf"))


def test_token_naming_another_field_than_the_plan_writes_nothing(logged_in, attachment_plan):
    token = upload_token(attachment_plan["key"], field_id(Attachment, "other"))
    response = put(logged_in, with_token(UPLOAD_PATH, token), PDF_BYTES)
    assert response.status_code in (403, 409)
    assert media_files() == {}


def test_token_naming_an_unknown_field_is_403(logged_in, attachment_plan):
    token = upload_token(attachment_plan["key"], "nope")
    assert put(logged_in, with_token(UPLOAD_PATH, token), PDF_BYTES).status_code == 403
    assert media_files() == {}


def test_token_of_another_registry_is_refused_by_the_default_endpoint(logged_in):
    plan = plan_for(logged_in, Avatar, "image", "me.png", url="/other-uploads/generate-upload-url/")
    assert plan["uploadUrl"]["url"].startswith("/other-uploads/filesystem-upload/")
    response = put(logged_in, with_token(UPLOAD_PATH, token_of(plan["uploadUrl"]["url"])), png_bytes())
    assert response.status_code == 403
    assert media_files() == {}
    # The same token works where it was issued.
    assert put(logged_in, plan["uploadUrl"]["url"], png_bytes()).status_code == 201


def test_expired_upload_token_is_403(logged_in, attachment_plan, settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"UPLOAD_URL_EXPIRY": -1}}
    response = put(logged_in, attachment_plan["uploadUrl"]["url"], PDF_BYTES)
    assert response.status_code == 403
    assert media_files() == {}


def test_replayed_upload_url_is_409_and_keeps_the_first_upload(logged_in, attachment_plan):
    url = attachment_plan["uploadUrl"]["url"]
    assert put(logged_in, url, PDF_BYTES).status_code == 201
    replay = put(logged_in, url, b"%PDF-replaced")
    assert replay.status_code == 409
    assert read(attachment_plan["key"]) == PDF_BYTES
    assert set(media_files()) == {attachment_plan["key"]}


@pytest.mark.django_db(transaction=True)
def test_replayed_upload_url_after_promotion_is_refused_and_recreates_nothing(logged_in):
    document, plan = promoted_document(logged_in)
    assert document.file.name == "documents/report.pdf"
    assert not default_storage.exists(plan["key"])
    replay = put(logged_in, plan["uploadUrl"]["url"], b"%PDF-replaced")
    assert replay.status_code in (403, 409, 410)
    assert not default_storage.exists(plan["key"])
    assert set(media_files()) == {"documents/report.pdf"}
    assert read("documents/report.pdf") == PDF_BYTES


def test_replayed_upload_url_after_a_rejected_upload_recreates_nothing(logged_in):
    plan = plan_for(logged_in, Document, "file", "report.pdf")
    assert put(logged_in, plan["uploadUrl"]["url"], b"PK\x03\x04" + b"\x00" * 100).status_code == 201
    response = logged_in.post(
        "/documents/new/", {"title": "T", "file": json.dumps({"key": plan["key"], "name": "report.pdf"}), "image": ""}
    )
    assert response.status_code == 200
    assert not default_storage.exists(plan["key"])
    replay = put(logged_in, plan["uploadUrl"]["url"], PDF_BYTES)
    assert replay.status_code in (403, 409, 410)
    assert media_files() == {}


def _factory_put(plan: dict, body: bytes, **meta):
    request = RequestFactory().generic(
        "PUT", plan["uploadUrl"]["url"], body, content_type="application/octet-stream", **meta
    )
    return request


def test_upload_without_content_length_is_411_not_500(logged_in, attachment_plan):
    request = _factory_put(attachment_plan, PDF_BYTES)
    del request.META["CONTENT_LENGTH"]
    response = FileSystemUploadView.as_view()(request)
    assert response.status_code == 411
    assert media_files() == {}


@pytest.mark.parametrize("length", ["", "abc", "1e3", "0x10", " "])
def test_upload_with_invalid_content_length_is_4xx_not_500(logged_in, attachment_plan, length):
    request = _factory_put(attachment_plan, PDF_BYTES, CONTENT_LENGTH=length)
    response = FileSystemUploadView.as_view()(request)
    assert response.status_code in (400, 411)
    assert media_files() == {}


def test_upload_with_negative_content_length_is_400(logged_in, attachment_plan):
    request = _factory_put(attachment_plan, PDF_BYTES, CONTENT_LENGTH="-5")
    response = FileSystemUploadView.as_view()(request)
    assert response.status_code == 400
    assert media_files() == {}


def test_upload_with_huge_content_length_is_413(logged_in, attachment_plan):
    request = _factory_put(attachment_plan, PDF_BYTES, CONTENT_LENGTH=str(10**30))
    response = FileSystemUploadView.as_view()(request)
    assert response.status_code == 413
    assert media_files() == {}


def test_upload_shorter_than_its_content_length_is_400_and_leaves_no_partial_file(logged_in, attachment_plan):
    request = _factory_put(attachment_plan, PDF_BYTES)
    # The body ends before the announced length: a dropped connection.
    request._stream = type(request._stream)(request.META["wsgi.input"], len(PDF_BYTES))
    request.META["CONTENT_LENGTH"] = str(len(PDF_BYTES) + 1000)
    response = FileSystemUploadView.as_view()(request)
    assert response.status_code == 400
    assert media_files() == {}
    # The URL can still be used for a complete upload.
    assert put(logged_in, attachment_plan["uploadUrl"]["url"], PDF_BYTES).status_code == 201


@pytest.mark.parametrize("method", ["get", "post", "delete", "patch", "head"])
def test_upload_endpoint_refuses_other_methods_with_405(logged_in, attachment_plan, method):
    response = getattr(logged_in, method)(attachment_plan["uploadUrl"]["url"])
    assert response.status_code == 405
    assert media_files() == {}


# 3. Download endpoints.


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"fieldId": "nope", "instanceId": "1"},
        {"instanceId": "1"},
        {"fieldId": "FIELD"},
        {"fieldId": "FIELD", "instanceId": ""},
        {"fieldId": "FIELD", "instanceId": "abc"},
        {"fieldId": "FIELD", "instanceId": "99999"},
        {"fieldId": "FIELD", "instanceId": "99999999999999999999999999"},
        {"fieldId": "FIELD", "instanceId": "1\x00"},
    ],
)
def test_download_file_with_bad_query_is_4xx(logged_in, existing_document, query):
    query = {k: (field_id(Document, "file") if v == "FIELD" else v) for k, v in query.items()}
    response = logged_in.get(DOWNLOAD_FILE_URL, query)
    assert 400 <= response.status_code < 500
    assert response.status_code not in (301, 302)


def test_download_file_unknown_field_id_is_400(logged_in, existing_document):
    response = logged_in.get(DOWNLOAD_FILE_URL, {"fieldId": "nope", "instanceId": existing_document.pk})
    assert response.status_code == 400
    assert response.json() == {"fieldId": ["Unknown fieldId"]}


def test_download_file_without_instance_id_is_400(logged_in, existing_document):
    response = logged_in.get(DOWNLOAD_FILE_URL, {"fieldId": field_id(Document, "file")})
    assert response.status_code == 400
    assert "instanceId" in response.json()


def test_download_file_unknown_instance_id_is_404(logged_in, existing_document):
    response = logged_in.get(DOWNLOAD_FILE_URL, {"fieldId": field_id(Document, "file"), "instanceId": "99999"})
    assert response.status_code == 404


def test_download_file_for_a_record_without_a_file_is_404(logged_in, existing_document):
    response = logged_in.get(
        DOWNLOAD_FILE_URL, {"fieldId": field_id(Document, "image"), "instanceId": existing_document.pk}
    )
    assert response.status_code == 404


def test_download_file_without_view_permission_is_403(client_for, other_user, existing_document):
    response = client_for(other_user).get(existing_document.file.url)
    assert response.status_code == 403
    assert "Location" not in response


def test_download_file_anonymous_is_403(client, existing_document):
    response = client.get(existing_document.file.url)
    assert response.status_code == 403


@pytest.mark.parametrize("index", [0, 1, 10, -1, -5])
def test_tampered_download_token_is_403(logged_in, existing_document, index):
    location = logged_in.get(existing_document.file.url)["Location"]
    response = logged_in.get(with_token(DOWNLOAD_PATH, flip(token_of(location), index)))
    assert response.status_code == 403
    assert not hasattr(response, "streaming_content")


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c", "x" * 5000])
def test_malformed_download_token_is_403(logged_in, token):
    assert logged_in.get(with_token(DOWNLOAD_PATH, token)).status_code == 403


def test_upload_token_cannot_be_used_to_download(logged_in):
    plan = plan_for(logged_in, Attachment, "other", "secret.pdf")
    assert put(logged_in, plan["uploadUrl"]["url"], PDF_BYTES).status_code == 201
    response = logged_in.get(with_token(DOWNLOAD_PATH, token_of(plan["uploadUrl"]["url"])))
    assert response.status_code == 403
    assert not hasattr(response, "streaming_content")


def test_expired_download_token_is_403(logged_in, existing_document, settings):
    location = logged_in.get(existing_document.file.url)["Location"]
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"DOWNLOAD_URL_EXPIRY": -1}}
    assert logged_in.get(location).status_code == 403


def test_download_of_a_deleted_file_is_404(logged_in, existing_document):
    location = logged_in.get(existing_document.file.url)["Location"]
    default_storage.delete("documents/existing.pdf")
    assert logged_in.get(location).status_code == 404


def test_download_endpoint_refuses_writes_with_405(logged_in, existing_document):
    location = logged_in.get(existing_document.file.url)["Location"]
    assert put(logged_in, location, b"overwritten").status_code == 405
    assert logged_in.post(location, {}).status_code == 405
    assert read("documents/existing.pdf") == PDF_BYTES


def test_valid_download_is_an_attachment_with_nosniff(logged_in, existing_document):
    redirect = logged_in.get(existing_document.file.url)
    assert redirect.status_code == 302
    response = logged_in.get(redirect["Location"])
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="existing.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF_BYTES


@pytest.mark.django_db(transaction=True)
def test_download_of_a_non_ascii_name_uses_an_rfc_6266_filename(logged_in):
    document, _plan = promoted_document(logged_in, "résumé.pdf")
    redirect = logged_in.get(document.file.url)
    assert redirect.status_code == 302
    response = logged_in.get(redirect["Location"])
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{quote('résumé.pdf')}" in disposition
    assert disposition.isascii()
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_download_of_a_name_with_quotes_keeps_them_inside_the_quoted_filename(logged_in):
    name = default_storage.save('documents/a";b.pdf', ContentFile(PDF_BYTES))
    document = Document.objects.create(title="Quoted", file=name)
    response = logged_in.get(logged_in.get(document.file.url)["Location"])
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="a\\";b.pdf"'
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_temp_rows_are_untouched_by_refused_uploads(logged_in, attachment_plan):
    before = list(AsyncTempFile.objects.values())
    token = token_of(attachment_plan["uploadUrl"]["url"])
    put(logged_in, with_token(UPLOAD_PATH, flip(token, -1)), PDF_BYTES)
    put(logged_in, attachment_plan["uploadUrl"]["url"], b"0" * (ONE_MB + 1))
    assert list(AsyncTempFile.objects.values()) == before
