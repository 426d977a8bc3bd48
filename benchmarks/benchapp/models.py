"""One model with one async file field; no limits and no permission checks, so anonymous sessions can upload.

The app has no migrations on purpose: the runner creates its table with ``migrate --run-syncdb``.
"""

from django.db import models

from alliance_platform.storage.async_uploads.models import AsyncFileField


class Blob(models.Model):
    file = AsyncFileField(
        upload_to="blobs/",
        max_size=None,
        perm_create=None,
        perm_update=None,
        perm_detail=None,
    )

    class Meta:
        app_label = "benchapp"
