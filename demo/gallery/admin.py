from django.contrib import admin

from .models import Album, Document, Photo


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "file", "image"]
    search_fields = ["title"]


class PhotoInline(admin.TabularInline):
    model = Photo
    # No empty rows up front: photos are added with "Add another Photo", which exercises widgets created
    # at run time.
    extra = 0


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    list_display = ["name"]
    inlines = [PhotoInline]
