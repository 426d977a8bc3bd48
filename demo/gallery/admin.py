from django import forms
from django.contrib import admin
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from alliance_platform.storage.async_uploads.admin import AsyncUploadInlineMixin
from alliance_platform.storage.async_uploads.forms import AsyncFileInput, AsyncMultipleFileField

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


class AlbumAdminForm(forms.ModelForm):
    """The album, plus any number of photos dropped at once; ``AlbumAdmin.save_related`` makes them Photo rows."""

    add_photos = AsyncMultipleFileField(Photo._meta.get_field("image"), required=False, label=_("Add photos"))

    class Meta:
        model = Album
        fields = ["name"]


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    form = AlbumAdminForm
    list_display = ["name"]
    inlines = [PhotoInline]

    def save_related(self, request, form, formsets, change):
        # The admin already wraps the whole save in a transaction; the atomic block says that these rows belong
        # with the album and its inline rows: all are saved, or none. Each photo is promoted once it commits.
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            for item in form.cleaned_data["add_photos"]:
                Photo.objects.create(album=form.instance, image=item)
