"""The demo's document form (a plain Django ModelForm page) with the async widget."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
import pytest

from gallery.models import Document

from .helpers import (
    PDF_BYTES,
    ZIP_BYTES,
    UploadGate,
    drop,
    eventually,
    hidden_value,
    part,
    payload,
    pick,
    png_bytes,
    sha256,
    upload,
    widget,
)

pytestmark = pytest.mark.browser


def submit(page: Page) -> None:
    page.get_by_role("button", name="Save").click()


def saved_redirect(page: Page, live_server) -> None:
    """The form redirects to the list after a successful save; by then the record is committed."""
    expect(page).to_have_url(f"{live_server.url}/")


def read_stored(field_file) -> bytes:
    with field_file.storage.open(field_file.name, "rb") as handle:
        return handle.read()


def test_create_page_uploads_pdf_and_promotes_it(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "empty")

    # The page's own <label for> points at the widget's file input.
    page.get_by_label("File:", exact=True).set_input_files(payload("report.pdf", "application/pdf", PDF_BYTES))
    expect(part(file_widget, "progress-text")).to_have_text("100%")
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "filename")).to_have_text("report.pdf")
    expect(part(file_widget, "status")).to_contain_text("uploaded")
    temp_key = hidden_value(file_widget)["key"]
    assert temp_key.startswith("async-temp-files/")

    page.get_by_label("Title").fill("Quarterly report")
    submit(page)
    saved_redirect(page, live_server)

    document = Document.objects.get(title="Quarterly report")
    assert document.file.name.startswith("documents/")
    assert not document.file.name.startswith("async-temp-files/")
    assert sha256(read_stored(document.file)) == sha256(PDF_BYTES)
    storage = document.file.storage
    eventually(page, lambda: not storage.exists(temp_key))

    # Downloading with the browser's session goes through the permission-checking endpoint.
    response = page.request.get(document.file.url)
    assert response.ok, response.status
    assert response.body() == PDF_BYTES
    assert response.headers["content-disposition"].startswith("attachment")


def test_create_page_image_dimensions_are_read_by_server(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    image = png_bytes(37, 23)
    upload(widget(page, "file"), "notes.pdf", "application/pdf", PDF_BYTES)
    image_widget = widget(page, "image")
    value = upload(image_widget, "photo.png", "image/png", image)
    # The browser's hints; the stored numbers below come from the server reading the file.
    assert (value["width"], value["height"]) == (37, 23)
    preview = part(image_widget, "preview")
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))

    page.get_by_label("Title").fill("With picture")
    submit(page)
    saved_redirect(page, live_server)

    document = Document.objects.get(title="With picture")
    assert document.image.name.startswith("images/")
    assert sha256(read_stored(document.image)) == sha256(image)
    assert (document.image_width, document.image_height) == (37, 23)


def test_disguised_file_is_refused_by_the_form(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    # The name passes the browser's and the planner's checks; the content is a ZIP archive.
    upload(widget(page, "file"), "report.pdf", "application/pdf", ZIP_BYTES)
    page.get_by_label("Title").fill("Not really a PDF")
    submit(page)

    expect(page).to_have_url(f"{live_server.url}/documents/new/")
    field_row = page.locator("form div").filter(has=widget(page, "file")).last
    expect(field_row.locator(".errorlist")).to_be_visible()
    assert Document.objects.count() == 0


def test_rerender_after_form_error_keeps_the_upload(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    first = upload(widget(page, "file"), "draft.pdf", "application/pdf", PDF_BYTES)
    # Let the server, not the browser's required-field check, reject the empty title.
    page.locator("form.document").evaluate("form => { form.noValidate = true; }")
    submit(page)

    expect(page.locator(".errorlist").first).to_be_visible()
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "filename")).to_have_text("draft.pdf")
    expect(part(file_widget, "current-link")).to_be_hidden()
    assert hidden_value(file_widget)["key"] == first["key"]
    assert Document.objects.count() == 0

    page.get_by_label("Title").fill("Second try")
    submit(page)
    saved_redirect(page, live_server)
    document = Document.objects.get(title="Second try")
    assert document.file.name.startswith("documents/")
    assert sha256(read_stored(document.file)) == sha256(PDF_BYTES)


def test_two_widgets_upload_independently(logged_in_page: Page, live_server):
    page = logged_in_page
    gate = UploadGate(page)
    page.goto("/documents/new/")
    file_widget, image_widget = widget(page, "file"), widget(page, "image")
    image = png_bytes(12, 34)

    # The image's upload is held at the network while the file's goes through.
    gate.hold = True
    pick(image_widget, "held.png", "image/png", image)
    gate.wait_until_held()
    gate.hold = False
    file_value = upload(file_widget, "free.pdf", "application/pdf", PDF_BYTES)
    expect(image_widget).to_have_attribute("data-state", "uploading")
    assert hidden_value(image_widget) is None

    gate.release_all()
    expect(image_widget).to_have_attribute("data-state", "done")
    image_value = hidden_value(image_widget)
    assert image_value["name"] == "held.png"
    assert image_value["key"] != file_value["key"]
    assert hidden_value(file_widget) == file_value

    page.get_by_label("Title").fill("Both")
    submit(page)
    saved_redirect(page, live_server)
    document = Document.objects.get(title="Both")
    assert sha256(read_stored(document.file)) == sha256(PDF_BYTES)
    assert sha256(read_stored(document.image)) == sha256(image)
    assert (document.image_width, document.image_height) == (12, 34)


def test_drag_and_drop_onto_the_drop_zone(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    drop(page, part(file_widget, "drop-zone"), "dropped.txt", "text/plain", b"plain text, dropped\n")
    expect(part(file_widget, "progress-text")).to_have_text("100%")
    expect(file_widget).to_have_attribute("data-state", "done")
    assert hidden_value(file_widget)["name"] == "dropped.txt"


def test_client_side_checks_run_before_planning(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    plans: list[str] = []
    page.on("request", lambda request: "generate-upload-url" in request.url and plans.append(request.url))

    pick(file_widget, "notes.docx", "application/octet-stream", b"not allowed here")
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "error")).to_contain_text("not an allowed type")
    expect(part(file_widget, "retry")).to_be_hidden()

    pick(file_widget, "huge.pdf", "application/pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024))
    expect(part(file_widget, "error")).to_contain_text("at most 10 MB")

    part(file_widget, "cancel").click()
    expect(file_widget).to_have_attribute("data-state", "empty")
    expect(part(file_widget, "error")).to_be_empty()
    assert plans == []
    assert hidden_value(file_widget) is None
