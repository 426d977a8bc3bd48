"""The admin pages the package adds: the temporary-file changelist, and the inline mixin for dropped files."""

from __future__ import annotations

import json
import re

from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
import pytest

from alliance_platform.storage.async_uploads.admin import AsyncUploadInlineMixin, ModuleScript
from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile
from gallery.models import Album, Document, Photo

pytestmark = pytest.mark.django_db

LONG_KEY = "async-temp-files/2026/11/25/3f9c2a7d1e0b4c5a6d7e8f90a1b2c3d4-quarterly-report-final.pdf"


@pytest.fixture
def rows(django_user_model):
    user = django_user_model.objects.create_user("uploader")
    promoted = AsyncTempFile.objects.create(
        key=LONG_KEY,
        original_filename="quarterly-report-final.pdf",
        field_id="gallery.document.file",
        uploaded_by=user,
        declared_size=1572864,
        object_id="7",
        moved_to_location="documents/quarterly-report-final.pdf",
    )
    failed = AsyncTempFile.objects.create(
        key="async-temp-files/2026/11/25/aaaa-photo.png",
        original_filename="photo.png",
        field_id="gallery.photo.image",
        declared_size=2048,
        error="Copy failed: the storage answered 503 Service Unavailable. " * 3,
    )
    return promoted, failed


def test_changelist_shows_sizes_locations_and_errors_readably(admin_client, rows):
    response = admin_client.get("/admin/alliance_platform_storage/asynctempfile/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "1.5\xa0MB" in html and "2.0\xa0KB" in html, "human sizes, as the widget shows them"
    assert "1572864" not in html
    assert "documents/quarterly-report-final.pdf" in html, "moved-to is a column of its own"
    # The long key and error are shortened in the cell and complete in its title.
    assert f'title="{LONG_KEY}"' in html
    assert re.search(r">async-temp-files…[^<]*-report-final\.pdf<", html)
    assert re.search(r">Copy failed: the storage answered 503[^<]*…<", html)
    _, failed = rows
    assert f'title="{failed.error}"' in html, "the whole error on hover"


def test_change_view_shows_the_size_in_words(admin_client, rows):
    promoted, _ = rows
    response = admin_client.get(f"/admin/alliance_platform_storage/asynctempfile/{promoted.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "1.5\xa0MB" in html and "1572864" not in html
    assert "documents/quarterly-report-final.pdf" in html


# AsyncUploadInlineMixin


class PhotoDropInline(AsyncUploadInlineMixin, admin.TabularInline):
    model = Photo


def inline(inline_class) -> admin.options.InlineModelAdmin:
    return inline_class(Album, admin.site)


def test_the_inline_loads_the_drop_script_as_a_module_once(rf):
    media = inline(PhotoDropInline).media + inline(PhotoDropInline).media
    rendered = str(media)
    assert rendered.count('<script type="module" src="/static/alliance_platform/storage/inline-drop.js">') == 1
    assert "inline-drop.css" in rendered
    assert ModuleScript("a.js") == ModuleScript("a.js") != ModuleScript("b.js")


def test_the_async_field_of_the_inline_carries_the_drop_mark_and_texts(rf, admin_user):
    request = rf.get("/")
    request.user = admin_user
    formset_class = inline(PhotoDropInline).get_formset(request)
    widget = formset_class.form.base_fields["image"].widget
    texts = json.loads(widget.attrs["data-inline-drop"])
    assert texts["hint"] == "Drop files here to add a photo for each."
    assert set(texts) == {"hint", "added", "partial"}
    assert "data-inline-drop" not in formset_class.form.base_fields["caption"].widget.attrs


def test_a_model_with_several_async_fields_needs_bulk_upload_field():
    class DocumentInline(AsyncUploadInlineMixin, admin.TabularInline):
        model = Document

    with pytest.raises(ImproperlyConfigured, match="needs bulk_upload_field"):
        inline(DocumentInline).get_bulk_upload_field()

    DocumentInline.bulk_upload_field = "image"
    assert inline(DocumentInline).get_bulk_upload_field() == "image"
    DocumentInline.bulk_upload_field = "title"
    with pytest.raises(ImproperlyConfigured, match="not an async file field"):
        inline(DocumentInline).get_bulk_upload_field()
