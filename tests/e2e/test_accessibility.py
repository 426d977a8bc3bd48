"""WCAG 2.2 AA: axe-core finds nothing on the demo's form and the admin's change forms with the widget in each state,
and what axe cannot judge is checked directly: keyboard-only use, what the live regions announce, reduced motion,
and the layout of a narrow admin inline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import re

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import Locator, Page, Response, expect
import pytest

from gallery.models import Album, Document, Photo

from .axe import Axe
from .helpers import (
    PDF_BYTES,
    ZIP_BYTES,
    UploadGate,
    intercept_file_choosers,
    part,
    payload,
    pick,
    png_bytes,
    upload,
    widget,
)

pytestmark = pytest.mark.browser

TEN_MB = 10 * 1024 * 1024


def too_large_pdf(directory: Path) -> str:
    """A file just over the demo's 10 MB limit, picked by path (the widget only looks at its size)."""
    path = directory / "too-large.pdf"
    with open(path, "wb") as handle:
        handle.write(b"%PDF-1.4\n")
        handle.truncate(TEN_MB + 1)
    return str(path)


def is_discard(response: Response) -> bool:
    """The widget telling the server that a cancelled upload will not be submitted (waited for, so that the test
    does not end while the server still handles it)."""
    return "/discard-upload/" in response.url


def audit_widget_states(
    page: Page,
    axe: Axe,
    scope: Locator,
    *,
    where: str,
    file: tuple[str, str, bytes],
    make_error: Callable[[Locator, UploadGate], None],
) -> None:
    """Walk one widget through empty, dragging, uploading (``file``, held at the network), done and error (what
    ``make_error`` does), auditing the page in each state."""
    gate = UploadGate(page)
    expect(scope).to_have_attribute("data-state", "empty")
    axe.check(page, f"{where}: empty")

    drop_zone = part(scope, "drop-zone")
    files = page.evaluate_handle(
        "() => { const t = new DataTransfer(); t.items.add(new File(['x'], 'x.pdf')); return t; }"
    )
    drop_zone.dispatch_event("dragenter", {"dataTransfer": files})
    expect(scope).to_have_class(re.compile(r"\bis-dragover\b"))
    axe.check(page, f"{where}: dragging")
    drop_zone.dispatch_event("dragleave", {"dataTransfer": files})
    expect(scope).not_to_have_class(re.compile(r"\bis-dragover\b"))

    gate.hold = True
    pick(scope, *file)
    gate.wait_until_held()
    expect(scope).to_have_attribute("data-state", "uploading")
    axe.check(page, f"{where}: uploading")
    gate.release_all()
    expect(scope).to_have_attribute("data-state", "done")
    axe.check(page, f"{where}: done")

    make_error(scope, gate)
    expect(scope).to_have_attribute("data-state", "error")
    expect(part(scope, "error")).not_to_be_empty()
    axe.check(page, f"{where}: error")


def server_error(scope: Locator, gate: UploadGate) -> None:
    """The storage refuses the upload: its message and "Try again" show."""
    gate.fail_next = 1
    pick(scope, "refused.pdf", "application/pdf", PDF_BYTES)
    expect(part(scope, "retry")).to_be_visible()


PDF = ("held.pdf", "application/pdf", PDF_BYTES)


def saved_document() -> Document:
    default_storage.save("documents/saved.pdf", ContentFile(PDF_BYTES))
    default_storage.save("images/saved.png", ContentFile(png_bytes()))
    return Document.objects.create(title="Saved", file="documents/saved.pdf", image="images/saved.png")


def saved_album(photos: int = 1) -> Album:
    album = Album.objects.create(name="Harbour")
    for number in range(photos):
        name = default_storage.save(f"photos/harbour-at-dusk-{number}.png", ContentFile(png_bytes()))
        Photo.objects.create(album=album, caption=f"Dusk {number}", image=name)
    return album


def add_inline_row(page: Page, index: int = 0) -> Locator:
    page.locator("#photos-group .add-row a").filter(has_text="Add another Photo").click()
    row = page.locator(f"#photos-{index}")
    expect(row).to_be_visible()
    return widget(row, f"photos-{index}-image")


def test_demo_form_in_every_state(logged_in_page: Page, live_server, axe: Axe, tmp_path):
    page = logged_in_page
    page.goto("/documents/new/")

    def too_large(scope: Locator, gate: UploadGate) -> None:
        part(scope, "file-input").set_input_files(too_large_pdf(tmp_path))
        expect(part(scope, "error")).to_contain_text("at most 10")

    audit_widget_states(page, axe, widget(page, "file"), where="demo form", file=PDF, make_error=too_large)

    document = saved_document()
    page.goto(f"/documents/{document.pk}/edit/")
    expect(widget(page, "file")).to_have_attribute("data-state", "existing")
    expect(widget(page, "image")).to_have_attribute("data-state", "existing")
    axe.check(page, "demo form: existing file")


def test_admin_change_form_in_every_state(logged_in_page: Page, live_server, axe: Axe):
    page = logged_in_page
    page.goto("/admin/gallery/document/add/")
    audit_widget_states(page, axe, widget(page, "file"), where="admin change form", file=PDF, make_error=server_error)

    document = saved_document()
    page.goto(f"/admin/gallery/document/{document.pk}/change/")
    expect(widget(page, "file")).to_have_attribute("data-state", "existing")
    axe.check(page, "admin change form: existing file")

    # The admin follows the system's dark theme, and the widget's colours follow the admin's. (Switched before
    # loading the page: styles computed before the switch may linger in what axe sees.)
    page.emulate_media(color_scheme="dark")
    page.reload()
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "existing")
    axe.check(page, "admin change form: existing file, dark theme")
    gate = UploadGate(page)
    server_error(file_widget, gate)
    axe.check(page, "admin change form: error, dark theme")


def test_admin_inline_in_every_state(logged_in_page: Page, live_server, axe: Axe):
    page = logged_in_page
    album = saved_album(photos=2)
    page.goto(f"/admin/gallery/album/{album.pk}/change/")
    for index in range(2):
        expect(widget(page, f"photos-{index}-image")).to_have_attribute("data-state", "existing")
    axe.check(page, "admin inline: existing files")

    def wrong_type(scope: Locator, gate: UploadGate) -> None:
        pick(scope, "archive.zip", "application/zip", ZIP_BYTES)
        expect(part(scope, "error")).to_contain_text("not an allowed type")

    image = ("held.png", "image/png", png_bytes())
    audit_widget_states(page, axe, add_inline_row(page, 2), where="admin inline", file=image, make_error=wrong_type)


def test_file_inputs_are_named_by_their_fields_label(logged_in_page: Page, live_server):
    page = logged_in_page
    # A form with <label for>: the label names the input, and nothing else does.
    page.goto("/documents/new/")
    file_input = part(widget(page, "file"), "file-input")
    expect(page.get_by_label("File:", exact=True)).to_have_count(1)
    expect(file_input).to_have_accessible_name("File:")
    expect(file_input).not_to_have_attribute("aria-label", re.compile(".*"))
    expect(file_input).not_to_have_attribute("title", re.compile(".*"))

    # A tabular inline has column headings, no <label>: the widget names the input from the field's label.
    album = saved_album(photos=1)
    page.goto(f"/admin/gallery/album/{album.pk}/change/")
    for scope in (widget(page, "photos-0-image"), add_inline_row(page, 1)):
        file_input = part(scope, "file-input")
        expect(file_input).to_have_accessible_name("Image")
        expect(file_input).not_to_have_attribute("title", re.compile(".*"))
        for button in ("replace", "clear"):
            expect(part(scope, button)).not_to_have_attribute("title", re.compile(".*"))


def test_keyboard_only(logged_in_page: Page, live_server):
    page = logged_in_page
    intercept_file_choosers(page)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    file_input = part(file_widget, "file-input")

    page.get_by_label("Title").focus()
    page.keyboard.press("Tab")
    expect(file_input).to_be_focused()
    # The focus ring is drawn on the drop zone that stands for the invisible input.
    drop_zone = part(file_widget, "drop-zone")
    assert drop_zone.evaluate("(zone) => getComputedStyle(zone).outlineStyle") == "solid"
    for key in ("Enter", " "):
        with page.expect_file_chooser() as chooser_info:
            page.keyboard.press(key)
        assert chooser_info.value.element.get_attribute("id") == "id_file"
    chooser_info.value.set_files(payload("typed.pdf", "application/pdf", PDF_BYTES))
    expect(file_widget).to_have_attribute("data-state", "done")

    # Replace opens the picker from the keyboard too; Remove empties the field and focus stays in the widget.
    page.keyboard.press("Tab")
    expect(part(file_widget, "replace")).to_be_focused()
    with page.expect_file_chooser():
        page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(part(file_widget, "clear")).to_be_focused()
    page.keyboard.press(" ")
    expect(file_widget).to_have_attribute("data-state", "empty")
    expect(file_input).to_be_focused()

    # An upload in progress is cancelled from the keyboard.
    gate = UploadGate(page)
    gate.hold = True
    pick(file_widget, "slow.pdf", "application/pdf", PDF_BYTES)
    gate.wait_until_held()
    page.keyboard.press("Tab")
    expect(part(file_widget, "cancel")).to_be_focused()
    with page.expect_response(is_discard):
        page.keyboard.press("Enter")
    expect(file_widget).to_have_attribute("data-state", "empty")
    gate.held.clear()  # aborted by the page; nothing to release


def test_focus_ring_contrasts_with_the_page(logged_in_page: Page, live_server):
    """WCAG 1.4.11: the focus indicator needs 3:1 against what surrounds it, in the demo and in the admin."""
    page = logged_in_page
    for url, field in (("/documents/new/", "file"), ("/admin/gallery/document/add/", "file")):
        page.goto(url)
        file_widget = widget(page, field)
        part(file_widget, "file-input").focus()
        ratio = part(file_widget, "drop-zone").evaluate(CONTRAST_OF_OUTLINE)
        assert ratio >= 3, f"{url}: focus ring contrast {ratio:.2f}:1"


# The outline's colour against the nearest opaque background behind the drop zone.
CONTRAST_OF_OUTLINE = """(zone) => {
    const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 4).map(Number);
    const luminance = ([r, g, b]) => {
        const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    };
    let element = zone.parentElement;
    let background = [255, 255, 255];
    while (element) {
        const value = rgb(getComputedStyle(element).backgroundColor);
        if (value.length === 3 || value[3] === 1) { background = value.slice(0, 3); break; }
        element = element.parentElement;
    }
    const [a, b] = [luminance(rgb(getComputedStyle(zone).outlineColor)), luminance(background)];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_reduced_motion_turns_transitions_off(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    drop_zone = part(widget(page, "file"), "drop-zone")
    duration = "(zone) => getComputedStyle(zone).transitionDuration"
    page.emulate_media(reduced_motion="no-preference")
    assert drop_zone.evaluate(duration) != "0s"
    page.emulate_media(reduced_motion="reduce")
    assert drop_zone.evaluate(duration) == "0s"
    for role in ("file", "replace", "clear"):
        assert part(widget(page, "file"), role).evaluate("(e) => getComputedStyle(e).transitionDuration") == "0s"


def record_texts(page: Page, scope: Locator, role: str) -> None:
    """Keep every text the live region ``role`` of ``scope`` is given, in order, in ``window.__texts``."""
    part(scope, role).evaluate(
        """(region) => {
            window.__texts = [];
            new MutationObserver(() => window.__texts.push(region.textContent))
                .observe(region, { childList: true, characterData: true, subtree: true });
        }"""
    )


def test_uploaded_is_announced_once_then_leaves_the_page(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    status = part(file_widget, "status")
    expect(status).to_have_attribute("aria-live", "polite")
    record_texts(page, file_widget, "status")

    upload(file_widget, "report.pdf", "application/pdf", PDF_BYTES)
    expect(status).to_have_text("report.pdf uploaded.")
    # Once said, the message goes: the name is shown above it already.
    expect(status).to_be_empty()
    texts = page.evaluate("window.__texts")
    assert texts.count("report.pdf uploaded.") == 1, texts
    assert texts[-1] == "", texts


def test_cancel_clears_the_submit_blocked_message(logged_in_page: Page, live_server):
    page = logged_in_page
    gate = UploadGate(page)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    error = part(file_widget, "error")
    expect(error).to_have_attribute("role", "alert")
    page.get_by_label("Title").fill("Not yet")  # so that the browser's own validation lets the form submit

    gate.hold = True
    pick(file_widget, "slow.pdf", "application/pdf", PDF_BYTES)
    gate.wait_until_held()
    page.get_by_role("button", name="Save").click()
    expect(error).to_have_text("Please wait until the upload has finished, then save again.")

    with page.expect_response(is_discard):
        part(file_widget, "cancel").click()
    expect(file_widget).to_have_attribute("data-state", "empty")
    expect(error).to_be_empty()
    gate.held.clear()


def test_admin_inline_at_375px(logged_in_page: Page, live_server, axe: Axe):
    page = logged_in_page
    page.set_viewport_size({"width": 375, "height": 812})
    album = saved_album(photos=1)
    page.goto(f"/admin/gallery/album/{album.pk}/change/")
    saved = widget(page, "photos-0-image")
    expect(saved).to_have_attribute("data-state", "existing")
    added = add_inline_row(page, 1)
    upload(added, "harbour-at-dawn.png", "image/png", png_bytes())
    axe.check(page, "admin inline at 375 px")

    for scope in (saved, added):
        name = part(scope, "filename")
        lines = name.evaluate("(e) => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)")
        assert lines <= 2.1, f"{name.text_content()!r} takes {lines:.1f} lines"
        # Wide enough for a dozen characters of the name, never a letter or two.
        width = name.evaluate("(e) => e.getBoundingClientRect().width")
        font_size = name.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)")
        assert width >= 6 * font_size, f"{name.text_content()!r} is {width:.0f} px wide"
