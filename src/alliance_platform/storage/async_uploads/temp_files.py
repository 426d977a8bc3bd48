"""``AsyncTempFile``: one row per planned upload, from the moment it is planned until cleanup.

The row is the server's memory of an upload: which field it was planned for, who asked, what name the user
picked, and, once submitted, where it was promoted to (so a resubmitted form can be recognised) or why
promotion failed (kept for a person to look at).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..settings import storage_settings

if TYPE_CHECKING:
    from .fields import AsyncFileField
    from .requester import Requester


class AsyncTempFileQuerySet(models.QuerySet):
    def owned_by(self, requester: Requester) -> AsyncTempFileQuerySet:
        return self.filter(requester.ownership_filter())

    def pending(self) -> AsyncTempFileQuerySet:
        """Planned or uploaded, but not promoted yet."""
        return self.filter(moved_to_location="", error="")

    def expired(self, age_hours: float) -> AsyncTempFileQuerySet:
        return self.filter(expired_condition(age_hours))


# The owner recorded for an upload that alliance-platform-storage 0.0.5 planned and nobody had submitted when the
# database was upgraded: 0.0.5 recorded no owner and accepted the key from anyone, so such an upload is accepted
# from whoever submits it first, who then owns it. Never a fingerprint (those are hexadecimal digests).
PLANNED_BEFORE_UPGRADE = "planned-before-upgrade"


class ScanStatus(models.TextChoices):
    CLEAN = "clean", _("clean")
    INFECTED = "infected", _("infected")


def expired_condition(age_hours: float) -> models.Q:
    """Uploads that count as abandoned: planned and last verified more than ``age_hours`` ago, and never younger
    than their upload URL can still be used (a multipart upload: its whole upload window), whatever the age asks,
    so cleanup cannot remove an upload that is still arriving or a form's upload that was just checked."""
    now = timezone.now()
    age = timedelta(hours=age_hours)
    single = now - max(age, timedelta(seconds=storage_settings.UPLOAD_URL_EXPIRY))
    multipart = now - max(age, timedelta(seconds=storage_settings.MULTIPART_UPLOAD_EXPIRY))

    def older_than(cutoff) -> models.Q:
        return models.Q(created_at__lt=cutoff) & (models.Q(verified_at__isnull=True) | models.Q(verified_at__lt=cutoff))

    return (models.Q(upload_id="") & older_than(single)) | (~models.Q(upload_id="") & older_than(multipart))


def minimum_orphan_age() -> timedelta:
    """Objects with no row are never swept while an upload URL could still be writing them."""
    return timedelta(seconds=storage_settings.UPLOAD_URL_EXPIRY)


#: Rows whose promotion has reserved a final name: the condition of the partial index on ``promoting_to``, which a
#: query by that column repeats so that SQLite (which only uses a partial index its query implies) uses it.
RESERVED_NAMES = ~models.Q(promoting_to="")


class AsyncTempFile(models.Model):
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    original_filename = models.CharField(verbose_name=_("original file name"), max_length=1000)
    key = models.CharField(verbose_name=_("key"), max_length=1000, unique=True)
    field_id = models.CharField(verbose_name=_("field"), max_length=300)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        # ap_storage_tmp_user_idx (uploaded_by, created_at) serves every lookup by user: a second index would
        # only make each plan's INSERT dearer.
        db_index=False,
    )
    session_fingerprint = models.CharField(verbose_name=_("session fingerprint"), max_length=64, blank=True, default="")
    declared_size = models.BigIntegerField(verbose_name=_("declared size"), null=True, blank=True)
    content_type = models.CharField(verbose_name=_("content type"), max_length=255, blank=True, default="")
    # The backend's id of a multipart upload in progress (aborted by cleanup if never completed).
    upload_id = models.CharField(verbose_name=_("multipart upload ID"), max_length=1024, blank=True, default="")
    # The record (primary key as text) the upload was planned for; empty when planned for a new record. A key
    # planned for one record cannot be submitted to another without that record's permission.
    planned_for = models.CharField(verbose_name=_("planned for record"), max_length=255, blank=True, default="")
    # When the upload last passed verification, and the version (ETag) of the object it checked: promotion
    # copies only that version, and cleanup counts an upload's age from its last verification.
    verified_at = models.DateTimeField(verbose_name=_("verified at"), null=True, blank=True)
    verified_version = models.CharField(verbose_name=_("verified version"), max_length=255, blank=True, default="")
    # The claim lock (see ``claims``): who is acting on this upload right now, and until when at most.
    lease_token = models.CharField(verbose_name=_("lease token"), max_length=32, blank=True, default="")
    lease_expires_at = models.DateTimeField(verbose_name=_("lease expires at"), null=True, blank=True)
    # Set when a second record was saved with this key after another had claimed it (a double submit): the
    # temporary object then stays until no record holds it, so the second record can make its own copy.
    contended = models.BooleanField(verbose_name=_("contended"), default=False)
    # Set once the upload has been promoted: the record (primary key as text) and the final key.
    object_id = models.CharField(verbose_name=_("record"), max_length=255, blank=True, default="")
    # The final key a promotion chose before it started copying: a promotion interrupted after the copy (a worker
    # killed) finishes at the same key instead of leaving a second copy, and no other upload is given that name.
    promoting_to = models.CharField(verbose_name=_("promoting to"), max_length=1000, blank=True, default="")
    # How many times promotion was attempted; background promotion stops retrying after PROMOTION_ATTEMPTS.
    attempts = models.PositiveIntegerField(verbose_name=_("promotion attempts"), default=0)
    # The scanner's verdict on the verified version (empty: not scanned yet, or no scanner), and what it found.
    scan_status = models.CharField(
        verbose_name=_("scan status"), max_length=16, blank=True, default="", choices=ScanStatus.choices
    )
    threat = models.CharField(verbose_name=_("threat found"), max_length=255, blank=True, default="")
    moved_to_location = models.CharField(verbose_name=_("promoted to"), max_length=1000, blank=True, default="")
    error = models.TextField(verbose_name=_("error"), blank=True, default="")

    objects = AsyncTempFileQuerySet.as_manager()

    class Meta:
        app_label = "alliance_platform_storage"
        verbose_name = _("async temporary file")
        verbose_name_plural = _("async temporary files")
        # The INSERT of a plan is the hot path: every index is partial, so a row is entered only in the one owner
        # index it is looked up by (the user's, or for anonymous uploads the browser's) and in the reserved-name
        # index only while a promotion holds a name; created_at has none (cleanup and the admin scan a table that
        # only holds uploads of the last days). The queries imply each condition (``uploaded_by = x``;
        # ``uploaded_by IS NULL AND session_fingerprint IN ...``; ``RESERVED_NAMES``), so SQLite uses the indexes.
        indexes = [
            models.Index(
                fields=["uploaded_by", "created_at"],
                name="ap_storage_tmp_user_idx",
                condition=models.Q(uploaded_by__isnull=False),
            ),
            models.Index(
                fields=["session_fingerprint"],
                name="ap_storage_tmp_session_idx",
                condition=models.Q(uploaded_by__isnull=True),
            ),
            models.Index(fields=["promoting_to"], name="ap_storage_tmp_promoting_idx", condition=RESERVED_NAMES),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def planned_before_upgrade(self) -> bool:
        return self.uploaded_by_id is None and self.session_fingerprint == PLANNED_BEFORE_UPGRADE

    @classmethod
    def create_for_field(
        cls, field: AsyncFileField, filename: str, *, key: str | None = None, **values: Any
    ) -> AsyncTempFile:
        """A new row, with a fresh temporary key from the field's storage, for an upload of ``filename`` to
        ``field`` (the reference documents this for projects' own tests; the plan endpoint makes its rows here).

        ``values`` sets further columns, such as the owner (``uploaded_by`` or ``session_fingerprint``): a row
        without one is refused by form and serializer verification, which accepts an upload only from whoever
        planned it. ``key`` is one the caller already took from ``field.storage.generate_temporary_path`` (the plan
        endpoint signs its upload URL first). ``SuspiciousFileOperation`` when no key for ``filename`` fits the
        field's ``max_length``.
        """
        if key is None:
            key = field.storage.generate_temporary_path(filename, max_length=field.max_length)
        return cls.objects.create(key=key, original_filename=filename, field_id=field.async_field_id, **values)

    @property
    def field_name(self) -> str:
        """The name of the model field the upload is for (the reference's column; here the end of ``field_id``)."""
        return self.field_id.rsplit(".", 1)[-1]

    @property
    def is_promoted(self) -> bool:
        return bool(self.moved_to_location)

    @property
    def is_infected(self) -> bool:
        return self.scan_status == ScanStatus.INFECTED
