from django.db import models

from alliance_platform.storage.async_uploads.models import AsyncFileField, AsyncImageField


class Document(models.Model):
    title = models.CharField(max_length=200)
    # PDFs, text files or any image, at most 10 MB.
    file = AsyncFileField(upload_to="documents/", file_restrictions=[".pdf", ".txt", "image/*"], max_size=10)
    image = AsyncImageField(upload_to="images/", width_field="image_width", height_field="image_height", blank=True)
    # Filled in from the image when the record is saved.
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title


class Album(models.Model):
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Photo(models.Model):
    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="photos")
    caption = models.CharField(max_length=200, blank=True)
    image = AsyncImageField(upload_to="photos/", width_field="width", height_field="height")
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)

    def __str__(self) -> str:
        return self.caption or f"Photo {self.pk}"
