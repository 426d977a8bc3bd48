"""No download from GCS carries an active content type a client declared, and downloads stay attachments."""

from __future__ import annotations

from django.test import Client
import pytest
import requests

from tests.cloud_document import plan, submit
from tests.gcs.conftest import post_upload
from tests.gcs.test_gcs_multipart import complete, upload_parts
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


def signed_response_type(client: Client, doc: CloudDocument) -> str:
    """The type the download URL asks GCS to answer with (``response-content-type``, signed into the URL)."""
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(client.get(doc.file.url)["Location"]).query)["response-content-type"][0]


@pytest.mark.parametrize("declared", ["text/html", "image/svg+xml", "application/xml", "text/javascript", "TEXT/HTML"])
def test_a_txt_declared_as_an_active_type_is_neither_planned_nor_stored_as_one(
    client, gcs_storage, gcs_client, gcs_bucket, declared
):
    upload_plan = plan(client, "notes.txt", len(HTML), contentType=declared)
    assert upload_plan["uploadUrl"]["fields"]["Content-Type"] == "application/octet-stream"
    assert post_upload(upload_plan, HTML, "notes.txt").status_code in (200, 201, 204)
    doc = promoted(client, upload_plan, "notes.txt")
    assert gcs_client.bucket(gcs_bucket).get_blob(doc.file.name).content_type == "application/octet-stream"
    assert signed_response_type(client, doc) == "text/plain"
    response = download(client, doc)
    assert response.content == HTML
    assert media_type(response) != "text/html"


def test_a_file_named_as_html_is_downloaded_as_bytes(client, gcs_storage):
    upload_plan = plan(client, "page.html", len(HTML), contentType="text/plain")
    assert post_upload(upload_plan, HTML, "page.html").status_code in (200, 201, 204)
    doc = promoted(client, upload_plan, "page.html")
    assert signed_response_type(client, doc) == "application/octet-stream"
    assert "attachment" in client.get(doc.file.url)["Location"]


def test_a_fields_download_type_goes_through_the_same_rule(client, gcs_storage, monkeypatch):
    field = CloudDocument._meta.get_field("file")
    upload_plan = plan(client, "notes.txt", len(HTML))
    assert post_upload(upload_plan, HTML, "notes.txt").status_code in (200, 201, 204)
    doc = promoted(client, upload_plan, "notes.txt")
    monkeypatch.setattr(field, "download_params", {"ResponseContentType": "text/html; charset=utf-8"})
    assert signed_response_type(client, doc) == "application/octet-stream"
    monkeypatch.setattr(field, "download_params", {"ResponseContentType": "text/csv; charset=utf-8"})
    assert signed_response_type(client, doc) == "text/csv; charset=utf-8", "a harmless type is kept"


def test_an_upload_in_parts_declared_as_html_is_composed_as_bytes(
    client, gcs_storage, gcs_client, gcs_bucket, settings
):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"GCS_MULTIPART_THRESHOLD": 6 * MIB, "GCS_MULTIPART_PART_SIZE": 5 * MIB}}
    content = HTML + b" " * (7 * MIB)
    upload_plan = plan(client, "notes.txt", len(content), contentType="text/html")
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert complete(client, multipart, upload_parts(client, multipart, [1, 2], content=content)).status_code == 200
    assert gcs_client.bucket(gcs_bucket).get_blob(upload_plan["key"]).content_type == "application/octet-stream"
    doc = promoted(client, upload_plan, "notes.txt")
    assert signed_response_type(client, doc) == "text/plain"
