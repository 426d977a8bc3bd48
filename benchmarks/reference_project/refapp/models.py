"""The benchmark model (``benchapp.Blob``) written against the reference: the same field and arguments."""

from django.db import models

from alliance_platform.storage.async_uploads.models import AsyncFileField


class Blob(models.Model):
    file = AsyncFileField(upload_to="blobs/", max_size=None, perm_create=None, perm_update=None, perm_detail=None)

    class Meta:
        app_label = "refapp"
