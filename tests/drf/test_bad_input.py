"""Malformed, hostile and unverifiable values sent to the API: each is a 400 naming the field, never a 500.

DRF's test client re-raises server exceptions, so a 500 would fail these tests loudly rather than pass as an
error response. Each case also checks that nothing was saved.
"""

from __future__ import annotations

import json

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.rest_framework import AsyncFileField
from alliance_platform.storage.async_uploads.verification import MESSAGES
from gallery.api import DocumentSerializer
from gallery.models import Document
from tests.conftest import PDF_BYTES, field_id, png_bytes
from tests.testapp.models import Attachment, Avatar, ShortKey

pytestmark = pytest.mark.django_db

API = "/api/documents/"
ATTACHMENTS = "/test-api/attachments/"
ZIP_BYTES = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 200


def assert_field_error(response, field: str, code: str, message: str | None = None) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert isinstance(body.get(field), list) and body[field], body
    assert all(isinstance(text, str) for text in body[field])
    assert response.data[field][0].code == code, response.data
    if message is not None:
        assert body[field][0] == message


def create_document(client: APIClient, file_value, **extra):
    return client.post(API, {"title": "T", "file": file_value, **extra}, format="json")


@pytest.fixture
def existing_document() -> Document:
    name = default_storage.save("documents/existing.pdf", ContentFile(PDF_BYTES))
    return Document.objects.create(title="Existing", file=name)


@pytest.fixture
def pdf_key(api, upload) -> str:
    return upload(api, Document, "file", "report.pdf", PDF_BYTES).key


# Shape and types.


@pytest.mark.parametrize(
    "value, code",
    [
        pytest.param(42, "invalid_shape", id="number"),
        pytest.param(True, "invalid_shape", id="boolean"),
        pytest.param(["a", "b"], "invalid_shape", id="list"),
        pytest.param("not json", "invalid_json", id="plain string"),
        pytest.param("[1, 2]", "invalid_shape", id="json list string"),
        pytest.param("{" * 50_000, "invalid_json", id="deeply nested json string"),
        pytest.param({"key": 5, "name": "x.pdf"}, "invalid_shape", id="numeric key"),
        pytest.param({"key": "k", "name": None}, "invalid_shape", id="null name"),
        pytest.param({"key": {"nested": 1}, "name": "x.pdf"}, "invalid_shape", id="object key"),
        pytest.param({"key": "", "name": ""}, "invalid_shape", id="empty strings"),
        pytest.param({"name": "x.pdf"}, "invalid_shape", id="no key"),
        pytest.param({"key": "async-temp-files/2020/01/01/abc-x.pdf"}, "invalid_shape", id="no name"),
        pytest.param({"key": "k", "name": "x.pdf", "width": "big"}, "invalid_shape", id="string width"),
        pytest.param({"key": "k", "name": "x.pdf", "height": 1.5}, "invalid_shape", id="float height"),
        pytest.param({"key": "k", "name": "x.pdf", "width": True}, "invalid_shape", id="boolean width"),
        pytest.param({"key": "k", "name": "x.pdf", "error": 7}, "invalid_shape", id="numeric error"),
        pytest.param({"key": "a\x00b", "name": "x.pdf"}, "invalid_shape", id="nul in key"),
        pytest.param({"key": "k", "name": "x\n.pdf"}, "invalid_shape", id="newline in name"),
    ],
)
def test_wrong_shape_or_types_are_400(api, value, code):
    response = create_document(api, value)
    assert_field_error(response, "file", code)
    assert not Document.objects.exists()


@pytest.mark.parametrize("extra", [{"evil": 1}, {"path": "/etc/passwd", "size": 3}, {"": ""}])
def test_unknown_keys_are_400_naming_them(api, pdf_key, extra):
    response = create_document(api, {"key": pdf_key, "name": "report.pdf", **extra})
    keys = ", ".join(sorted(extra))
    assert_field_error(response, "file", "unknown_keys", f"Invalid input keys received: {keys}")
    assert not Document.objects.exists()
    assert default_storage.exists(pdf_key), "a refused value leaves the upload for a corrected submission"


def test_over_long_name_is_400(api, pdf_key):
    response = create_document(api, {"key": pdf_key, "name": "n" * 1001 + ".pdf"})
    assert_field_error(response, "file", "too_long")


def test_key_longer_than_the_field_is_400(api):
    response = create_document(api, {"key": "async-temp-files/" + "k" * 600, "name": "x.pdf"})
    assert_field_error(response, "file", "too_long")


def test_key_longer_than_a_short_field_is_refused_by_a_plain_serializer():
    class ShortKeySerializer(serializers.Serializer):
        file = AsyncFileField(async_field=ShortKey._meta.get_field("file"))

    key = "async-temp-files/2020/01/01/" + "k" * 40 + ".pdf"  # 72 characters; the field holds 60
    serializer = ShortKeySerializer(data={"file": {"key": key, "name": "x.pdf"}})
    assert not serializer.is_valid()
    assert serializer.errors["file"][0].code == "too_long"


# Values that are well formed but not acceptable.


def test_null_for_a_required_file_is_400(api):
    assert_field_error(create_document(api, None), "file", "null")


def test_missing_required_file_is_400(api):
    response = api.post(API, {"title": "T"}, format="json")
    assert_field_error(response, "file", "required")


def test_empty_object_for_a_required_file_is_400(api):
    assert_field_error(create_document(api, {}), "file", "required")


def test_upload_error_reported_by_the_client_is_400(api, pdf_key):
    response = create_document(api, {"key": pdf_key, "name": "report.pdf", "error": "Network down"})
    assert_field_error(response, "file", "upload_error", "There was an unexpected error: Network down")


def test_key_never_planned_is_400(api):
    response = create_document(api, {"key": "async-temp-files/2020/01/01/abcdef-report.pdf", "name": "report.pdf"})
    assert_field_error(response, "file", "unknown_upload", MESSAGES["unknown_upload"])


def test_planned_but_never_uploaded_is_400(api):
    plan = api.post(
        "/async-uploads/generate-upload-url/", {"fieldId": field_id(Document, "file"), "filename": "report.pdf"}
    ).json()
    response = create_document(api, {"key": plan["key"], "name": "report.pdf"})
    assert_field_error(response, "file", "missing", MESSAGES["missing"])


def test_key_planned_for_another_field_is_400(api, upload):
    image_key = upload(api, Document, "image", "pic.png", png_bytes()).key
    response = create_document(api, {"key": image_key, "name": "pic.png"})
    assert_field_error(response, "file", "unknown_upload")
    assert default_storage.exists(image_key)


def test_key_of_a_field_in_another_registry_is_400(api, upload):
    other = upload(api, Avatar, "image", "me.png", png_bytes()).key
    as_file = create_document(api, {"key": other, "name": "me.png"})
    assert_field_error(as_file, "file", "unknown_upload")
    as_image = create_document(
        api, {"key": "async-temp-files/2020/01/01/x-a.pdf", "name": "a.pdf"}, image={"key": other, "name": "me.png"}
    )
    assert_field_error(as_image, "image", "unknown_upload")


def test_key_uploaded_by_another_user_is_400(api_client_for, other_user, api, upload):
    theirs = upload(api_client_for(other_user), Document, "file", "theirs.pdf", PDF_BYTES).key
    response = create_document(api, {"key": theirs, "name": "theirs.pdf"})
    assert_field_error(response, "file", "unknown_upload")
    assert default_storage.exists(theirs), "someone else's upload is left alone"


def test_anonymous_session_upload_submitted_by_another_session_is_400(upload):
    owner, stranger = APIClient(), APIClient()
    key = upload(owner, Attachment, "other", "notes.pdf", PDF_BYTES).key
    response = stranger.post(ATTACHMENTS, {"other": {"key": key, "name": "notes.pdf"}}, format="json")
    assert_field_error(response, "other", "unknown_upload")
    accepted = owner.post(ATTACHMENTS, {"other": {"key": key, "name": "notes.pdf"}}, format="json")
    assert accepted.status_code == 201, accepted.content


def test_object_larger_than_max_size_is_400_and_deleted(upload, monkeypatch):
    client = APIClient()
    key = upload(client, Attachment, "file", "invoice.pdf", PDF_BYTES).key
    monkeypatch.setattr(Attachment._meta.get_field("file"), "max_size", 0.001)  # 1048 bytes < the upload
    response = client.post(ATTACHMENTS, {"file": {"key": key, "name": "invoice.pdf"}}, format="json")
    assert_field_error(response, "file", "too_large")
    assert "The maximum size is 1.0\xa0KB" in response.json()["file"][0]
    assert not default_storage.exists(key)
    assert not AsyncTempFile.objects.filter(key=key).exists()


def test_content_contradicting_its_name_is_400_and_deleted(api, upload):
    key = upload(api, Document, "file", "report.pdf", ZIP_BYTES).key  # a zip archive named .pdf
    response = create_document(api, {"key": key, "name": "report.pdf"})
    assert_field_error(response, "file", "content_mismatch")
    assert "it looks like a ZIP archive" in response.json()["file"][0]
    assert not default_storage.exists(key)


def test_png_named_pdf_is_400_naming_the_real_reason(api, upload):
    key = upload(api, Document, "file", "scan.pdf", png_bytes()).key
    response = create_document(api, {"key": key, "name": "scan.pdf"})
    assert_field_error(response, "file", "content_mismatch")
    assert response.json()["file"] == ["The content of “scan.pdf” is not a PDF document (it looks like a PNG image)."]


@pytest.mark.parametrize(
    "content, code",
    [(PDF_BYTES, "content_mismatch"), (png_bytes()[:40], "invalid_image")],
    ids=["pdf", "truncated png"],
)
def test_image_field_refuses_what_is_not_a_readable_image(api, pdf_key, upload, content, code):
    image_key = upload(api, Document, "image", "pic.png", content).key
    response = create_document(api, {"key": pdf_key, "name": "report.pdf"}, image={"key": image_key, "name": "p.png"})
    assert_field_error(response, "image", code)
    assert not Document.objects.exists()


# Keys that are not temporary.


@pytest.mark.parametrize(
    "key", ["documents/existing.pdf", "../../etc/passwd", "/etc/passwd", "documents/never-existed.pdf"]
)
def test_non_temporary_key_on_create_is_400(api, existing_document, key):
    response = create_document(api, {"key": key, "name": "x.pdf"})
    assert_field_error(response, "file", "not_current", MESSAGES["not_current"])
    assert Document.objects.count() == 1


def test_another_records_key_on_update_is_400(api, existing_document):
    other = Document.objects.create(title="Other", file=default_storage.save("documents/other.pdf", ContentFile(b"x")))
    response = api.patch(
        f"{API}{other.pk}/", {"file": {"key": existing_document.file.name, "name": "x"}}, format="json"
    )
    assert_field_error(response, "file", "not_current")
    other.refresh_from_db()
    assert other.file.name == "documents/other.pdf"


def test_upload_already_saved_with_another_record_is_400(api, pdf_key):
    assert create_document(api, {"key": pdf_key, "name": "report.pdf"}).status_code == 201
    again = create_document(api, {"key": pdf_key, "name": "report.pdf"})
    assert_field_error(again, "file", "already_used")
    assert Document.objects.count() == 1


def test_resubmitting_a_promoted_upload_for_the_same_record_keeps_its_file(api, pdf_key, existing_document):
    first = api.patch(f"{API}{existing_document.pk}/", {"file": {"key": pdf_key, "name": "r.pdf"}}, format="json")
    assert first.status_code == 200, first.content
    promoted = first.json()["file"]["key"]
    again = api.patch(f"{API}{existing_document.pk}/", {"file": {"key": pdf_key, "name": "r.pdf"}}, format="json")
    assert again.status_code == 200, again.content
    assert again.json()["file"]["key"] == promoted


# Without a request.


def test_serializer_without_a_request_refuses_new_uploads(api, pdf_key):
    serializer = DocumentSerializer(data={"title": "T", "file": {"key": pdf_key, "name": "report.pdf"}})
    assert not serializer.is_valid()
    assert serializer.errors["file"][0].code == "no_requester"


def test_form_encoded_garbage_is_400(api):
    response = api.post(API, {"title": "T", "file": "{broken"}, format="multipart")
    assert_field_error(response, "file", "invalid_json")
    nul = api.post(API, {"title": "T", "file": json.dumps({"key": "a\x00", "name": "b"})}, format="multipart")
    assert_field_error(nul, "file", "invalid_shape")
