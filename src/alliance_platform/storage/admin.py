from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .async_uploads.temp_files import AsyncTempFile


@admin.register(AsyncTempFile)
class AsyncTempFileAdmin(admin.ModelAdmin):
    """Read-only view of planned uploads, mainly to look at promotion failures."""

    list_display = ["key", "original_filename", "created_at", "uploaded_by", "moved_to_location", "has_error"]
    list_filter = ["created_at"]
    search_fields = ["key", "original_filename", "moved_to_location", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["uploaded_by"]

    @admin.display(boolean=True, description=_("error"))
    def has_error(self, obj: AsyncTempFile) -> bool:
        return bool(obj.error)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
