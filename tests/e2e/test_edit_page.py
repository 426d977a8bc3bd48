"""Editing a saved document: the widget shows the current file and plans uploads for that record."""

from __future__ import annotations

from urllib.parse import parse_qs

from playwright.sync_api import Page, expect
import pytest

from gallery.models import Document

from .helpers import (
    PDF_BYTES,
    hidden_input,
    hidden_value,
    intercept_file_choosers,
    part,
    payload,
    png_bytes,
    upload,
    widget,
)

pytestmark = pytest.mark.browser


def create_document(page: Page, live_server, title: str) -> Document:
    page.goto("/documents/new/")
    upload(widget(page, "file"), "original.pdf", "application/pdf", PDF_BYTES)
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_server.url}/")
    return Document.objects.get(title=title)


def test_edit_page_shows_current_file_and_plans_for_the_instance(logged_in_page: Page, live_server):
    page = logged_in_page
    intercept_file_choosers(page)
    document = create_document(page, live_server, "Existing")
    original_name = document.file.name

    page.goto(f"/documents/{document.pk}/edit/")
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "existing")
    expect(file_widget).to_have_attribute("data-instance-id", str(document.pk))
    expect(part(file_widget, "filename")).to_contain_text(".pdf")
    link = part(file_widget, "current-link")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", document.file.url)
    assert hidden_value(file_widget)["key"] == original_name

    # The link downloads the current file.
    response = page.request.get(link.get_attribute("href"))
    assert response.ok and response.body() == PDF_BYTES

    # "Replace" opens the picker; the plan request names the record being edited.
    with page.expect_file_chooser() as chooser_info:
        part(file_widget, "replace").click()
    with page.expect_request(lambda request: "generate-upload-url" in request.url) as request_info:
        chooser_info.value.set_files(payload("newer.pdf", "application/pdf", PDF_BYTES + b"% v2\n"))
    sent = parse_qs(request_info.value.post_data)
    assert sent["instanceId"] == [str(document.pk)]
    assert sent["filename"] == ["newer.pdf"]
    assert sent["size"] == [str(len(PDF_BYTES) + 5)]
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "current-link")).to_be_hidden()


def test_removing_an_existing_file_empties_the_field(logged_in_page: Page, live_server):
    page = logged_in_page
    document = create_document(page, live_server, "To empty")
    page.goto(f"/documents/{document.pk}/edit/")
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "existing")

    part(file_widget, "clear").click()
    expect(file_widget).to_have_attribute("data-state", "empty")
    expect(hidden_input(file_widget)).to_have_value("")
    expect(part(file_widget, "status")).to_contain_text("removed when you save")


def test_existing_image_is_previewed_from_its_download_url(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    upload(widget(page, "file"), "with-image.pdf", "application/pdf", PDF_BYTES)
    upload(widget(page, "image"), "shown.png", "image/png", png_bytes(30, 20))
    page.get_by_label("Title").fill("Pictured")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_server.url}/")
    document = Document.objects.get(title="Pictured")

    page.goto(f"/documents/{document.pk}/edit/")
    image_widget = widget(page, "image")
    expect(image_widget).to_have_attribute("data-state", "existing")
    preview = part(image_widget, "preview")
    expect(preview).to_have_attribute("src", document.image.url)
    expect(preview).to_be_visible()
    # Decoded through the redirect to the short-lived URL, despite "attachment" and nosniff.
    page.wait_for_function("img => img.complete && img.naturalWidth === 30", arg=preview.element_handle())
