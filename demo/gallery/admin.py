from django.contrib import admin

from alliance_platform.storage.async_uploads.admin import AsyncUploadInlineMixin

from .models import Album, Document, Photo


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "file", "image"]
    search_fields = ["title"]


class PhotoInline(AsyncUploadInlineMixin, admin.TabularInline):
    model = Photo
    # No empty rows up front: photos are added with "Add another Photo", or by dropping several image files on
    # the inline (one row each), which exercises widgets created at run time.
    extra = 0


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    list_display = ["name"]
    inlines = [PhotoInline]
