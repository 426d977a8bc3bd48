from django.db import models

from alliance_platform.storage.async_uploads.models import AsyncFileField


class Report(models.Model):
    """A mixed-case class name: the content type stores ``report``, the field registry hashes ``Report``."""

    file = AsyncFileField(upload_to="reports/", perm_create=None, perm_update=None, perm_detail=None, blank=True)
