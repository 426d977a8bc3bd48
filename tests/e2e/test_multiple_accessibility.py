"""WCAG 2.2 AA for the widget's multiple-file mode: axe-core finds nothing on the demo's gallery page and on the
admin's album change form ("Add photos") with the widget in each state, and what axe cannot judge is checked
directly: keyboard-only use of the rows, what the live region announces, focus, reduced motion, a 375 px layout.

Uploads are held at the network (``UploadGate``), never waited for with sleeps.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import Locator, Page, expect
import pytest

from gallery.admin import AlbumAdminForm
from gallery.forms import AlbumForm
from gallery.models import Album, Photo

from .axe import Axe
from .helpers import UploadGate, intercept_file_choosers, part, payload, png_bytes, widget
from .test_accessibility import CONTRAST_OF_OUTLINE
from .test_multiple_files import Spec, drop_files, own

pytestmark = pytest.mark.browser

IMAGE = Photo._meta.get_field("image")
MAX_FILES = 10
MiB = 1024 * 1024


class Form:
    """One of the two pages with a multiple widget: where it is, what its field is called, how it is saved."""

    def __init__(self, where: str, url: str, field: str, label: str, save_button: str):
        self.where, self.url, self.field, self.label, self.save_button = where, url, field, label, save_button

    def widget(self, page: Page) -> Locator:
        return widget(page, self.field)

    def save(self, page: Page, name: str) -> None:
        page.get_by_label("Name").fill(name)
        page.locator(self.save_button).click()


GALLERY = Form("gallery page", "/albums/new/", "photos", "Photos:", 'form.document button[type="submit"]')
ADMIN = Form("admin album form", "/admin/gallery/album/add/", "add_photos", "Add photos:", 'input[name="_save"]')


@pytest.fixture
def limits(monkeypatch):
    """Both forms take at most ``MAX_FILES`` files, and the photos at most 1 MB (so a refused file is cheap)."""
    monkeypatch.setattr(AlbumForm.base_fields["photos"], "max_files", MAX_FILES)
    monkeypatch.setattr(AlbumAdminForm.base_fields["add_photos"], "max_files", MAX_FILES)
    monkeypatch.setattr(IMAGE, "max_size", 1)


def rows(scope: Locator) -> Locator:
    return scope.locator("[data-upload-item]")


def row(scope: Locator, name: str) -> Locator:
    return rows(scope).filter(has=scope.page.locator(f'[data-role="filename"]:text-is("{name}")'))


def expect_states(scope: Locator, states: list[str]) -> None:
    expect(rows(scope)).to_have_count(len(states))
    for index, state in enumerate(states):
        expect(rows(scope).nth(index)).to_have_attribute("data-state", state)


def images(prefix: str, count: int, start: int = 0) -> list[Spec]:
    return [Spec(f"{prefix}-{n}.png", 3_000, seed=n) for n in range(start, start + count)]


def refused_in_the_browser() -> list[Spec]:
    """One file over the 1 MB limit and one of a type the field does not take."""
    return [
        Spec("too-large.png", 3 * MiB // 2, seed=30),
        Spec("notes.txt", 2_000, mime="text/plain", head=b"just some text\n", seed=31),
    ]


@pytest.mark.parametrize("form", [GALLERY, ADMIN], ids=["gallery", "admin"])
def test_multiple_widget_in_every_state(logged_in_page: Page, live_server, axe: Axe, limits, form: Form):
    page = logged_in_page
    gate = UploadGate(page)
    page.goto(form.url)
    scope = form.widget(page)
    drop_zone = own(scope, "drop-zone")
    expect(scope).to_have_attribute("data-state", "empty")
    expect(drop_zone).to_contain_text(f"At most {MAX_FILES} files")
    # Named by the page's <label for>, described by the drop zone's hints.
    picker = own(scope, "file-input")
    expect(picker).to_have_accessible_name(form.label)
    expect(picker).to_have_accessible_description(f"Allowed: image/* · up to 1.0 MB At most {MAX_FILES} files")
    axe.check(page, f"{form.where}: empty")

    files = page.evaluate_handle(
        "() => { const t = new DataTransfer(); t.items.add(new File(['x'], 'x.png')); return t; }"
    )
    drop_zone.dispatch_event("dragenter", {"dataTransfer": files})
    expect(scope).to_have_class(re.compile(r"\bis-dragover\b"))
    axe.check(page, f"{form.where}: dragging")
    drop_zone.dispatch_event("dragleave", {"dataTransfer": files})
    expect(scope).not_to_have_class(re.compile(r"\bis-dragover\b"))

    # Three at once (the default concurrency), all held on the wire.
    gate.hold = True
    drop_files(page, drop_zone, images("held", 3))
    gate.wait_until_held(3)
    expect_states(scope, ["uploading"] * 3)
    expect(scope).to_have_attribute("data-state", "uploading")
    axe.check(page, f"{form.where}: several uploading")
    gate.release_all()
    expect_states(scope, ["done"] * 3)
    axe.check(page, f"{form.where}: done")

    drop_files(page, drop_zone, refused_in_the_browser())
    expect(part(row(scope, "too-large.png"), "error")).to_contain_text("files can be at most")
    expect(part(row(scope, "notes.txt"), "error")).to_contain_text("not an allowed type")
    expect_states(scope, ["done"] * 3 + ["error"] * 2)
    axe.check(page, f"{form.where}: refused in the browser")

    # Many rows in mixed states: done, refused, and three more uploading.
    gate.hold = True
    drop_files(page, drop_zone, images("more", 3, start=3))
    gate.wait_until_held(3)
    expect_states(scope, ["done"] * 3 + ["error"] * 2 + ["uploading"] * 3)
    axe.check(page, f"{form.where}: many files")

    # Six places taken (the refused rows take none): five more are too many.
    drop_files(page, drop_zone, images("over", 5, start=6))
    expect(own(scope, "error")).to_have_text(
        f"Too many files: there is room for 4 more (limit: {MAX_FILES}). Choose fewer files."
    )
    expect(rows(scope)).to_have_count(8)
    axe.check(page, f"{form.where}: max files error")
    gate.release_all()
    expect_states(scope, ["done"] * 3 + ["error"] * 2 + ["done"] * 3)

    # Refused by the server: a "PNG" whose content is a PDF, shown again with the reason after the form error.
    page.goto(form.url)
    scope = form.widget(page)
    disguised = Spec("disguised.png", 3_000, head=b"%PDF-1.4\n", seed=40)
    drop_files(page, own(scope, "drop-zone"), [*images("kept", 2), disguised])
    expect_states(scope, ["done"] * 3)
    form.save(page, "Shown again")
    expect(page.locator(".errorlist")).to_contain_text("“disguised.png”")
    scope = form.widget(page)
    expect(part(row(scope, "disguised.png"), "error")).to_contain_text("is not a PNG image")
    expect_states(scope, ["done", "done", "error"])
    axe.check(page, f"{form.where}: refused by the server, form shown again")
    assert not Album.objects.exists()


def saved_album(photos: int) -> Album:
    album = Album.objects.create(name="Harbour")
    for number in range(photos):
        name = default_storage.save(f"photos/harbour-{number}.png", ContentFile(png_bytes()))
        Photo.objects.create(album=album, caption=f"Harbour {number}", image=name)
    return album


def test_saved_album_pages(logged_in_page: Page, live_server, axe: Axe):
    """The album's existing photos (the demo's list, the admin's inline) next to the empty widget."""
    page = logged_in_page
    album = saved_album(photos=2)
    page.goto(f"/albums/{album.pk}/")
    expect(page.get_by_role("list", name="Photos").get_by_role("img")).to_have_count(2)
    expect(GALLERY.widget(page)).to_have_attribute("data-state", "empty")
    axe.check(page, "gallery page: existing album")

    page.goto(f"/admin/gallery/album/{album.pk}/change/")
    for index in range(2):
        expect(widget(page, f"photos-{index}-image")).to_have_attribute("data-state", "existing")
    expect(ADMIN.widget(page)).to_have_attribute("data-state", "empty")
    axe.check(page, "admin album form: existing photos")

    # The admin's dark theme, with rows in it.
    page.emulate_media(color_scheme="dark")
    page.reload()
    scope = ADMIN.widget(page)
    drop_files(page, own(scope, "drop-zone"), [*images("dark", 2), refused_in_the_browser()[1]])
    expect_states(scope, ["done", "done", "error"])
    axe.check(page, "admin album form: rows, dark theme")


def watch_live_region(scope: Locator) -> None:
    """Keep every text the widget's own status region is given, in order, in ``window.__texts``."""
    own(scope, "status").evaluate(
        """(region) => {
            window.__texts = [];
            new MutationObserver(() => window.__texts.push(region.textContent))
                .observe(region, { childList: true, characterData: true, subtree: true });
        }"""
    )


def button(page: Page, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def test_keyboard_only(logged_in_page: Page, live_server):
    page = logged_in_page
    intercept_file_choosers(page)
    page.goto(GALLERY.url)
    scope = GALLERY.widget(page)
    file_input = own(scope, "file-input")

    page.get_by_label("Name").focus()
    page.keyboard.press("Tab")
    expect(file_input).to_be_focused()
    assert own(scope, "drop-zone").evaluate("(zone) => getComputedStyle(zone).outlineStyle") == "solid"
    for key in ("Enter", " "):
        with page.expect_file_chooser() as chooser_info:
            page.keyboard.press(key)
        assert chooser_info.value.is_multiple()
    names = ["first.png", "second.png", "third.png"]
    chooser_info.value.set_files([payload(name, "image/png", png_bytes(10 + n, 10)) for n, name in enumerate(names)])
    expect_states(scope, ["done"] * 3)
    filenames = rows(scope).locator('[data-role="filename"]')
    expect(filenames).to_have_text(names)
    watch_live_region(scope)

    # "Move up" of the first row is disabled, so the next stop is its "Move down".
    page.keyboard.press("Tab")
    down = button(page, "Move down first.png")
    expect(down).to_be_focused()
    assert_visible_focus(down)
    page.keyboard.press("Enter")
    expect(filenames).to_have_text(["second.png", "first.png", "third.png"])
    expect(down).to_be_focused()
    page.keyboard.press(" ")
    expect(filenames).to_have_text(["second.png", "third.png", "first.png"])
    # At the bottom "Move down" is disabled: the focus goes to the row's "Move up", not to the page.
    expect(down).to_be_disabled()
    up = button(page, "Move up first.png")
    expect(up).to_be_focused()
    assert_visible_focus(up)

    # Removing the last row: focus goes to the row that is last now.
    page.keyboard.press("Tab")
    remove = button(page, "Remove first.png")
    expect(remove).to_be_focused()
    assert_visible_focus(remove)
    page.keyboard.press("Enter")
    expect(filenames).to_have_text(["second.png", "third.png"])
    expect(button(page, "Move up third.png")).to_be_focused()

    # Removing the first row: focus goes to the next row's first button ("Move up"/"Move down" leave with a single
    # row).
    page.keyboard.press("Shift+Tab")
    expect(button(page, "Remove second.png")).to_be_focused()
    page.keyboard.press(" ")
    expect(filenames).to_have_text(["third.png"])
    expect(button(page, "Remove third.png")).to_be_focused()

    # Removing the only row: focus goes back to the picker.
    page.keyboard.press("Enter")
    expect(rows(scope)).to_have_count(0)
    expect(file_input).to_be_focused()

    said = [
        "first.png moved to position 2 of 3.",
        "first.png moved to position 3 of 3.",
        "first.png removed.",
        "second.png removed.",
        "third.png removed.",
    ]
    expect(own(scope, "status")).to_have_text(said[-1])
    texts = page.evaluate("window.__texts")
    assert [text for text in texts if text] == said, texts


def assert_visible_focus(element: Locator) -> None:
    """A solid outline with 3:1 against the page (WCAG 1.4.11), as for the single widget's drop zone."""
    assert element.evaluate("(e) => getComputedStyle(e).outlineStyle") == "solid"
    ratio = element.evaluate(CONTRAST_OF_OUTLINE)
    assert ratio >= 3, f"focus ring contrast {ratio:.2f}:1"


# Every transition and animation inside the rows: [element, transition-duration, animation-name].
MOTION_IN_ROWS = """(scope) => [...scope.querySelectorAll("[data-upload-item], [data-upload-item] *")].map((e) => {
    const style = getComputedStyle(e);
    return [e.dataset.role || e.tagName, style.transitionDuration, style.animationName];
})"""


def test_rows_respect_reduced_motion(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto(GALLERY.url)
    scope = GALLERY.widget(page)
    drop_files(page, own(scope, "drop-zone"), images("calm", 2))
    expect_states(scope, ["done", "done"])

    page.emulate_media(reduced_motion="no-preference")
    moving = [entry for entry in scope.evaluate(MOTION_IN_ROWS) if set(entry[1].split(", ")) != {"0s"}]
    assert moving, "the rows' buttons have transitions when motion is welcome"
    page.emulate_media(reduced_motion="reduce")
    still = scope.evaluate(MOTION_IN_ROWS)
    assert all(set(duration.split(", ")) == {"0s"} and animation == "none" for _, duration, animation in still), still


@pytest.mark.parametrize("form", [GALLERY, ADMIN], ids=["gallery", "admin"])
def test_rows_at_375px(logged_in_page: Page, live_server, axe: Axe, limits, form: Form):
    page = logged_in_page
    page.set_viewport_size({"width": 375, "height": 812})
    gate = UploadGate(page)
    page.goto(form.url)
    scope = form.widget(page)
    long_names = [Spec(f"harbour-at-dusk-from-the-pier-{n}.png", 3_000, seed=n) for n in range(3)]
    drop_files(page, own(scope, "drop-zone"), [*long_names, refused_in_the_browser()[1]])
    expect_states(scope, ["done"] * 3 + ["error"])
    gate.hold = True
    drop_files(page, own(scope, "drop-zone"), [Spec("a-long-upload-still-on-its-way.png", 3_000, seed=9)])
    gate.wait_until_held()
    expect_states(scope, ["done"] * 3 + ["error", "uploading"])
    axe.check(page, f"{form.where} at 375 px")

    viewport = page.viewport_size["width"]
    for index in range(rows(scope).count()):
        item = rows(scope).nth(index)
        name = part(item, "filename")
        lines = name.evaluate("(e) => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)")
        assert lines <= 2.1, f"{name.text_content()!r} takes {lines:.1f} lines"
        width = name.evaluate("(e) => e.getBoundingClientRect().width")
        font_size = name.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)")
        assert width >= 6 * font_size, f"{name.text_content()!r} is {width:.0f} px wide"
        for box in visible_button_boxes(item):
            # On screen and big enough to hit (WCAG 2.5.8: 24 by 24 px), its label on one line.
            assert box["left"] >= 0 and box["right"] <= viewport, box
            assert box["width"] >= 24 and box["height"] >= 24, box
            assert box["lines"] <= 1.1, box
    assert scope.evaluate("(e) => e.scrollWidth <= e.clientWidth"), "the widget scrolls sideways"

    # From the picker, Tab reaches the first row's buttons, with a focus ring that shows on this page too.
    own(scope, "file-input").focus()
    page.keyboard.press("Tab")
    first_button = button(page, "Move down harbour-at-dusk-from-the-pier-0.png")
    expect(first_button).to_be_focused()
    assert_visible_focus(first_button)
    gate.release_all()
    expect_states(scope, ["done"] * 3 + ["error", "done"])


def visible_button_boxes(item: Locator) -> list[dict[str, Any]]:
    return item.evaluate(
        """(item) => [...item.querySelectorAll("button")].filter((b) => !b.hidden).map((b) => {
            const box = b.getBoundingClientRect();
            const style = getComputedStyle(b);
            const text = box.height - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
                - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
            return { name: b.getAttribute("aria-label"), left: box.left, right: box.right, width: box.width,
                     height: box.height, lines: text / parseFloat(style.lineHeight) };
        })"""
    )
