"""No download from S3 carries an active content type a client declared."""

from __future__ import annotations

import pytest
import requests

from tests.cloud_document import plan
from tests.s3.conftest import post_upload
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db

HTML = b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture(autouse=True)
def any_type(monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "file_restrictions", None)


@pytest.mark.parametrize("declared", ["text/html", "image/svg+xml", "application/xml", "text/javascript", "TEXT/HTML"])
def test_an_active_declared_type_is_neither_planned_nor_served(client, s3_storage, declared):
    planned = plan(client, "notes.txt", len(HTML), contentType=declared)
    assert planned["uploadUrl"]["fields"]["Content-Type"] == "application/octet-stream"
    assert post_upload(planned, HTML).status_code in (200, 201, 204)
    # (S3 stores the policy's Content-Type field; SeaweedFS sniffs its own, so the download is what to check.)

    download = requests.get(s3_storage.generate_download_url(planned["key"], "f", filename="notes.txt"), timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("text/plain")
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_the_policy_refuses_an_active_type_sent_instead_of_the_planned_one(client, s3_storage):
    planned = plan(client, "notes.txt", len(HTML), contentType="text/html")
    assert post_upload(planned, HTML, **{"Content-Type": "text/html"}).status_code == 403


def test_a_download_named_as_html_is_served_as_bytes(client, s3_storage):
    planned = plan(client, "page.html", len(HTML), contentType="text/plain")
    post_upload(planned, HTML)
    download = requests.get(s3_storage.generate_download_url(planned["key"], "f", filename="page.html"), timeout=30)
    assert download.headers["Content-Type"] == "application/octet-stream"
