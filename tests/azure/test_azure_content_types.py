"""No download from Azure carries an active content type, whatever headers the client uploaded with (a SAS
cannot pin them)."""

from __future__ import annotations

import pytest
import requests

from tests.azure.conftest import put_upload
from tests.cloud_document import plan
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db

HTML = b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture(autouse=True)
def any_type(monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "file_restrictions", None)


def test_an_active_declared_type_is_not_planned(client, azure_storage):
    planned = plan(client, "notes.txt", len(HTML), contentType="text/html")
    assert planned["uploadUrl"]["headers"]["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("sent", ["text/html", "image/svg+xml", "application/javascript"])
def test_a_download_never_carries_the_active_type_a_client_uploaded_with(client, azure_storage, sent):
    planned = plan(client, "notes.txt", len(HTML), contentType="text/plain")
    response = put_upload(planned, HTML, **{"Content-Type": sent, "x-ms-blob-content-type": sent})
    assert response.status_code == 201
    download = requests.get(azure_storage.generate_download_url(planned["key"], "f", filename="notes.txt"), timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("text/plain")
    assert download.headers["Content-Disposition"].startswith("attachment")
