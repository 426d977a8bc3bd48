"""The widget in the Django admin, including inline rows added with "Add another"."""

from __future__ import annotations

import base64
import re

from django.contrib import admin
from playwright.sync_api import Page, expect
import pytest

from alliance_platform.storage.async_uploads.admin import AsyncUploadInlineMixin
from gallery.models import Album, Document, Photo

from .helpers import PDF_BYTES, hidden_value, part, png_bytes, sha256, upload, widget

pytestmark = pytest.mark.browser


def test_admin_add_document(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/admin/gallery/document/add/")
    upload(widget(page, "file"), "admin.pdf", "application/pdf", PDF_BYTES)
    page.get_by_label("Title").fill("From the admin")
    page.locator('input[name="_save"]').click()
    expect(page).to_have_url(re.compile(r"/admin/gallery/document/$"))

    document = Document.objects.get(title="From the admin")
    assert document.file.name.startswith("documents/")
    with document.file.storage.open(document.file.name, "rb") as handle:
        assert sha256(handle.read()) == sha256(PDF_BYTES)


def test_admin_inline_row_added_at_run_time(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/admin/gallery/album/add/")
    page.get_by_label("Name").fill("Holidays")
    # The hidden template row is never set up as a widget.
    template = widget(page, "photos-__prefix__-image")
    expect(template).to_have_count(1)

    # Django renders this link with role="button".
    page.locator("#photos-group .add-row a").filter(has_text="Add another Photo").click()
    row = page.locator("#photos-0")
    expect(row).to_be_visible()
    photo_widget = widget(row, "photos-0-image")
    image = png_bytes(37, 23, "orange")
    value = upload(photo_widget, "beach.png", "image/png", image)
    assert value["key"].startswith("async-temp-files/")
    row.locator('input[name="photos-0-caption"]').fill("Beach")
    # The template row still holds nothing: only the clone was initialised.
    assert hidden_value(template) is None
    expect(template).to_have_attribute("data-state", "empty")

    page.locator('input[name="_save"]').click()
    expect(page).to_have_url(re.compile(r"/admin/gallery/album/$"))

    album = Album.objects.get(name="Holidays")
    photo = Photo.objects.get(album=album)
    assert photo.caption == "Beach"
    assert photo.image.name.startswith("photos/")
    assert (photo.width, photo.height) == (37, 23)
    with photo.image.storage.open(photo.image.name, "rb") as handle:
        assert sha256(handle.read()) == sha256(image)


def drop_files(page: Page, target, files: list[tuple[str, str, bytes]]) -> None:
    """Drag several files onto ``target`` at once: dragenter, dragover, then drop, sharing one DataTransfer."""
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const [name, mime, b64] of files) {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], name, { type: mime }));
            }
            return transfer;
        }""",
        [[name, mime, base64.b64encode(data).decode()] for name, mime, data in files],
    )
    for event in ("dragenter", "dragover", "drop"):
        target.dispatch_event(event, {"dataTransfer": transfer})


def test_dropping_three_files_on_the_inline_adds_three_uploaded_rows(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/admin/gallery/album/add/")
    page.get_by_label("Name").fill("Dropped")
    images = [
        (f"shot-{index}.png", "image/png", png_bytes(10 + index, 20, colour))
        for index, colour in enumerate(["red", "green", "blue"])
    ]
    expect(page.locator("#photos-group .ap-inline-drop__hint")).to_contain_text("Drop files here")

    drop_files(page, page.locator("#photos-group .ap-inline-drop__hint"), images)

    for index, (name, _mime, _data) in enumerate(images):
        row_widget = widget(page.locator(f"#photos-{index}"), f"photos-{index}-image")
        expect(row_widget).to_have_attribute("data-state", "done")
        assert hidden_value(row_widget)["name"] == name
    expect(page.locator("#id_photos-TOTAL_FORMS")).to_have_value("3")
    expect(page.locator("#photos-group .ap-inline-drop__status")).to_contain_text("Files added: 3")

    page.locator('input[name="_save"]').click()
    expect(page).to_have_url(re.compile(r"/admin/gallery/album/$"))

    photos = list(Photo.objects.filter(album__name="Dropped").order_by("pk"))
    assert len(photos) == 3
    for photo, (name, _mime, data) in zip(photos, images, strict=True):
        assert photo.image.name.startswith("photos/") and photo.image.name.endswith(".png")
        with photo.image.storage.open(photo.image.name, "rb") as handle:
            assert sha256(handle.read()) == sha256(data), name


class StackedPhotoInline(AsyncUploadInlineMixin, admin.StackedInline):
    model = Photo
    extra = 1
    max_num = 2


def test_stacked_inline_fills_its_empty_row_and_stops_at_max_num(logged_in_page: Page, live_server, monkeypatch):
    monkeypatch.setattr(admin.site._registry[Album], "inlines", [StackedPhotoInline])
    page = logged_in_page
    page.goto("/admin/gallery/album/add/")
    page.get_by_label("Name").fill("Limited")
    images = [(f"s{index}.png", "image/png", png_bytes(5, 5 + index)) for index in range(3)]
    expect(page.locator("#photos-0")).to_have_class(re.compile(r"\binline-related\b"))

    drop_files(page, page.locator("#photos-group h2"), images)

    # The row rendered empty (extra=1) takes the first file; one more row is added; max_num=2 leaves the third out.
    for index in range(2):
        row_widget = widget(page.locator(f"#photos-{index}"), f"photos-{index}-image")
        expect(row_widget).to_have_attribute("data-state", "done")
        assert hidden_value(row_widget)["name"] == f"s{index}.png"
    expect(page.locator("#id_photos-TOTAL_FORMS")).to_have_value("2")
    expect(page.locator("#photos-2")).to_have_count(0)
    expect(page.locator("#photos-group .ap-inline-drop__status")).to_contain_text(
        "Only 2 of the 3 files were added: this list takes at most 2 rows."
    )

    page.locator('input[name="_save"]').click()
    expect(page).to_have_url(re.compile(r"/admin/gallery/album/$"))
    assert sorted((p.width, p.height) for p in Photo.objects.filter(album__name="Limited")) == [(5, 5), (5, 6)]


def test_one_file_dropped_on_a_rows_widget_replaces_that_rows_file(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/admin/gallery/album/add/")
    page.locator("#photos-group .add-row a").click()
    row_widget = widget(page.locator("#photos-0"), "photos-0-image")
    upload(row_widget, "first.png", "image/png", png_bytes())

    drop_files(page, row_widget, [("second.png", "image/png", png_bytes(9, 9))])

    expect(part(row_widget, "filename")).to_have_text("second.png")
    expect(row_widget).to_have_attribute("data-state", "done")
    assert hidden_value(row_widget)["name"] == "second.png"
    expect(page.locator("#id_photos-TOTAL_FORMS")).to_have_value("1")  # no row was added


def test_three_images_dropped_on_add_photos_become_photo_rows_on_save(logged_in_page: Page, live_server):
    album = Album.objects.create(name="Coast")
    page = logged_in_page
    page.goto(f"/admin/gallery/album/{album.pk}/change/")
    add_photos = widget(page, "add_photos")
    # Named by the admin's own <label for>, like any other field of the change form.
    expect(part(add_photos, "file-input")).to_have_accessible_name("Add photos:")
    images = [
        (f"coast-{index}.png", "image/png", png_bytes(12 + index, 8, colour))
        for index, colour in enumerate(["navy", "olive", "maroon"])
    ]

    drop_files(page, part(add_photos, "drop-zone"), images)

    items = add_photos.locator("[data-upload-item]")
    expect(items).to_have_count(3)
    for index in range(3):
        expect(items.nth(index)).to_have_attribute("data-state", "done")
    # The inline is not where these went: it has no new rows.
    expect(page.locator("#id_photos-TOTAL_FORMS")).to_have_value("0")
    page.locator('input[name="_save"]').click()
    expect(page).to_have_url(re.compile(r"/admin/gallery/album/$"))

    photos = list(album.photos.order_by("pk"))
    assert [(photo.width, photo.height) for photo in photos] == [(12, 8), (13, 8), (14, 8)]
    for photo, (name, _mime, data) in zip(photos, images, strict=True):
        assert photo.image.name == f"photos/{name}"
        with photo.image.storage.open(photo.image.name, "rb") as handle:
            assert sha256(handle.read()) == sha256(data), name
