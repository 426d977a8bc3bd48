from django.db import models

from alliance_platform.storage.async_uploads.models import AsyncFileField, AsyncImageField


class Note(models.Model):
    """The reference's usage example: a file field, and an image field (optional here)."""

    title = models.CharField(max_length=100)
    file = AsyncFileField()
    image = AsyncImageField(blank=True)
