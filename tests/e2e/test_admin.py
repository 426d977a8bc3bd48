"""The widget in the Django admin, including inline rows added with "Add another"."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
import pytest

from gallery.models import Album, Document, Photo

from .helpers import PDF_BYTES, hidden_value, png_bytes, sha256, upload, widget

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
