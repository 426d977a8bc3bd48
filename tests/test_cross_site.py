"""Requests that another site makes the browser send (``Sec-Fetch-Site: cross-site``) cannot plan or discard uploads.

A link on another site sends the victim's session cookie with a top-level GET; without the check, a page that
navigates the victim to the plan URL 55 times would fill their pending-upload cap. Everything else the browser
sends (same-origin, same-site, none) and clients that send no fetch metadata keep working, as do pages on an
origin listed in ``CSRF_TRUSTED_ORIGINS``, and downloads (links in e-mails are cross-site navigations).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
import pytest

from alliance_platform.storage.async_uploads import signals
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.requester import UPLOADER_SESSION_KEY
from alliance_platform.storage.async_uploads.uploader_cookie import COOKIE_NAME
from alliance_platform.storage.settings import DEFAULTS
from gallery.models import Document
from tests.conftest import default_registry_url, field_id

pytestmark = pytest.mark.django_db

CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


def plan_data(filename: str = "report.pdf") -> dict[str, str]:
    return {"fieldId": field_id(Document, "file"), "filename": filename, "size": "100"}


def request_plan(client: Client, method: str, headers: dict[str, str] | None = None, **data: str):
    return getattr(client, method)(default_registry_url(Document, "file"), {**plan_data(), **data}, headers=headers)


@pytest.fixture
def planned() -> Iterator[list[AsyncTempFile]]:
    """Every upload the ``upload_planned`` signal announces while the test runs."""
    seen: list[AsyncTempFile] = []

    def receiver(sender, temp_file, **kwargs):
        seen.append(temp_file)

    signals.upload_planned.connect(receiver)
    yield seen
    signals.upload_planned.disconnect(receiver)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_cross_site_plan_is_refused_and_records_nothing(logged_in, planned, method):
    response = request_plan(logged_in, method, CROSS_SITE)

    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert response.json()["detail"]
    assert AsyncTempFile.objects.count() == 0
    assert planned == []


def test_a_cross_site_plan_gives_an_anonymous_browser_no_uploader_token(client, planned):
    response = request_plan(client, "get", CROSS_SITE, filename="x.pdf")

    assert response.status_code == 403
    assert COOKIE_NAME not in response.cookies and COOKIE_NAME not in client.cookies
    assert UPLOADER_SESSION_KEY not in client.session
    assert AsyncTempFile.objects.count() == 0


def test_the_header_value_is_read_case_insensitively(logged_in):
    assert request_plan(logged_in, "get", {"Sec-Fetch-Site": " Cross-Site "}).status_code == 403
    assert AsyncTempFile.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("site", ["same-origin", "same-site", "none", None])
def test_requests_that_are_not_cross_site_still_plan(logged_in, planned, method, site):
    headers = {} if site is None else {"Sec-Fetch-Site": site}

    response = request_plan(logged_in, method, headers)

    assert response.status_code == 200, response.content
    key = response.json()["key"]
    assert AsyncTempFile.objects.filter(key=key).exists()
    assert [row.key for row in planned] == [key]


@pytest.mark.parametrize(
    "origin",
    ["https://partner.example", "https://app.example.org", "https://example.org", "https://deep.app.example.org"],
)
def test_a_trusted_origin_may_plan_cross_site(settings, logged_in, origin):
    settings.CSRF_TRUSTED_ORIGINS = ["https://partner.example", "https://*.example.org"]

    response = request_plan(logged_in, "post", {**CROSS_SITE, "Origin": origin})

    assert response.status_code == 200, response.content
    assert AsyncTempFile.objects.filter(key=response.json()["key"]).exists()


@pytest.mark.parametrize(
    "origin",
    [
        None,  # top-level GET navigations send no Origin
        "null",
        "https://evil.example",
        "http://partner.example",  # another scheme is another origin
        "https://partner.example:8443",
        "https://partner.example.evil.example",
        "https://notexample.org",
        "https://[broken",
    ],
)
def test_an_untrusted_origin_may_not(settings, logged_in, origin):
    settings.CSRF_TRUSTED_ORIGINS = ["https://partner.example", "https://*.example.org"]
    headers = CROSS_SITE if origin is None else {**CROSS_SITE, "Origin": origin}

    response = request_plan(logged_in, "get", headers)

    assert response.status_code == 403
    assert "detail" in response.json()
    assert AsyncTempFile.objects.count() == 0


def test_55_cross_site_navigations_leave_the_victims_own_uploads_alone(logged_in):
    cap = DEFAULTS["MAX_PENDING_UPLOADS"]
    assert cap is not None and cap < 55  # otherwise this test would prove nothing

    refused = [request_plan(logged_in, "get", CROSS_SITE, filename=f"{n}.pdf").status_code for n in range(55)]

    assert refused == [403] * 55
    assert AsyncTempFile.objects.count() == 0
    own = request_plan(logged_in, "post", {"Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200, own.content


def test_a_cross_site_discard_is_refused_and_keeps_the_upload(logged_in, upload):
    made = upload(logged_in, Document, "file", "keep.pdf", b"%PDF-1.4\n" + b"0" * 100)
    discard_url = Document._meta.get_field("file").async_field_registry.reverse("discard_upload")

    response = logged_in.post(
        discard_url, {"key": made.key, "fieldId": field_id(Document, "file")}, headers={"Sec-Fetch-Site": "cross-site"}
    )

    assert response.status_code == 403
    assert "detail" in response.json()
    assert AsyncTempFile.objects.filter(key=made.key).exists()
    assert default_storage.exists(made.key)


def test_downloads_still_work_from_other_sites(logged_in):
    default_storage.save("documents/linked.pdf", ContentFile(b"%PDF-1.4\n"))
    document = Document.objects.create(title="Linked", file="documents/linked.pdf")

    response = logged_in.get(document.file.url, headers=CROSS_SITE)

    assert response.status_code == 302
