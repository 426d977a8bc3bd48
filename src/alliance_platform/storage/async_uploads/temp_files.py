"""``AsyncTempFile``: one row per planned upload, from the moment it is planned until cleanup.

The row is the server's memory of an upload: which field it was planned for, who asked, what name the user
picked, and, once submitted, where it was promoted to (so a resubmitted form can be recognised) or why
promotion failed (kept for a person to look at).
"""

from __future__ import annotations

from datetime import timedelta
import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone


def session_fingerprint(session_key: str | None) -> str:
    """Session keys are credentials; the table keeps only a hash of them."""
    if not session_key:
        return ""
    return hashlib.sha256(session_key.encode()).hexdigest()


class AsyncTempFileQuerySet(models.QuerySet):
    def owned_by(self, user, session_key: str | None) -> AsyncTempFileQuerySet:
        if user is not None and user.is_authenticated:
            return self.filter(uploaded_by_id=user.pk)
        fingerprint = session_fingerprint(session_key)
        if not fingerprint:
            return self.none()
        return self.filter(uploaded_by__isnull=True, session_fingerprint=fingerprint)

    def pending(self) -> AsyncTempFileQuerySet:
        """Planned or uploaded, but not promoted yet."""
        return self.filter(moved_to_location="", error="")

    def expired(self, age_hours: float) -> AsyncTempFileQuerySet:
        return self.filter(created_at__lt=timezone.now() - timedelta(hours=age_hours))


class AsyncTempFile(models.Model):
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    original_filename = models.CharField(max_length=1000)
    key = models.CharField(max_length=1000, unique=True)
    field_id = models.CharField(max_length=300)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    session_fingerprint = models.CharField(max_length=64, blank=True, default="")
    declared_size = models.BigIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=255, blank=True, default="")
    # The backend's id of a multipart upload in progress (aborted by cleanup if never completed).
    upload_id = models.CharField(max_length=1024, blank=True, default="")
    # Set once the upload has been promoted: the record (primary key as text) and the final key.
    object_id = models.CharField(max_length=255, blank=True, default="")
    moved_to_location = models.CharField(max_length=1000, blank=True, default="")
    error = models.TextField(blank=True, default="")

    objects = AsyncTempFileQuerySet.as_manager()

    class Meta:
        app_label = "alliance_platform_storage"
        verbose_name = "async temporary file"
        indexes = [
            models.Index(fields=["uploaded_by", "created_at"], name="ap_storage_tmp_user_idx"),
            models.Index(fields=["session_fingerprint", "created_at"], name="ap_storage_tmp_session_idx"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def is_promoted(self) -> bool:
        return bool(self.moved_to_location)
