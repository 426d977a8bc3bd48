from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from .async_uploads.temp_files import AsyncTempFile

# Keys and final locations are long paths; the changelist shows their ends (where the file name is) and the
# whole value on hover, so every column fits without scrolling sideways.
_PATH_LENGTH = 48
_ERROR_LENGTH = 80


def _shortened(text: str, length: int) -> str:
    """``text`` with its middle elided when longer than ``length``: both ends of a path say the most."""
    if len(text) <= length:
        return text
    head = length // 3
    return f"{text[:head]}…{text[-(length - head - 1) :]}"


def _cell(text: str, length: int, *, keep_end: bool = True) -> str:
    """A cell showing ``text`` shortened to ``length`` (keeping its end, for paths; else its start), whole on hover."""
    if not text:
        return "-"
    short = _shortened(text, length) if keep_end else Truncator(text).chars(length)
    if short == text:
        return text
    return format_html('<span title="{}">{}</span>', text, short)


@admin.register(AsyncTempFile)
class AsyncTempFileAdmin(admin.ModelAdmin):
    """Read-only view of planned uploads, mainly to look at promotion failures: where each upload went, or why
    it did not, in the changelist itself."""

    list_display = ["original_filename", "size", "created_at", "uploaded_by", "moved_to", "error_message", "short_key"]
    list_display_links = ["original_filename"]
    list_filter = ["created_at", "scan_status"]
    search_fields = ["key", "original_filename", "moved_to_location", "error", "threat"]
    date_hierarchy = "created_at"
    list_select_related = ["uploaded_by"]
    readonly_fields = ["size"]
    fields = [
        "original_filename",
        "key",
        "field_id",
        "size",
        "content_type",
        "created_at",
        "uploaded_by",
        "planned_for",
        "verified_at",
        "object_id",
        "promoting_to",
        "moved_to_location",
        "attempts",
        "scan_status",
        "threat",
        "error",
        "upload_id",
    ]

    @admin.display(description=_("size"), ordering="declared_size")
    def size(self, obj: AsyncTempFile) -> str:
        """The size the browser declared when planning, as the widget shows sizes (``filesizeformat``)."""
        return filesizeformat(obj.declared_size) if obj.declared_size is not None else "-"

    @admin.display(description=_("moved to"), ordering="moved_to_location")
    def moved_to(self, obj: AsyncTempFile) -> str:
        return _cell(obj.moved_to_location, _PATH_LENGTH)

    @admin.display(description=_("error"), ordering="error")
    def error_message(self, obj: AsyncTempFile) -> str:
        return _cell(obj.error, _ERROR_LENGTH, keep_end=False)

    @admin.display(description=_("temporary key"), ordering="key")
    def short_key(self, obj: AsyncTempFile) -> str:
        return _cell(obj.key, _PATH_LENGTH)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
