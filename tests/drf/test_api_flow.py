"""The whole flow from an HTTP client without a browser: plan -> upload -> create/update through the API ->
promotion -> the API's url downloads the bytes. Filesystem backend, demo API (gallery/api.py)."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
import pytest

from alliance_platform.storage.async_uploads.models import AsyncTempFile
from gallery.models import Document
from tests.conftest import PDF_BYTES, field_id, png_bytes, read

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/documents/"
PLAN_URL = "/async-uploads/generate-upload-url/"
OTHER_PDF = b"%PDF-1.7\n" + b"1" * 3000 + b"\n%%EOF\n"


def download(client, url: str) -> bytes:
    """Follow the API's url: the download endpoint checks permission, then redirects to the file."""
    redirect = client.get(url)
    assert redirect.status_code == 302, redirect.content
    served = client.get(redirect["Location"])
    assert served.status_code == 200
    return b"".join(served.streaming_content)


def test_create_through_the_api_promotes_and_returns_a_downloadable_url(api, upload):
    file_upload = upload(api, Document, "file", "report.pdf", PDF_BYTES)
    assert file_upload.put_status == 201

    response = api.post(API, {"title": "Report", "file": {"key": file_upload.key, "name": "report.pdf"}}, format="json")

    assert response.status_code == 201, response.content
    doc = Document.objects.get()
    assert doc.file.name.startswith("documents/report")
    assert read(doc.file.name) == PDF_BYTES
    assert not default_storage.exists(file_upload.key), "the temporary object is removed after promotion"
    body = response.json()
    assert set(body["file"]) == {"key", "name", "url"}
    assert body["file"]["key"] == doc.file.name
    assert body["file"]["name"] == doc.file.name.rsplit("/", 1)[-1]
    assert body["file"]["url"].startswith("http://testserver/async-uploads/download-file/?")
    assert body["image"] is None
    assert download(api, body["file"]["url"]) == PDF_BYTES


def test_list_and_retrieve_return_the_same_object(api, upload):
    file_upload = upload(api, Document, "file", "report.pdf", PDF_BYTES)
    created = api.post(API, {"title": "T", "file": {"key": file_upload.key, "name": "report.pdf"}}, format="json")
    doc = Document.objects.get()
    listed = api.get(API).json()
    detail = api.get(f"{API}{doc.pk}/").json()
    assert listed == [detail]
    assert detail["file"] == created.json()["file"]


def test_update_with_instance_id_replaces_the_file(api, upload):
    first = upload(api, Document, "file", "report.pdf", PDF_BYTES)
    api.post(API, {"title": "T", "file": {"key": first.key, "name": "report.pdf"}}, format="json")
    doc = Document.objects.get()
    old_key = doc.file.name

    second = upload(api, Document, "file", "v2.pdf", OTHER_PDF, instanceId=str(doc.pk))
    assert second.put_status == 201
    response = api.patch(f"{API}{doc.pk}/", {"file": {"key": second.key, "name": "v2.pdf"}}, format="json")

    assert response.status_code == 200, response.content
    doc.refresh_from_db()
    assert doc.file.name.startswith("documents/v2") and doc.file.name != old_key
    assert read(doc.file.name) == OTHER_PDF
    assert response.json()["file"]["key"] == doc.file.name
    assert download(api, response.json()["file"]["url"]) == OTHER_PDF
    assert AsyncTempFile.objects.get(key=second.key).moved_to_location == doc.file.name


def test_sending_back_the_current_value_keeps_the_file(api, upload):
    file_upload = upload(api, Document, "file", "report.pdf", PDF_BYTES)
    created = api.post(API, {"title": "T", "file": {"key": file_upload.key, "name": "report.pdf"}}, format="json")
    doc = Document.objects.get()
    current = created.json()["file"]  # includes "url", which is accepted back and ignored

    response = api.put(f"{API}{doc.pk}/", {"title": "Renamed", "file": current}, format="json")

    assert response.status_code == 200, response.content
    doc.refresh_from_db()
    assert (doc.title, doc.file.name) == ("Renamed", current["key"])


def test_update_plan_without_change_permission_is_403(api_client_for, django_user_model, user, upload):
    owner_api = api_client_for(user)
    file_upload = upload(owner_api, Document, "file", "report.pdf", PDF_BYTES)
    owner_api.post(API, {"title": "T", "file": {"key": file_upload.key, "name": "report.pdf"}}, format="json")
    doc = Document.objects.get()
    adder = django_user_model.objects.create_user("carol", password="pw")
    adder.user_permissions.add(*Permission.objects.filter(codename__in=["add_document", "view_document"]))
    client = api_client_for(adder)

    create_plan = client.post(PLAN_URL, {"fieldId": field_id(Document, "file"), "filename": "new.pdf"})
    update_plan = client.post(
        PLAN_URL, {"fieldId": field_id(Document, "file"), "filename": "new.pdf", "instanceId": str(doc.pk)}
    )

    assert create_plan.status_code == 200, "adding is allowed"
    assert update_plan.status_code == 403, "perm_update is checked against the record named by instanceId"
    # The API itself refuses the update too (DjangoModelPermissions), whatever key is sent.
    key = create_plan.json()["key"]
    patch = client.patch(f"{API}{doc.pk}/", {"file": {"key": key, "name": "new.pdf"}}, format="json")
    assert patch.status_code == 403
    doc.refresh_from_db()
    assert doc.file.name.startswith("documents/report")


def test_update_plan_with_object_permission_only_is_accepted(api_client_for, django_user_model, upload, settings):
    """perm_update is checked for the record: an object-permission backend may grant it for this record only."""
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "tests.drf.test_api_flow.ChangeOwnDocumentBackend",
    ]
    user = django_user_model.objects.create_user("erin", password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_document", "view_document"]))
    client = api_client_for(user)
    file_upload = upload(client, Document, "file", "report.pdf", PDF_BYTES)
    client.post(API, {"title": "mine", "file": {"key": file_upload.key, "name": "report.pdf"}}, format="json")
    mine = Document.objects.get()
    theirs = Document.objects.create(title="theirs", file=mine.file.name)

    def plan(doc):
        data = {"fieldId": field_id(Document, "file"), "filename": "v2.pdf", "instanceId": str(doc.pk)}
        return client.post(PLAN_URL, data)

    assert plan(mine).status_code == 200
    assert plan(theirs).status_code == 403


class ChangeOwnDocumentBackend:
    """Grants ``gallery.change_document`` for documents titled "mine" only (like django-rules would)."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        return perm == "gallery.change_document" and isinstance(obj, Document) and obj.title == "mine"


def test_image_dimensions_come_from_the_server(api, upload):
    file_upload = upload(api, Document, "file", "report.pdf", PDF_BYTES)
    image_upload = upload(api, Document, "image", "pic.png", png_bytes(37, 23))
    payload = {
        "title": "T",
        "file": {"key": file_upload.key, "name": "report.pdf"},
        "image": {"key": image_upload.key, "name": "pic.png", "width": 5000, "height": 1},
    }

    response = api.post(API, payload, format="json")

    assert response.status_code == 201, response.content
    doc = Document.objects.get()
    assert (doc.image_width, doc.image_height) == (37, 23)
    assert (response.json()["image_width"], response.json()["image_height"]) == (37, 23)
    assert doc.image.name.startswith("images/pic")
    assert download(api, response.json()["image"]["url"]) == png_bytes(37, 23)


def test_replacing_and_clearing_an_image_updates_the_dimensions(api, upload):
    file_upload = upload(api, Document, "file", "report.pdf", PDF_BYTES)
    image_upload = upload(api, Document, "image", "pic.png", png_bytes(37, 23))
    api.post(
        API,
        {
            "title": "T",
            "file": {"key": file_upload.key, "name": "report.pdf"},
            "image": {"key": image_upload.key, "name": "pic.png"},
        },
        format="json",
    )
    doc = Document.objects.get()
    bigger = upload(api, Document, "image", "big.png", png_bytes(64, 48), instanceId=str(doc.pk))

    replaced = api.patch(f"{API}{doc.pk}/", {"image": {"key": bigger.key, "name": "big.png"}}, format="json")
    assert replaced.status_code == 200, replaced.content
    doc.refresh_from_db()
    assert (doc.image_width, doc.image_height) == (64, 48)

    cleared = api.patch(f"{API}{doc.pk}/", {"image": None}, format="json")
    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["image"] is None
    doc.refresh_from_db()
    assert (doc.image.name, doc.image_width, doc.image_height) == ("", None, None)
    assert doc.file.name.startswith("documents/report"), "a partial update leaves the other field alone"


def test_multipart_form_requests_take_the_value_as_json(api, upload):
    """The browsable API and form-encoded clients send the same object as a JSON string."""
    file_upload = upload(api, Document, "file", "report.pdf", PDF_BYTES)
    response = api.post(API, {"title": "T", "file": file_upload.value("report.pdf")}, format="multipart")
    assert response.status_code == 201, response.content
    assert read(Document.objects.get().file.name) == PDF_BYTES


def test_the_demo_api_client_page_renders_the_field_ids(api):
    response = api.get("/api-client/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-file-field-id="{field_id(Document, "file")}"' in html
    assert f'data-image-field-id="{field_id(Document, "image")}"' in html
    assert 'data-plan-url="/async-uploads/generate-upload-url/"' in html
    assert 'data-api-url="/api/documents/"' in html
