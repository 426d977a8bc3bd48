"""No download from S3 carries an active content type a client declared, and downloads stay attachments."""

from __future__ import annotations

from django.test import Client
import pytest
import requests

from tests.cloud_document import plan, submit
from tests.s3.conftest import post_upload
from tests.s3.test_s3_multipart import complete, upload_parts
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
HTML = b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture(autouse=True)
def any_type(monkeypatch):
    field = CloudDocument._meta.get_field("file")
    monkeypatch.setattr(field, "file_restrictions", None)
    monkeypatch.setattr(field, "max_size", 30)


def media_type(response: requests.Response) -> str:
    return response.headers["Content-Type"].split(";")[0].strip().lower()


def download(client: Client, doc: CloudDocument) -> requests.Response:
    """Follow the record's download link the way a browser does."""
    redirect = client.get(doc.file.url)
    assert redirect.status_code == 302, redirect.content
    response = requests.get(redirect["Location"], timeout=30)
    assert response.status_code == 200, response.text
    return response


def promoted(client: Client, upload_plan: dict, filename: str) -> CloudDocument:
    form = submit(client, file={"key": upload_plan["key"], "name": filename})
    assert form.is_valid(), form.errors
    return CloudDocument.objects.get()


@pytest.mark.parametrize("declared", ["text/html", "image/svg+xml", "application/xml", "text/javascript", "TEXT/HTML"])
def test_a_txt_declared_as_an_active_type_is_neither_planned_nor_served_as_one(client, s3_storage, declared):
    upload_plan = plan(client, "notes.txt", len(HTML), contentType=declared)
    assert upload_plan["uploadUrl"]["fields"]["Content-Type"] == "application/octet-stream"
    assert post_upload(upload_plan, HTML, "notes.txt").status_code in (200, 201, 204)
    response = download(client, promoted(client, upload_plan, "notes.txt"))
    assert response.content == HTML
    assert media_type(response) == "text/plain"
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_the_policy_refuses_an_active_type_sent_instead_of_the_planned_one(client, s3_storage, s3_client, bucket):
    upload_plan = plan(client, "notes.txt", len(HTML), contentType="text/html")
    assert post_upload(upload_plan, HTML, **{"Content-Type": "text/html"}).status_code == 403
    assert s3_client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_a_file_named_as_html_is_served_as_bytes(client, s3_storage):
    upload_plan = plan(client, "page.html", len(HTML), contentType="text/plain")
    assert post_upload(upload_plan, HTML, "page.html").status_code in (200, 201, 204)
    response = download(client, promoted(client, upload_plan, "page.html"))
    assert media_type(response) == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_a_fields_download_type_goes_through_the_same_rule(client, s3_storage, monkeypatch):
    field = CloudDocument._meta.get_field("file")
    upload_plan = plan(client, "notes.txt", len(HTML))
    assert post_upload(upload_plan, HTML, "notes.txt").status_code in (200, 201, 204)
    doc = promoted(client, upload_plan, "notes.txt")
    monkeypatch.setattr(field, "download_params", {"ResponseContentType": "text/html; charset=utf-8"})
    assert media_type(download(client, doc)) == "application/octet-stream"
    monkeypatch.setattr(field, "download_params", {"ResponseContentType": "text/csv; charset=utf-8"})
    assert download(client, doc).headers["Content-Type"] == "text/csv; charset=utf-8", "a harmless type is kept"


def test_a_multipart_upload_declared_as_html_is_planned_and_served_as_bytes(client, s3_storage, settings):
    """CreateMultipartUpload names the neutral type. (SeaweedFS then stores a type of its own choosing, sniffed
    from the parts, as it does for POST uploads: which is why every download URL names the type as well.)"""
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"S3_MULTIPART_THRESHOLD": 6 * MIB, "S3_MULTIPART_PART_SIZE": 5 * MIB}}
    sent: list[str | None] = []

    def record(params, **kwargs) -> None:
        sent.append(params.get("ContentType"))

    s3_storage.client.meta.events.register("before-parameter-build.s3.CreateMultipartUpload", record)
    content = HTML + b" " * (7 * MIB)
    upload_plan = plan(client, "notes.txt", len(content), contentType="text/html")
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert sent == ["application/octet-stream"]
    assert complete(client, multipart, upload_parts(client, multipart, [1, 2], content=content)).status_code == 200
    response = download(client, promoted(client, upload_plan, "notes.txt"))
    assert media_type(response) == "text/plain"
    assert response.headers["Content-Disposition"].startswith("attachment")
