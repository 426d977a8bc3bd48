"""No download from Azure carries an active content type, whatever type the client declared or the headers it
uploaded with (a SAS cannot pin them), and downloads stay attachments."""

from __future__ import annotations

from django.test import Client
import pytest
import requests

from tests.azure.conftest import put_upload
from tests.azure.test_azure_blocks import complete, upload_blocks
from tests.cloud_document import plan, submit
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


def stored_type(blob_service, container: str, name: str) -> str:
    return blob_service.get_blob_client(container, name).get_blob_properties().content_settings.content_type


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


@pytest.mark.parametrize("declared", ["text/html", "image/svg+xml", "application/javascript", 'text/html;x="y"'])
def test_a_txt_declared_as_an_active_type_is_neither_stored_nor_served_as_one(
    client, azure_storage, blob_service, container, declared
):
    upload_plan = plan(client, "notes.txt", len(HTML), contentType=declared)
    assert upload_plan["uploadUrl"]["headers"]["Content-Type"] == "application/octet-stream"
    assert put_upload(upload_plan, HTML).status_code == 201
    assert stored_type(blob_service, container, upload_plan["key"]) == "application/octet-stream"
    response = download(client, promoted(client, upload_plan, "notes.txt"))
    assert response.content == HTML
    assert media_type(response) == "text/plain"
    assert response.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("sent", ["text/html", "image/svg+xml", "application/javascript"])
def test_a_download_never_carries_the_active_type_a_client_uploaded_with(
    client, azure_storage, blob_service, container, sent
):
    upload_plan = plan(client, "notes.txt", len(HTML), contentType="text/plain")
    response = put_upload(upload_plan, HTML, **{"Content-Type": sent, "x-ms-blob-content-type": sent})
    assert response.status_code == 201
    assert stored_type(blob_service, container, upload_plan["key"]) == sent, "the SAS could not stop the header"
    download_response = download(client, promoted(client, upload_plan, "notes.txt"))
    assert media_type(download_response) == "text/plain"
    assert download_response.headers["Content-Disposition"].startswith("attachment")


def test_a_file_named_as_html_is_served_as_bytes(client, azure_storage):
    upload_plan = plan(client, "page.html", len(HTML), contentType="text/plain")
    assert put_upload(upload_plan, HTML).status_code == 201
    response = download(client, promoted(client, upload_plan, "page.html"))
    assert media_type(response) == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_a_fields_download_type_goes_through_the_same_rule(client, azure_storage, monkeypatch):
    field = CloudDocument._meta.get_field("file")
    upload_plan = plan(client, "notes.txt", len(HTML))
    assert put_upload(upload_plan, HTML).status_code == 201
    doc = promoted(client, upload_plan, "notes.txt")
    monkeypatch.setattr(field, "download_params", {"ResponseContentType": "text/html"})
    assert media_type(download(client, doc)) == "application/octet-stream"
    monkeypatch.setattr(field, "download_params", {"content_type": "image/svg+xml"})
    assert media_type(download(client, doc)) == "application/octet-stream"
    monkeypatch.setattr(field, "download_params", {"ResponseContentType": "text/csv"})
    assert media_type(download(client, doc)) == "text/csv", "a harmless type is kept"


def test_a_block_upload_declared_as_html_is_committed_as_bytes(
    client, azure_storage, blob_service, container, settings
):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"AZURE_BLOCK_THRESHOLD": 2 * MIB, "AZURE_BLOCK_SIZE": MIB}}
    content = HTML + b" " * (3 * MIB)
    upload_plan = plan(client, "notes.txt", len(content), contentType="text/html")
    multipart = upload_plan["uploadUrl"]["multipart"]
    ids = upload_blocks(client, multipart, list(range(1, multipart["partCount"] + 1)), content=content)
    assert complete(client, multipart, ids).status_code == 200
    assert stored_type(blob_service, container, upload_plan["key"]) == "application/octet-stream"
    response = download(client, promoted(client, upload_plan, "notes.txt"))
    assert media_type(response) == "text/plain"
    assert response.headers["Content-Disposition"].startswith("attachment")
