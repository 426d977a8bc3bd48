from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from alliance_platform.storage.async_uploads.admin import AsyncUploadInlineMixin
from alliance_platform.storage.async_uploads.forms import AsyncFileInput

from .models import Album, Document, Photo


class LabelledInlineFormSet(BaseInlineFormSet):
    """Names each input of a tabular inline after its field's label.

    A tabular inline shows the labels only as column headings, which name no input, so screen readers announce
    a row's text box and checkbox without saying what they are. The upload widget names its file input itself.
    """

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for field in form.fields.values():
            widget = field.widget
            if field.label and not widget.is_hidden and not isinstance(widget, AsyncFileInput):
                widget.attrs.setdefault("aria-label", str(field.label))


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "file", "image"]
    search_fields = ["title"]


class PhotoInline(AsyncUploadInlineMixin, admin.TabularInline):
    model = Photo
    formset = LabelledInlineFormSet
    # No empty rows up front: photos are added with "Add another Photo", or by dropping several image files on
    # the inline (one row each), which exercises widgets created at run time.
    extra = 0


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    list_display = ["name"]
    inlines = [PhotoInline]
