"""Malformed and hostile input to the upload-plan endpoint and to the form fields.

Every case here must be answered with a 4xx (for the endpoint) or a form error on the right field (for forms),
never a 500, and must leave the database rows and the files in storage exactly as they were.
"""

from __future__ import annotations

from datetime import timedelta
import json
import re

from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
import pytest

from alliance_platform.storage.async_uploads.models import AsyncTempFile
from gallery.models import Document
from tests.conftest import PDF_BYTES, field_id, media_files, png_bytes, read
from tests.testapp.models import Attachment, Avatar, ShortKey

pytestmark = pytest.mark.django_db

PLAN_URL = "/async-uploads/generate-upload-url/"
OTHER_PLAN_URL = "/other-uploads/generate-upload-url/"
CREATE_URL = "/documents/new/"
ZIP_BYTES = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 200

# async-temp-files/YYYY/MM/DD/<random>-<filename>
TEMP_KEY = re.compile(r"^async-temp-files/(\d{4}/\d{2}/\d{2})/([^/]+)$")


# Helpers.


def document_rows() -> list[dict]:
    return list(Document.objects.order_by("pk").values())


def temp_rows() -> list[dict]:
    return list(AsyncTempFile.objects.order_by("pk").values())


def request_plan(client, method: str = "post", url: str = PLAN_URL, **data):
    return getattr(client, method)(url, data)


def attachment_plan(client, filename: str, method: str = "post", **data):
    """Plan for ``Attachment.other``: no permission checks, no type restrictions, the default size limit."""
    return request_plan(client, method, fieldId=field_id(Attachment, "other"), filename=filename, **data)


def today_range() -> set[str]:
    now = timezone.now()
    return {f"{now - timedelta(minutes=1):%Y/%m/%d}", f"{now:%Y/%m/%d}", f"{now + timedelta(minutes=1):%Y/%m/%d}"}


def assert_safe_temporary_key(key: str) -> str:
    """The key has the documented shape; returns its last component."""
    match = TEMP_KEY.match(key)
    assert match, key
    assert match.group(1) in today_range()
    last = match.group(2)
    assert "/" not in last and "\\" not in last
    assert ".." not in last
    assert "\x00" not in last
    assert not last.startswith(".")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", last), last
    return last


def put(client, plan: dict, content: bytes):
    upload_url = plan["uploadUrl"]
    return client.generic(upload_url["method"], upload_url["url"], content, content_type="application/octet-stream")


def upload_as(client, model, field: str, filename: str, content: bytes, do_put: bool = True) -> str:
    response = request_plan(client, fieldId=field_id(model, field), filename=filename, size=len(content))
    assert response.status_code == 200, response.content
    plan = response.json()
    if do_put:
        assert put(client, plan, content).status_code == 201
    return plan["key"]


def value(key: str, name: str = "report.pdf", **extra) -> str:
    return json.dumps({"key": key, "name": name, **extra})


def user_with(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(username, password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def existing_document() -> Document:
    """A saved Document on a final (non-temporary) key, created without going through the upload flow."""
    name = default_storage.save("documents/existing.pdf", ContentFile(PDF_BYTES))
    return Document.objects.create(title="Existing", file=name)


@pytest.fixture
def adder(django_user_model):
    """May create documents but not change or view them."""
    return user_with(django_user_model, "carol", "add_document")


# 1. The upload-plan endpoint.


@pytest.mark.parametrize("method", ["get", "post"])
def test_plan_without_field_id_is_400_naming_field_id(logged_in, method):
    response = request_plan(logged_in, method, filename="report.pdf")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"fieldId"}
    assert isinstance(body["fieldId"], list) and body["fieldId"]
    assert not AsyncTempFile.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("bad_id", ["nope", "0000000000000000.0000000000000000.file", "", " "])
def test_plan_with_unknown_field_id_is_400_unknown_field_id(logged_in, method, bad_id):
    response = request_plan(logged_in, method, fieldId=bad_id, filename="report.pdf")
    assert response.status_code == 400
    if bad_id.strip():
        assert response.json() == {"fieldId": ["Unknown fieldId"]}
    else:
        assert "fieldId" in response.json()
    assert not AsyncTempFile.objects.exists()


def test_field_of_another_registry_is_unknown_to_the_default_endpoint(logged_in):
    response = request_plan(logged_in, fieldId=field_id(Avatar, "image"), filename="me.png")
    assert response.status_code == 400
    assert response.json() == {"fieldId": ["Unknown fieldId"]}


@pytest.mark.parametrize("method", ["get", "post"])
def test_plan_accepts_snake_case_field_id(logged_in, method):
    response = request_plan(logged_in, method, field_id=field_id(Document, "file"), filename="report.pdf")
    assert response.status_code == 200, response.content
    key = response.json()["key"]
    assert_safe_temporary_key(key)
    assert AsyncTempFile.objects.get(key=key).field_id == field_id(Document, "file")


@pytest.mark.parametrize("method", ["get", "post"])
def test_plan_without_filename_is_400_naming_filename(logged_in, method):
    response = request_plan(logged_in, method, fieldId=field_id(Document, "file"))
    assert response.status_code == 400
    assert "filename" in response.json()
    assert not AsyncTempFile.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("instance_id", ["abc", "1.5", "-", "99999", "99999999999999999999999999", "1 OR 1=1"])
def test_plan_with_malformed_or_unknown_instance_id_is_400(logged_in, existing_document, method, instance_id):
    response = request_plan(
        logged_in, method, fieldId=field_id(Document, "file"), filename="report.pdf", instanceId=instance_id
    )
    assert response.status_code == 400
    assert "instanceId" in response.json()
    assert not AsyncTempFile.objects.exists()


@pytest.mark.parametrize("instance_id", ["not-a-uuid", "12345", "0f0f0f0f-zzzz-4000-8000-000000000000"])
def test_plan_with_malformed_uuid_instance_id_is_400(logged_in, instance_id):
    response = request_plan(
        logged_in, "post", OTHER_PLAN_URL, fieldId=field_id(Avatar, "image"), filename="me.png", instanceId=instance_id
    )
    assert response.status_code == 400
    assert "instanceId" in response.json()
    assert not AsyncTempFile.objects.exists()


def test_plan_with_unknown_uuid_instance_id_is_400(logged_in):
    response = request_plan(
        logged_in,
        "get",
        OTHER_PLAN_URL,
        fieldId=field_id(Avatar, "image"),
        filename="me.png",
        instanceId="0f0f0f0f-0000-4000-8000-000000000000",
    )
    assert response.status_code == 400
    assert "instanceId" in response.json()


@pytest.mark.parametrize("params", ["{not json", "[1, 2]", '"text"', "42", "null", "[" * 50_000])
def test_plan_with_bad_params_is_400_naming_params(logged_in, params):
    response = attachment_plan(logged_in, "report.pdf", params=params)
    assert response.status_code == 400
    assert "params" in response.json()
    assert not AsyncTempFile.objects.exists()


def test_plan_with_json_object_params_is_accepted(logged_in):
    response = attachment_plan(logged_in, "report.pdf", params='{"a": 1}')
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "filename, expected_tail",
    [
        ("../../etc/passwd", "-passwd"),
        ("../report.pdf", "-report.pdf"),
        ("/etc/passwd", "-passwd"),
        ("..\\..\\windows\\system32\\evil.pdf", "-evil.pdf"),
        ("C:\\Users\\me\\report.pdf", "-report.pdf"),
        ("a/b/../../c.pdf", "-c.pdf"),
        ("./.hidden.pdf", "-hidden.pdf"),
        ("evil\u202efdp.exe", "-evilfdp.exe"),
        ("report final (1).pdf", "-report_final__1.pdf"),
    ],
)
def test_plan_reduces_path_like_filenames_to_a_safe_last_component(logged_in, method, filename, expected_tail):
    response = attachment_plan(logged_in, filename, method)
    assert response.status_code == 200, response.content
    key = response.json()["key"]
    last = assert_safe_temporary_key(key)
    assert last.endswith(expected_tail)
    # The stored original name is also free of directories.
    original = AsyncTempFile.objects.get(key=key).original_filename
    assert "/" not in original and "\\" not in original and ".." not in original


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "filename",
    ["a\x00b.pdf", "\x00", "report.pdf\x00.exe", "a\nb.pdf", "a\rb.pdf", "a\tb.pdf", "\x1b[31mred.pdf", "del\x7f.pdf"],
)
def test_plan_refuses_control_characters_in_filename_with_400(logged_in, method, filename):
    response = attachment_plan(logged_in, filename, method)
    assert response.status_code == 400
    assert "filename" in response.json()
    assert not AsyncTempFile.objects.exists()


@pytest.mark.parametrize("field", ["fieldId", "contentType", "instanceId"])
def test_plan_refuses_nul_in_other_parameters_with_400(logged_in, field):
    data = {"fieldId": field_id(Attachment, "other"), "filename": "report.pdf", field: "x\x00y"}
    response = logged_in.post(PLAN_URL, data)
    assert response.status_code == 400
    assert field in response.json()
    assert not AsyncTempFile.objects.exists()


@pytest.mark.parametrize("filename", ["..", ".", "...", " . . ", "/", "../", "..\\..", "\u202e", "   "])
def test_plan_refuses_filenames_with_nothing_usable_left(logged_in, filename):
    response = attachment_plan(logged_in, filename)
    assert response.status_code == 400
    assert "filename" in response.json()
    assert not AsyncTempFile.objects.exists()


def test_plan_with_1000_character_filename_truncates_key_to_fit_and_keeps_extension(logged_in):
    filename = "x" * 996 + ".pdf"
    response = request_plan(logged_in, fieldId=field_id(Document, "file"), filename=filename)
    assert response.status_code == 200, response.content
    key = response.json()["key"]
    assert_safe_temporary_key(key)
    assert key.endswith("xxx.pdf")
    assert len(key) <= Document._meta.get_field("file").max_length
    assert len(AsyncTempFile.objects.get(key=key).original_filename) <= 255


def test_plan_with_1000_character_filename_fits_a_60_character_field(logged_in):
    response = request_plan(logged_in, fieldId=field_id(ShortKey, "file"), filename="y" * 996 + ".pdf")
    assert response.status_code == 200, response.content
    key = response.json()["key"]
    assert_safe_temporary_key(key)
    assert len(key) <= 60
    assert key.endswith("y.pdf")


def test_plan_for_a_non_latin_filename_keeps_the_extension_in_the_key(logged_in):
    response = request_plan(logged_in, fieldId=field_id(Document, "file"), filename="日本語.pdf")
    assert response.status_code == 200, response.content
    key = response.json()["key"]
    assert_safe_temporary_key(key)
    assert key.endswith(".pdf"), key
    assert AsyncTempFile.objects.get(key=key).original_filename == "日本語.pdf"


def test_plan_with_extension_too_long_for_the_field_is_400(logged_in):
    response = request_plan(logged_in, fieldId=field_id(ShortKey, "file"), filename="a." + "b" * 40)
    assert response.status_code == 400
    assert "filename" in response.json()
    assert not AsyncTempFile.objects.exists()


def test_plan_with_absurdly_long_filename_is_400(logged_in):
    response = attachment_plan(logged_in, "z" * 5000 + ".pdf")
    assert response.status_code == 400
    assert "filename" in response.json()


def test_plan_with_declared_size_over_max_size_is_400_naming_size(logged_in):
    over = 1024 * 1024 + 1
    response = request_plan(logged_in, fieldId=field_id(Attachment, "file"), filename="report.pdf", size=over)
    assert response.status_code == 400
    assert "size" in response.json()
    assert not AsyncTempFile.objects.exists()


def test_plan_with_declared_size_exactly_max_size_is_accepted(logged_in):
    response = request_plan(logged_in, fieldId=field_id(Attachment, "file"), filename="report.pdf", size=1024 * 1024)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("size", ["-1", "abc", "1.5", "9" * 5000, "1e3"])
def test_plan_with_malformed_size_is_400_naming_size(logged_in, size):
    response = attachment_plan(logged_in, "report.pdf", size=size)
    assert response.status_code == 400
    assert "size" in response.json()


def test_plan_with_huge_declared_size_for_a_field_without_limit_is_400(logged_in, monkeypatch):
    monkeypatch.setattr(Attachment._meta.get_field("other"), "max_size", None)
    response = attachment_plan(logged_in, "report.pdf", size=str(10**30))
    assert response.status_code == 400, response.content
    assert "size" in response.json()
    assert not AsyncTempFile.objects.exists()


@pytest.mark.parametrize(
    "model, field, filename, content_type",
    [
        (Attachment, "file", "program.exe", ""),
        (Attachment, "file", "report.docx", "application/pdf"),
        (Attachment, "file", "report", ""),
        (Document, "file", "archive.zip", "application/zip"),
        (Document, "image", "report.pdf", "application/pdf"),
    ],
)
def test_plan_with_disallowed_declared_type_is_400(logged_in, model, field, filename, content_type):
    data = {"fieldId": field_id(model, field), "filename": filename}
    if content_type:
        data["contentType"] = content_type
    response = logged_in.post(PLAN_URL, data)
    assert response.status_code == 400
    assert "filename" in response.json()
    assert not AsyncTempFile.objects.exists()


def test_plan_without_create_permission_is_403(client_for, django_user_model):
    nobody = user_with(django_user_model, "dave")
    response = request_plan(client_for(nobody), fieldId=field_id(Document, "file"), filename="report.pdf")
    assert response.status_code == 403
    assert not AsyncTempFile.objects.exists()


def test_plan_for_an_existing_record_needs_change_permission(client_for, adder, existing_document):
    client = client_for(adder)
    create = request_plan(client, fieldId=field_id(Document, "file"), filename="report.pdf")
    assert create.status_code == 200, create.content
    update = request_plan(
        client, fieldId=field_id(Document, "file"), filename="report.pdf", instanceId=str(existing_document.pk)
    )
    assert update.status_code == 403
    assert AsyncTempFile.objects.count() == 1


def test_plan_for_an_existing_record_with_change_permission_is_accepted(logged_in, existing_document):
    response = request_plan(
        logged_in, fieldId=field_id(Document, "file"), filename="report.pdf", instanceId=str(existing_document.pk)
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_plan_for_a_permission_checked_field_is_403(client, method):
    response = request_plan(client, method, fieldId=field_id(Document, "file"), filename="report.pdf")
    assert response.status_code == 403
    assert not AsyncTempFile.objects.exists()


def test_pending_upload_cap_answers_429_on_the_next_plan(logged_in, client_for, other_user, settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"MAX_PENDING_UPLOADS": 2}}
    assert attachment_plan(logged_in, "one.pdf").status_code == 200
    assert attachment_plan(logged_in, "two.pdf").status_code == 200
    third = attachment_plan(logged_in, "three.pdf")
    assert third.status_code == 429
    assert AsyncTempFile.objects.count() == 2
    # The cap is per user: somebody else can still plan.
    assert attachment_plan(client_for(other_user), "four.pdf").status_code == 200


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_plan_endpoint_refuses_other_methods_with_405(logged_in, method):
    response = getattr(logged_in, method)(PLAN_URL)
    assert response.status_code == 405


# 4. Form values posted to the create and edit pages.


def test_create_and_edit_pages_render(logged_in, existing_document):
    """The pages the form tests below re-render on error must themselves render."""
    assert logged_in.get(CREATE_URL).status_code == 200
    assert logged_in.get(f"/documents/{existing_document.pk}/edit/").status_code == 200


def post_create(client, file_value: str | None, **extra):
    data = {"title": "New", "image": "", **extra}
    if file_value is not None:
        data["file"] = file_value
    return client.post(CREATE_URL, data)


def post_edit(client, document: Document, file_value: str | None, **extra):
    data = {"title": "Changed", "image": "", **extra}
    if file_value is not None:
        data["file"] = file_value
    return client.post(f"/documents/{document.pk}/edit/", data)


def assert_file_error(response, code: str) -> str:
    """A re-rendered form with exactly one error, on ``file``, with the given code; returns the message."""
    assert response.status_code == 200, response.content[:2000]
    form = response.context["form"]
    errors = form.errors.as_data()
    assert list(errors) == ["file"], form.errors
    assert [error.code for error in errors["file"]] == [code], form.errors
    return form.errors["file"][0]


MALFORMED_VALUES = [
    ("not json", "invalid_json"),
    ("{'key': 'x', 'name': 'y'}", "invalid_json"),
    ("[" * 50_000, "invalid_json"),
    ("42", "invalid_shape"),
    ("0", "invalid_shape"),
    ("true", "invalid_shape"),
    ('["async-temp-files/2026/01/01/abc-x.pdf"]', "invalid_shape"),
    ('"async-temp-files/2026/01/01/abc-x.pdf"', "invalid_shape"),
    ('{"key": "documents/existing.pdf"}', "invalid_shape"),
    ('{"name": "report.pdf"}', "invalid_shape"),
    ('{"key": 5, "name": "report.pdf"}', "invalid_shape"),
    ('{"key": "", "name": "report.pdf"}', "invalid_shape"),
    ('{"key": "documents/existing.pdf", "name": "a.pdf", "width": "10"}', "invalid_shape"),
    ('{"key": "documents/existing.pdf", "name": "a.pdf", "width": true}', "invalid_shape"),
    ('{"key": "documents/existing.pdf", "name": "a.pdf", "error": 3}', "invalid_shape"),
    ('{"key": "documents/existing.pdf", "name": "a.pdf", "owner": "me"}', "unknown_keys"),
    ('{"key": "documents/existing.pdf", "name": "a.pdf", "__proto__": {}}', "unknown_keys"),
    ('{"key": "documents/existing.pdf", "name": "a.pdf", "error": "Network failure"}', "upload_error"),
    (json.dumps({"key": "async-temp-files/" + "a" * 600, "name": "a.pdf"}), "too_long"),
    (json.dumps({"key": "documents/x.pdf", "name": "n" * 5000}), "too_long"),
    (json.dumps({"key": "async-temp-files/2026/01/01/a\x00b.pdf", "name": "x.pdf"}), "invalid_shape"),
    (json.dumps({"key": "documents/a\x00b.pdf", "name": "x.pdf"}), "invalid_shape"),
]


@pytest.mark.parametrize("file_value, code", MALFORMED_VALUES)
def test_create_form_with_malformed_file_value_shows_error_and_creates_nothing(logged_in, file_value, code):
    files_before = media_files()
    response = post_create(logged_in, file_value)
    assert_file_error(response, code)
    assert not Document.objects.exists()
    assert media_files() == files_before


@pytest.mark.parametrize("file_value, code", MALFORMED_VALUES)
def test_edit_form_with_malformed_file_value_shows_error_and_changes_nothing(
    logged_in, existing_document, file_value, code
):
    rows_before, files_before = document_rows(), media_files()
    response = post_edit(logged_in, existing_document, file_value)
    assert_file_error(response, code)
    assert document_rows() == rows_before
    assert media_files() == files_before
    assert read("documents/existing.pdf") == PDF_BYTES


def test_rerendered_form_does_not_echo_client_markup_or_urls(logged_in, existing_document):
    hostile = json.dumps(
        {"key": "documents/other.pdf", "name": "<script>alert(1)</script>", "url": "javascript:alert(2)"}
    )
    response = post_edit(logged_in, existing_document, hostile)
    assert_file_error(response, "not_current")
    assert b"<script>alert(1)" not in response.content
    assert b"javascript:alert(2)" not in response.content


def test_error_value_in_form_shows_the_reported_error(logged_in):
    response = post_create(logged_in, value("documents/x.pdf", error="Network failure"))
    message = assert_file_error(response, "upload_error")
    assert "Network failure" in message


@pytest.mark.parametrize("file_value", [None, "", '""', "null"])
def test_create_form_without_file_value_is_a_required_error(logged_in, file_value):
    response = post_create(logged_in, file_value)
    assert_file_error(response, "required")
    assert not Document.objects.exists()


@pytest.mark.parametrize("file_value", [None, ""])
def test_edit_form_without_file_value_is_a_required_error_and_keeps_the_file(logged_in, existing_document, file_value):
    rows_before = document_rows()
    response = post_edit(logged_in, existing_document, file_value)
    assert_file_error(response, "required")
    assert document_rows() == rows_before
    assert read("documents/existing.pdf") == PDF_BYTES


def test_key_uploaded_for_another_field_is_refused(logged_in):
    image_key = upload_as(logged_in, Document, "image", "pic.png", png_bytes())
    files_before = media_files()
    response = post_create(logged_in, value(image_key, "pic.png"))
    assert_file_error(response, "unknown_upload")
    assert not Document.objects.exists()
    assert media_files() == files_before


def test_key_uploaded_for_file_is_refused_as_image(logged_in):
    file_key = upload_as(logged_in, Document, "file", "pic.png", png_bytes())
    response = logged_in.post(CREATE_URL, {"title": "New", "file": "", "image": value(file_key, "pic.png")})
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert "image" in errors
    assert "unknown_upload" in [error.code for error in errors["image"]]
    assert not Document.objects.exists()


def test_another_users_key_is_refused_and_their_upload_is_kept(logged_in, client_for, other_user):
    their_key = upload_as(client_for(other_user), Document, "file", "theirs.pdf", PDF_BYTES)
    rows_before, files_before = temp_rows(), media_files()
    response = post_create(logged_in, value(their_key, "theirs.pdf"))
    assert_file_error(response, "unknown_upload")
    assert not Document.objects.exists()
    assert temp_rows() == rows_before
    assert media_files() == files_before
    assert read(their_key) == PDF_BYTES


def test_another_users_key_is_refused_on_edit(logged_in, client_for, other_user, existing_document):
    their_key = upload_as(client_for(other_user), Document, "file", "theirs.pdf", PDF_BYTES)
    rows_before = document_rows()
    response = post_edit(logged_in, existing_document, value(their_key, "theirs.pdf"))
    assert_file_error(response, "unknown_upload")
    assert document_rows() == rows_before
    assert read(their_key) == PDF_BYTES


def test_planned_but_never_uploaded_key_is_refused(logged_in):
    key = upload_as(logged_in, Document, "file", "report.pdf", PDF_BYTES, do_put=False)
    response = post_create(logged_in, value(key))
    assert_file_error(response, "missing")
    assert not Document.objects.exists()
    assert media_files() == {}


def test_planned_but_never_uploaded_key_is_refused_on_edit(logged_in, existing_document):
    key = upload_as(logged_in, Document, "file", "report.pdf", PDF_BYTES, do_put=False)
    rows_before = document_rows()
    response = post_edit(logged_in, existing_document, value(key))
    assert_file_error(response, "missing")
    assert document_rows() == rows_before


@pytest.mark.parametrize(
    "key",
    [
        "async-temp-files/2026/01/01/abc-x.pdf",
        "async-temp-files/../documents/existing.pdf",
        "async-temp-files/2026/01/01/../../../documents/existing.pdf",
    ],
)
def test_made_up_temporary_key_is_refused(logged_in, existing_document, key):
    rows_before, files_before = document_rows(), media_files()
    response = post_create(logged_in, value(key, "x.pdf"))
    assert_file_error(response, "unknown_upload")
    assert document_rows() == rows_before
    assert media_files() == files_before


def test_made_up_temporary_key_is_refused_even_when_the_object_exists(logged_in):
    key = "async-temp-files/2026/01/01/abc-x.pdf"
    default_storage.save(key, ContentFile(PDF_BYTES))
    response = post_create(logged_in, value(key, "x.pdf"))
    assert_file_error(response, "unknown_upload")
    assert not Document.objects.exists()


def test_made_up_temporary_key_is_refused_on_edit(logged_in, existing_document):
    rows_before = document_rows()
    response = post_edit(logged_in, existing_document, value("async-temp-files/2026/01/01/abc-x.pdf", "x.pdf"))
    assert_file_error(response, "unknown_upload")
    assert document_rows() == rows_before


@pytest.mark.parametrize("key", ["documents/other.pdf", "documents/missing.pdf", "/etc/passwd", "../settings.py"])
def test_non_temporary_key_is_refused_on_create(logged_in, key):
    other = Document.objects.create(
        title="Other", file=default_storage.save("documents/other.pdf", ContentFile(PDF_BYTES))
    )
    rows_before, files_before = document_rows(), media_files()
    response = post_create(logged_in, value(key, "other.pdf"))
    assert_file_error(response, "not_current")
    assert document_rows() == rows_before
    assert media_files() == files_before
    assert Document.objects.get().pk == other.pk


@pytest.mark.parametrize("key", ["documents/other.pdf", "documents/missing.pdf", "/etc/passwd"])
def test_non_temporary_key_that_is_not_the_current_value_is_refused_on_edit(logged_in, existing_document, key):
    Document.objects.create(title="Other", file=default_storage.save("documents/other.pdf", ContentFile(b"other")))
    rows_before, files_before = document_rows(), media_files()
    response = post_edit(logged_in, existing_document, value(key, "other.pdf"))
    assert_file_error(response, "not_current")
    assert document_rows() == rows_before
    assert media_files() == files_before


def test_edit_form_with_its_own_current_key_saves_without_touching_the_file(logged_in, existing_document):
    response = post_edit(logged_in, existing_document, value("documents/existing.pdf", "existing.pdf"))
    assert response.status_code == 302
    existing_document.refresh_from_db()
    assert existing_document.title == "Changed"
    assert existing_document.file.name == "documents/existing.pdf"
    assert read("documents/existing.pdf") == PDF_BYTES


def test_zip_named_pdf_is_refused_for_its_content_and_deleted(logged_in):
    key = upload_as(logged_in, Document, "file", "report.pdf", ZIP_BYTES)
    assert default_storage.exists(key)
    response = post_create(logged_in, value(key))
    message = assert_file_error(response, "content_mismatch")
    assert "is not a PDF document (it looks like a ZIP archive)" in message
    assert not Document.objects.exists()
    assert not default_storage.exists(key)
    assert not AsyncTempFile.objects.filter(key=key).exists()


def test_png_named_pdf_is_refused_for_its_content_although_images_are_allowed(logged_in):
    # Document.file allows .pdf, .txt and image/*: a PNG would pass, but not one that claims to be a PDF.
    key = upload_as(logged_in, Document, "file", "scan.pdf", png_bytes())
    message = assert_file_error(post_create(logged_in, value(key, "scan.pdf")), "content_mismatch")
    assert message == "The content of “scan.pdf” is not a PDF document (it looks like a PNG image)."
    assert not default_storage.exists(key)


def test_content_of_a_type_the_field_does_not_take_is_refused_as_not_allowed(logged_in):
    # No extension to contradict: the ZIP content itself is what the field refuses.
    response = request_plan(
        logged_in, fieldId=field_id(Document, "file"), filename="scan", size=len(ZIP_BYTES), contentType="image/png"
    )
    assert response.status_code == 200, response.content
    plan = response.json()
    assert put(logged_in, plan, ZIP_BYTES).status_code == 201
    message = assert_file_error(post_create(logged_in, value(plan["key"], "scan")), "invalid_type")
    assert message == "This type of file is not allowed. Allowed types: .pdf, .txt, image/*."


def test_zip_named_pdf_is_refused_on_edit_and_the_record_keeps_its_file(logged_in, existing_document):
    key = upload_as(logged_in, Document, "file", "report.pdf", ZIP_BYTES)
    rows_before = document_rows()
    response = post_edit(logged_in, existing_document, value(key))
    assert "not a PDF document" in assert_file_error(response, "content_mismatch")
    assert document_rows() == rows_before
    assert read("documents/existing.pdf") == PDF_BYTES
    assert not default_storage.exists(key)


def test_refused_upload_cannot_be_submitted_again(logged_in):
    key = upload_as(logged_in, Document, "file", "report.pdf", ZIP_BYTES)
    assert_file_error(post_create(logged_in, value(key)), "content_mismatch")
    assert_file_error(post_create(logged_in, value(key)), "unknown_upload")
    assert not Document.objects.exists()


def test_client_chosen_name_is_ignored_for_a_verified_upload(logged_in):
    """The name in the submitted value is not trusted; the name given when planning is the one kept."""
    key = upload_as(logged_in, Document, "file", "report.pdf", PDF_BYTES)
    # This test runs inside the test transaction, so promotion (an on_commit callback) does not run here.
    response = post_create(logged_in, value(key, "../../evil.exe"))
    assert response.status_code == 302
    assert Document.objects.get().file.name == key
    assert AsyncTempFile.objects.get(key=key).original_filename == "report.pdf"


# 5. Duplicate submissions.


@pytest.mark.django_db(transaction=True)
def test_second_create_with_the_same_key_is_rejected(logged_in):
    key = upload_as(logged_in, Document, "file", "report.pdf", PDF_BYTES)
    first = post_create(logged_in, value(key), title="First")
    assert first.status_code == 302, first.content[:2000]
    doc = Document.objects.get()
    assert doc.file.name == "documents/report.pdf"

    files_before = media_files()
    second = post_create(logged_in, value(key), title="Second")
    assert_file_error(second, "already_used")
    assert list(Document.objects.values_list("pk", flat=True)) == [doc.pk]
    assert media_files() == files_before
    assert read(doc.file.name) == PDF_BYTES


@pytest.mark.django_db(transaction=True)
def test_promoted_key_is_refused_on_another_records_edit_form(logged_in, existing_document):
    key = upload_as(logged_in, Document, "file", "report.pdf", PDF_BYTES)
    assert post_create(logged_in, value(key), title="First").status_code == 302
    rows_before = document_rows()
    response = post_edit(logged_in, existing_document, value(key))
    assert_file_error(response, "already_used")
    assert document_rows() == rows_before
    assert read("documents/existing.pdf") == PDF_BYTES


@pytest.mark.django_db(transaction=True)
def test_resubmitted_edit_form_keeps_the_record_on_its_promoted_file(logged_in, existing_document):
    key = upload_as(logged_in, Document, "file", "new.pdf", PDF_BYTES + b"new")
    first = post_edit(logged_in, existing_document, value(key, "new.pdf"))
    assert first.status_code == 302, first.content[:2000]
    existing_document.refresh_from_db()
    promoted = existing_document.file.name
    assert promoted == "documents/new.pdf"

    again = post_edit(logged_in, existing_document, value(key, "new.pdf"), title="Changed again")
    assert again.status_code == 302, again.content[:2000]
    existing_document.refresh_from_db()
    assert existing_document.title == "Changed again"
    assert existing_document.file.name == promoted
    assert read(promoted) == PDF_BYTES + b"new"
    assert not default_storage.exists(key)
    assert Document.objects.count() == 1
    assert AsyncTempFile.objects.get(key=key).moved_to_location == promoted


@pytest.mark.django_db(transaction=True)
def test_two_creates_verified_before_either_commits_never_share_a_file(logged_in):
    """A double-clicked submit with ATOMIC_REQUESTS: both requests validate before the first one commits.

    Simulated by running both requests inside one transaction, so neither promotion has happened when the second
    form is validated.
    """
    key = upload_as(logged_in, Document, "file", "report.pdf", PDF_BYTES)
    with transaction.atomic():
        first = post_create(logged_in, value(key), title="First")
        post_create(logged_in, value(key), title="Second")
    assert first.status_code == 302
    documents = list(Document.objects.order_by("pk"))
    names = [doc.file.name for doc in documents]
    assert len(set(names)) == len(names), names
    for doc in documents:
        assert default_storage.exists(doc.file.name), doc.file.name
