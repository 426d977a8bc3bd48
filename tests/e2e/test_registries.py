"""Widgets of two registries on one page each plan with their own endpoint.

No view renders the test app's models, so the page is made here from Django forms and served at a URL of the live
server's origin by intercepting the navigation; everything the widgets request goes to the real server.
"""

from __future__ import annotations

from django import forms
from playwright.sync_api import Page, expect
import pytest

from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile
from tests.testapp.models import Attachment, Avatar

from .helpers import PDF_BYTES, hidden_value, png_bytes, upload, widget

pytestmark = pytest.mark.browser


def two_registry_page() -> str:
    attachment = forms.modelform_factory(Attachment, fields=["file"])(prefix="attachment")
    avatar = forms.modelform_factory(Avatar, fields=["image"])(prefix="avatar")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Two registries</title></head><body>"
        f"<form method='post'>{attachment.as_div()}{avatar.as_div()}<button>Save</button></form>"
        "</body></html>"
    )


def test_widgets_of_two_registries_on_one_page(logged_in_page: Page, live_server):
    page = logged_in_page
    url = f"{live_server.url}/e2e-two-registries/"
    html = two_registry_page()
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    plans: list[str] = []
    page.on("request", lambda request: "generate-upload-url" in request.url and plans.append(request.url))
    page.goto(url)

    attachment_widget = widget(page, "attachment-file")
    avatar_widget = widget(page, "avatar-image")
    expect(attachment_widget).to_have_attribute("data-plan-url", "/async-uploads/generate-upload-url/")
    expect(avatar_widget).to_have_attribute("data-plan-url", "/other-uploads/generate-upload-url/")

    attachment_value = upload(attachment_widget, "small.pdf", "application/pdf", PDF_BYTES)
    avatar_value = upload(avatar_widget, "face.png", "image/png", png_bytes(16, 9))
    assert (avatar_value["width"], avatar_value["height"]) == (16, 9)
    assert attachment_value["key"] != avatar_value["key"]
    assert hidden_value(attachment_widget) == attachment_value

    assert [plan.removeprefix(live_server.url) for plan in plans] == [
        "/async-uploads/generate-upload-url/",
        "/other-uploads/generate-upload-url/",
    ]
    # Each key was recorded for the field of its own registry.
    records = {record.key: record.field_id for record in AsyncTempFile.objects.all()}
    assert records[attachment_value["key"]] == Attachment._meta.get_field("file").async_field_id
    assert records[avatar_value["key"]] == Avatar._meta.get_field("image").async_field_id
