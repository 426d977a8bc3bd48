"""API clients that send credentials in a header (no session cookie) use the same upload and download endpoints,
through the ``AUTHENTICATE_REQUEST`` hook; browsers keep the CSRF check."""

from __future__ import annotations

import base64

from django.test import Client
import pytest

from alliance_platform.storage.async_uploads.models import AsyncTempFile
from gallery.models import Document
from tests.conftest import PDF_BYTES, field_id, read

pytestmark = pytest.mark.django_db(transaction=True)

PLAN_URL = "/async-uploads/generate-upload-url/"
API = "/api/documents/"


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture
def drf_authentication(settings):
    settings.ALLIANCE_PLATFORM = {
        "STORAGE": {"AUTHENTICATE_REQUEST": "alliance_platform.storage.async_uploads.rest_framework.authenticate"}
    }


@pytest.fixture
def header_client() -> Client:
    """No session, and CSRF enforced as for a real client: only the header says who is calling."""
    return Client(enforce_csrf_checks=True)


def plan(client: Client, credentials: dict[str, str], **params) -> dict:
    data = {"fieldId": field_id(Document, "file"), "filename": "report.pdf", "size": len(PDF_BYTES), **params}
    response = client.post(PLAN_URL, data, **credentials)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_whole_flow_with_header_credentials(drf_authentication, header_client, user):
    credentials = basic("alice", "pw")
    upload_plan = plan(header_client, credentials)
    assert AsyncTempFile.objects.get(key=upload_plan["key"]).uploaded_by == user
    put = header_client.put(upload_plan["uploadUrl"]["url"], PDF_BYTES, content_type="application/pdf")
    assert put.status_code == 201

    created = header_client.post(
        API,
        {"title": "Report", "file": {"key": upload_plan["key"], "name": "report.pdf"}},
        content_type="application/json",
        **credentials,
    )

    assert created.status_code == 201, created.content
    doc = Document.objects.get()
    assert read(doc.file.name) == PDF_BYTES
    redirect = header_client.get(created.json()["file"]["url"], **credentials)
    assert redirect.status_code == 302
    served = header_client.get(redirect["Location"])
    assert b"".join(served.streaming_content) == PDF_BYTES
    assert "sessionid" not in header_client.cookies, "no session was needed"


def test_update_plans_check_perm_update_for_the_header_user(drf_authentication, header_client, user, other_user):
    doc = Document.objects.create(title="theirs")
    upload_plan = plan(header_client, basic("alice", "pw"), instanceId=str(doc.pk))
    assert upload_plan["key"]
    other_user.user_permissions.clear()
    response = header_client.post(
        PLAN_URL,
        {"fieldId": field_id(Document, "file"), "filename": "x.pdf", "instanceId": str(doc.pk)},
        **basic("bob", "pw"),
    )
    assert response.status_code == 403


def test_wrong_credentials_are_an_anonymous_caller(drf_authentication, header_client, user):
    response = header_client.post(
        PLAN_URL, {"fieldId": field_id(Document, "file"), "filename": "x.pdf"}, **basic("alice", "wrong")
    )
    assert response.status_code == 403
    assert not AsyncTempFile.objects.exists()


def test_a_download_needs_perm_detail_for_the_header_user(drf_authentication, header_client, user, other_user):
    doc = Document.objects.create(title="t", file="documents/report.pdf")
    url = doc.file.url
    assert header_client.get(url, **basic("alice", "pw")).status_code == 302
    assert header_client.get(url, **basic("bob", "pw")).status_code == 403, "bob may not view documents"
    assert header_client.get(url).status_code == 403


def test_without_the_hook_header_credentials_are_ignored(header_client, user):
    response = header_client.post(
        PLAN_URL, {"fieldId": field_id(Document, "file"), "filename": "x.pdf"}, **basic("alice", "pw")
    )
    # Without the hook this is a cookie-less browser POST: refused by the CSRF check.
    assert response.status_code == 403
    assert b"CSRF" in response.content


def test_session_posts_still_need_the_csrf_token(drf_authentication, user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    data = {"fieldId": field_id(Document, "file"), "filename": "x.pdf"}
    refused = browser.post(PLAN_URL, data)
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    assert not AsyncTempFile.objects.exists()
    browser.get("/documents/new/")  # sets the CSRF cookie, as the form page does
    token = browser.cookies["csrftoken"].value
    assert browser.post(PLAN_URL, data, HTTP_X_CSRFTOKEN=token).status_code == 200
