"""Models that exercise the field options the demo does not."""

import uuid

from django.db import models

from alliance_platform.storage.async_uploads.models import AsyncFileField, AsyncImageField
from alliance_platform.storage.async_uploads.registry import AsyncFieldRegistry
from tests.testapp.storages import cloud_storage

other_registry = AsyncFieldRegistry("other")


class Attachment(models.Model):
    """Permission checks disabled, small limits, PDF only."""

    name = models.CharField(max_length=100, blank=True)
    file = AsyncFileField(
        upload_to="attachments/",
        perm_create=None,
        perm_update=None,
        perm_detail=None,
        max_size=1,
        file_restrictions=[".pdf"],
        blank=True,
    )
    other = AsyncFileField(upload_to="other/", perm_create=None, perm_update=None, perm_detail=None, blank=True)


class Avatar(models.Model):
    """A UUID primary key and an image with dimension fields; uses its own registry."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    image = AsyncImageField(
        upload_to="avatars/",
        width_field="width",
        height_field="height",
        perm_create=None,
        perm_update=None,
        perm_detail=None,
        async_field_registry=other_registry,
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)


class ShortKey(models.Model):
    file = AsyncFileField(max_length=60, perm_create=None, perm_update=None, perm_detail=None)


class CloudDocument(models.Model):
    """Stored in S3 in the S3 tests: 1 MB limit, PDFs and images."""

    title = models.CharField(max_length=100, blank=True)
    file = AsyncFileField(
        storage=cloud_storage,
        upload_to="cloud/",
        perm_create=None,
        perm_update=None,
        perm_detail=None,
        max_size=1,
        file_restrictions=[".pdf", "image/*"],
    )
    image = AsyncImageField(
        storage=cloud_storage,
        upload_to="cloud-images/",
        width_field="width",
        height_field="height",
        perm_create=None,
        perm_update=None,
        perm_detail=None,
        blank=True,
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)


class Picture(models.Model):
    """A concrete parent whose image field (with dimension fields) a multi-table-inheritance child inherits."""

    image = AsyncImageField(
        upload_to="pictures/",
        width_field="width",
        height_field="height",
        perm_create=None,
        perm_update=None,
        perm_detail=None,
        blank=True,
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)


class CaptionedPicture(Picture):
    caption = models.CharField(max_length=100, blank=True)


class PictureProxy(Picture):
    class Meta:
        proxy = True
