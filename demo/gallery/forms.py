from django import forms
from django.db import transaction

from alliance_platform.storage.async_uploads.forms import AsyncMultipleFileField

from .models import Album, Document, Photo


class DocumentForm(forms.ModelForm):
    class Meta:
        model = Document
        fields = ["title", "file", "image"]


class AlbumForm(forms.ModelForm):
    """An album and the photos dropped for it; each photo becomes a ``Photo`` row of the album."""

    photos = AsyncMultipleFileField(Photo._meta.get_field("image"), max_files=20)

    class Meta:
        model = Album
        fields = ["name", "photos"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A new album needs photos; an existing one can be renamed without adding any.
        self.fields["photos"].required = self.instance._state.adding

    def save(self, commit: bool = True) -> Album:
        if not commit:
            return super().save(commit=False)
        # One transaction: the album and all its photos are saved, or none; each photo is promoted from its
        # temporary key once it commits.
        with transaction.atomic():
            album = super().save()
            for item in self.cleaned_data["photos"]:
                Photo.objects.create(album=album, image=item)
        return album
