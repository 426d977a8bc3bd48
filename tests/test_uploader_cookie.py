"""The anonymous uploader token's signed cookie: what the plan endpoint sets, what it accepts, and that tokens kept
in sessions by earlier versions still own their uploads."""

from __future__ import annotations

import time
from unittest import mock

from django import forms
from django.contrib.sessions.models import Session
from django.core import signing
from django.test import Client
import pytest

from alliance_platform.storage.async_uploads import uploader_cookie
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.requester import UPLOADER_SESSION_KEY, bind_request, fingerprint
from alliance_platform.storage.async_uploads.uploader_cookie import COOKIE_NAME
from tests.conftest import PDF_BYTES, field_id, request_for
from tests.testapp.models import Attachment

pytestmark = pytest.mark.django_db

PLAN_URL = "/async-uploads/generate-upload-url/"


class AttachmentForm(forms.ModelForm):
    class Meta:
        model = Attachment
        fields = ["file"]


def plan(client: Client, filename: str = "a.txt"):
    return client.post(PLAN_URL, {"fieldId": field_id(Attachment, "other"), "filename": filename, "size": "5"})


def submits(client: Client, value: str) -> bool:
    with bind_request(request_for(client)):
        return AttachmentForm(data={"file": value}).is_valid()


def test_an_anonymous_plan_sets_a_signed_http_only_cookie_and_creates_no_session(client):
    response = plan(client)

    assert response.status_code == 200
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert int(cookie["max-age"]) == 1209600  # SESSION_COOKIE_AGE
    token = signing.TimestampSigner(salt=uploader_cookie.SALT).unsign(cookie.value)
    assert AsyncTempFile.objects.get().session_fingerprint == fingerprint(token)
    assert "sessionid" not in response.cookies and Session.objects.count() == 0


def test_the_cookie_follows_the_session_cookie_settings(client, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.SESSION_COOKIE_SAMESITE = "Strict"
    settings.SESSION_COOKIE_DOMAIN = "example.com"
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True

    cookie = plan(client).cookies[COOKIE_NAME]

    assert cookie["secure"] and cookie["samesite"] == "Strict" and cookie["domain"] == "example.com"
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # gone when the browser closes


def test_later_plans_of_the_browser_keep_its_token_and_set_no_cookie(client):
    plan(client, "one.txt")
    second = plan(client, "two.txt")

    assert COOKIE_NAME not in second.cookies
    assert len(set(AsyncTempFile.objects.values_list("session_fingerprint", flat=True))) == 1


def test_a_cookie_this_site_did_not_sign_is_ignored_and_replaced(client):
    client.cookies[COOKIE_NAME] = "chosen-by-the-client"

    response = plan(client)

    issued = signing.TimestampSigner(salt=uploader_cookie.SALT).unsign(response.cookies[COOKIE_NAME].value)
    assert issued != "chosen-by-the-client"
    assert AsyncTempFile.objects.get().session_fingerprint == fingerprint(issued)


def test_a_value_signed_for_another_purpose_is_not_a_token(client):
    client.cookies[COOKIE_NAME] = signing.TimestampSigner(salt="another-purpose").sign("token")
    assert uploader_cookie.read_token({COOKIE_NAME: client.cookies[COOKIE_NAME].value}) is None
    assert uploader_cookie.read_token({COOKIE_NAME: signing.TimestampSigner(salt=uploader_cookie.SALT).sign("t")})


def test_a_cookie_older_than_the_session_cookie_age_is_refused(settings):
    settings.SESSION_COOKIE_AGE = 60
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 61):
        stale = signing.TimestampSigner(salt=uploader_cookie.SALT).sign("token")
    fresh = signing.TimestampSigner(salt=uploader_cookie.SALT).sign("token")

    assert uploader_cookie.read_token({COOKIE_NAME: stale}) is None
    assert uploader_cookie.read_token({COOKIE_NAME: fresh}) == "token"


def test_only_the_browser_holding_the_cookie_may_submit_its_upload(upload):
    owner, stranger = Client(), Client()
    planned = upload(owner, Attachment, "file", "a.pdf", PDF_BYTES)
    plan(stranger)  # the stranger has a cookie of its own

    assert not submits(stranger, planned.value())
    stranger.cookies[COOKIE_NAME] = owner.cookies[COOKIE_NAME].value.rsplit(":", 2)[0]  # the bare token, unsigned
    assert not submits(stranger, planned.value())
    assert submits(owner, planned.value())


def test_a_token_kept_in_the_session_by_an_earlier_version_still_owns_its_uploads(client, upload):
    """A browser whose session got its token before the cookie existed: its uploads stay submittable, and its
    new plans are recorded under the same token (no cookie is needed for it)."""
    session = client.session  # saved, and its cookie set on the client
    session[UPLOADER_SESSION_KEY] = "issued-by-an-earlier-version"
    session.save()

    planned = upload(client, Attachment, "file", "a.pdf", PDF_BYTES)
    response = plan(client, "later.txt")

    assert COOKIE_NAME not in client.cookies and COOKIE_NAME not in response.cookies
    expected = fingerprint("issued-by-an-earlier-version")
    assert set(AsyncTempFile.objects.values_list("session_fingerprint", flat=True)) == {expected}
    assert submits(client, planned.value())
