"""What a new user runs into with the demo's document form: a refused file after a form error, progress in
bytes and time, leaving the page with an unsaved upload, the Back button after submitting, and the events a
project's own script can follow."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, Route, expect
import pytest

from gallery.models import Document

from .helpers import (
    PDF_BYTES,
    ZIP_BYTES,
    UploadGate,
    eventually,
    hidden_value,
    large_pdf,
    part,
    pick,
    upload,
    widget,
)

pytestmark = pytest.mark.browser

NBSP = "\u00a0"


def save(page: Page) -> None:
    page.get_by_role("button", name="Save").click()


def server_validates_only(page: Page) -> None:
    """Let the server, not the browser's required-field check, judge the form."""
    page.locator("form.document").evaluate("form => { form.noValidate = true; }")


def test_a_refused_upload_shows_as_refused_in_the_single_widget(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    # Passes the browser's checks; the server reads its first bytes, refuses it and deletes it.
    upload(widget(page, "file"), "report.pdf", "application/pdf", ZIP_BYTES)
    page.get_by_label("Title").fill("Not really a PDF")
    save(page)

    expect(page.locator(".errorlist").first).to_be_visible()
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "filename")).to_have_text("report.pdf")
    expect(part(file_widget, "error")).to_contain_text("“report.pdf”")
    # Only what can help: another file (the drop zone) or dismissing this one; nothing to retry or replace.
    expect(part(file_widget, "drop-zone")).to_be_visible()
    expect(part(file_widget, "cancel")).to_be_visible()
    for role in ("retry", "replace", "clear"):
        expect(part(file_widget, role)).to_be_hidden()
    # The refused key is not submitted again.
    assert hidden_value(file_widget) is None

    upload(file_widget, "real.pdf", "application/pdf", PDF_BYTES)
    save(page)
    expect(page).to_have_url(f"{live_server.url}/")
    assert Document.objects.get(title="Not really a PDF").file.name.startswith("documents/")


def test_a_refused_replacement_keeps_the_saved_file(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    upload(widget(page, "file"), "saved.pdf", "application/pdf", PDF_BYTES)
    page.get_by_label("Title").fill("Edited")
    save(page)
    expect(page).to_have_url(f"{live_server.url}/")
    document = Document.objects.get(title="Edited")

    page.goto(f"/documents/{document.pk}/edit/")
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "existing")
    part(file_widget, "replace").click()
    upload(file_widget, "replacement.pdf", "application/pdf", ZIP_BYTES)
    save(page)

    expect(page.locator(".errorlist").first).to_be_visible()
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "filename")).to_have_text("replacement.pdf")
    # The form would keep the saved file if submitted now; dismissing the refused one shows it again.
    assert hidden_value(file_widget)["key"] == document.file.name
    part(file_widget, "cancel").click()
    expect(file_widget).to_have_attribute("data-state", "existing")
    expect(part(file_widget, "current-link")).to_be_visible()
    save(page)
    expect(page).to_have_url(f"{live_server.url}/")
    document.refresh_from_db()
    assert document.file.name.startswith("documents/") and document.file.storage.exists(document.file.name)


def test_a_forbidden_plan_offers_no_try_again(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")

    def forbid(route: Route) -> None:
        route.fulfill(
            status=403,
            content_type="application/json",
            body=json.dumps({"detail": "You may not upload files here."}),
        )

    page.route("**/generate-upload-url/**", forbid)
    file_widget = widget(page, "file")
    pick(file_widget, "report.pdf", "application/pdf", PDF_BYTES)
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "error")).to_have_text("You may not upload files here.")
    expect(part(file_widget, "retry")).to_be_hidden()
    expect(part(file_widget, "drop-zone")).to_be_visible()


def test_progress_says_bytes_speed_and_time_left(logged_in_page: Page, live_server):
    """The meter, fed a steady 1 MiB/s: the speed is exact, and the time left appears once the speed settled."""
    page = logged_in_page
    page.goto("/documents/new/")
    script = page.locator("script[type=module][src*='async-upload']").first.get_attribute("src")
    said = page.evaluate(
        """async (url) => {
            const { ProgressMeter } = await import(url);
            const mib = 1024 * 1024;
            const meter = new ProgressMeter(10 * mib);
            const said = [];
            for (let t = 0; t <= 3000; t += 500) {
                meter.update((t / 1000) * mib, t);
                said.push(meter.describe());
            }
            return said;
        }""",
        script.replace("async-upload.js", "progress.js"),
    )
    mb = f"{NBSP}MB"
    assert said[0] == f"0{NBSP}bytes of 10{mb}"
    assert said[1] == f"512{NBSP}KB of 10{mb} · 1{mb}/s"
    assert said[3] == f"1.5{mb} of 10{mb} · 1{mb}/s", "too early for a time left"
    assert said[-1] == f"3{mb} of 10{mb} · 1{mb}/s · about 7 s left"


def test_progress_of_a_real_upload_is_not_announced(logged_in_page: Page, live_server, tmp_path):
    page = logged_in_page
    page.goto("/documents/new/")
    # Throttled, so that the upload lasts long enough to show its progress.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1024 * 1024},
    )
    path, _ = large_pdf(tmp_path, "big.pdf", seed=1, size=4 * 1024 * 1024)
    file_widget = widget(page, "file")
    part(file_widget, "file-input").set_input_files(path)
    detail = part(file_widget, "progress-detail")
    expect(detail).to_have_text(re.compile(rf"^[\d.]+{NBSP}(MB|KB|bytes) of 4{NBSP}MB · [\d.]+{NBSP}(MB|KB)/s"))
    expect(detail).to_contain_text("left")
    # Neither the detail nor the percentage is in a live region.
    assert detail.evaluate("el => el.closest('[aria-live], [role=alert], [role=status]')") is None
    expect(file_widget).to_have_attribute("data-state", "done", timeout=30_000)
    expect(detail).to_be_hidden()


def test_leaving_with_an_unsaved_upload_asks_first(logged_in_page: Page, live_server):
    page = logged_in_page
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", on_dialog)
    page.goto("/documents/new/")
    gate = UploadGate(page)
    gate.hold = True
    file_widget = widget(page, "file")
    pick(file_widget, "report.pdf", "application/pdf", PDF_BYTES)
    gate.wait_until_held()
    # Browsers only ask on a page the user has interacted with.
    page.get_by_label("Title").click()

    page.close(run_before_unload=True)  # while uploading
    eventually(page, lambda: dialogs == ["beforeunload"])
    gate.release_all()
    expect(file_widget).to_have_attribute("data-state", "done")
    page.close(run_before_unload=True)  # finished, not saved
    eventually(page, lambda: dialogs == ["beforeunload"] * 2)
    assert not page.is_closed()

    # Submitted: the server keeps the upload on the form it renders again, nothing is lost by leaving.
    server_validates_only(page)
    save(page)
    expect(page.locator(".errorlist").first).to_be_visible()
    page.get_by_label("Title").click()
    with page.expect_event("close"):
        page.close(run_before_unload=True)
    assert dialogs == ["beforeunload"] * 2


def test_no_question_when_the_form_was_submitted(logged_in_page: Page, live_server):
    page = logged_in_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    page.goto("/documents/new/")
    upload(widget(page, "file"), "report.pdf", "application/pdf", PDF_BYTES)
    page.get_by_label("Title").fill("Submitted")
    save(page)
    expect(page).to_have_url(f"{live_server.url}/")
    assert dialogs == []


def test_back_after_a_form_error_on_another_field_keeps_the_upload(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    value = upload(widget(page, "file"), "draft.pdf", "application/pdf", PDF_BYTES)
    server_validates_only(page)
    save(page)  # no title
    expect(page.locator(".errorlist").first).to_be_visible()

    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/documents/new/")
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "filename")).to_have_text("draft.pdf")
    expect(part(file_widget, "clear")).to_be_visible()
    assert hidden_value(file_widget)["key"] == value["key"]

    page.get_by_label("Title").fill("After going back")
    save(page)
    expect(page).to_have_url(f"{live_server.url}/")
    document = Document.objects.get(title="After going back")
    assert document.file.name.startswith("documents/")


def test_back_after_saving_shows_the_file_and_a_second_save_is_told_why_not(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    value = upload(widget(page, "file"), "once.pdf", "application/pdf", PDF_BYTES)
    page.get_by_label("Title").fill("Saved once")
    save(page)
    expect(page).to_have_url(f"{live_server.url}/")

    page.go_back()
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "filename")).to_have_text("once.pdf")
    assert hidden_value(file_widget)["key"] == value["key"]
    # The upload became the saved document's file: saving it a second time is refused, and the widget says so
    # instead of showing the file as accepted.
    page.get_by_label("Title").fill("Saved twice")
    save(page)
    expect(page.locator(".errorlist").first).to_be_visible()
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "error")).not_to_be_empty()
    assert list(Document.objects.values_list("title", flat=True)) == ["Saved once"]


def test_events_for_the_page_scripts(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    page.evaluate(
        """() => {
            window.uploadEvents = [];
            for (const type of ["ap-upload:uploaded", "ap-upload:failed", "ap-upload:removed"]) {
                document.addEventListener(type, (event) => window.uploadEvents.push({
                    type, field: event.target.querySelector('[data-role="value"]').name, ...event.detail,
                }));
            }
        }"""
    )
    file_widget = widget(page, "file")
    value = upload(file_widget, "report.pdf", "application/pdf", PDF_BYTES)
    part(file_widget, "clear").click()
    pick(file_widget, "tool.exe", "application/octet-stream", b"MZ")
    expect(file_widget).to_have_attribute("data-state", "error")

    events = page.evaluate("window.uploadEvents")
    assert [(e["type"], e["field"], e["name"], e["key"]) for e in events] == [
        ("ap-upload:uploaded", "file", "report.pdf", value["key"]),
        ("ap-upload:removed", "file", "report.pdf", value["key"]),
        ("ap-upload:failed", "file", "tool.exe", None),
    ]
    assert "not an allowed type" in events[2]["messages"][0]
