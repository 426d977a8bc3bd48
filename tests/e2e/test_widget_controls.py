"""Cancel, retry, clear, and the submit guard, with the upload request held or failed at the network."""

from __future__ import annotations

from playwright.sync_api import Page, expect
import pytest

from gallery.models import Document

from .helpers import (
    PDF_BYTES,
    UploadGate,
    hidden_input,
    hidden_value,
    intercept_file_choosers,
    part,
    payload,
    pick,
    upload,
    widget,
)

pytestmark = pytest.mark.browser


def test_cancel_returns_to_the_previous_state(logged_in_page: Page, live_server):
    page = logged_in_page
    gate = UploadGate(page)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")

    # From empty: cancelling leaves the field empty.
    gate.hold = True
    pick(file_widget, "first.pdf", "application/pdf", PDF_BYTES)
    gate.wait_until_held()
    expect(file_widget).to_have_attribute("data-state", "uploading")
    expect(part(file_widget, "progress")).to_be_visible()
    part(file_widget, "cancel").click()
    expect(file_widget).to_have_attribute("data-state", "empty")
    expect(hidden_input(file_widget)).to_have_value("")
    expect(part(file_widget, "status")).to_have_text("Upload cancelled.")
    gate.held.clear()  # aborted by the page; nothing to release

    # From a finished upload: cancelling a replacement keeps the first file.
    gate.hold = False
    kept = upload(file_widget, "kept.pdf", "application/pdf", PDF_BYTES)
    gate.hold = True
    pick(file_widget, "replacement.pdf", "application/pdf", PDF_BYTES)
    gate.wait_until_held()
    expect(part(file_widget, "filename")).to_have_text("replacement.pdf")
    part(file_widget, "cancel").click()
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "filename")).to_have_text("kept.pdf")
    assert hidden_value(file_widget) == kept


def test_retry_after_a_failed_upload(logged_in_page: Page, live_server):
    page = logged_in_page
    gate = UploadGate(page)
    gate.fail_next = 1
    page.goto("/documents/new/")
    file_widget = widget(page, "file")

    pick(file_widget, "flaky.pdf", "application/pdf", PDF_BYTES)
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "error")).to_contain_text("500")
    expect(hidden_input(file_widget)).to_have_value("")

    part(file_widget, "retry").click()
    expect(part(file_widget, "progress-text")).to_have_text("100%")
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "error")).to_be_empty()
    assert hidden_value(file_widget)["name"] == "flaky.pdf"
    assert gate.seen == 2


def test_clear_empties_the_value(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    upload(file_widget, "unwanted.pdf", "application/pdf", PDF_BYTES)

    part(file_widget, "clear").click()
    expect(file_widget).to_have_attribute("data-state", "empty")
    expect(hidden_input(file_widget)).to_have_value("")
    expect(part(file_widget, "drop-zone")).to_be_visible()
    expect(part(file_widget, "filename")).to_be_hidden()


def test_submit_is_blocked_while_uploading(logged_in_page: Page, live_server):
    page = logged_in_page
    gate = UploadGate(page)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    page.get_by_label("Title").fill("Too early")

    gate.hold = True
    pick(file_widget, "slow.pdf", "application/pdf", PDF_BYTES)
    gate.wait_until_held()
    page.get_by_role("button", name="Save").click()

    expect(part(file_widget, "error")).to_contain_text("wait")
    expect(part(file_widget, "error")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/documents/new/")
    assert Document.objects.count() == 0

    # Once the upload is through, the same form submits.
    gate.release_all()
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "error")).to_be_empty()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_server.url}/")
    assert Document.objects.get(title="Too early").file.name.startswith("documents/")


def test_keyboard_and_screen_reader_use(logged_in_page: Page, live_server):
    page = logged_in_page
    intercept_file_choosers(page)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    file_input = page.get_by_label("File:", exact=True)
    expect(part(file_widget, "status")).to_have_attribute("aria-live", "polite")
    expect(part(file_widget, "error")).to_have_attribute("role", "alert")

    # The file input is the next tab stop after the title, and Enter opens the picker.
    page.get_by_label("Title").focus()
    page.keyboard.press("Tab")
    expect(file_input).to_be_focused()
    with page.expect_file_chooser() as chooser_info:
        page.keyboard.press("Enter")
    chooser_info.value.set_files(payload("typed.pdf", "application/pdf", PDF_BYTES))
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "status")).to_have_text("typed.pdf uploaded.")

    # The buttons are real buttons in the tab order; removing keeps focus inside the widget.
    page.keyboard.press("Tab")
    expect(part(file_widget, "replace")).to_be_focused()
    page.keyboard.press("Tab")
    remove = part(file_widget, "clear")
    expect(remove).to_be_focused()
    expect(remove).to_have_attribute("type", "button")
    page.keyboard.press("Enter")
    expect(file_widget).to_have_attribute("data-state", "empty")
    expect(file_input).to_be_focused()
