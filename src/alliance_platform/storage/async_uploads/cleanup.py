"""Removing uploads that were never submitted, in batches that each commit on their own (so a run that is
interrupted loses nothing and the next run carries on).

Rules: a row is deleted only after its object is gone; rows with an error are kept for a person to look at; a
temporary key that a saved record still holds (the process died before promoting it) is promoted now rather
than deleted; rows whose model or field no longer exists are cleaned up through the default storage.

Every batch is read as a snapshot, then leased (``claims.claim_batch``: only rows that nobody else holds and that
still count as expired) and each row won is checked again before anything is deleted. A submit verifying an
upload, a promotion or another cleanup run holding a row makes this run skip it; an upload counts as expired
only when it was planned and last verified long enough ago (``temp_files.expired_condition``), so a form that
submitted it a moment ago can still save it.

Then the temporary area itself is swept: objects (and unfinished multipart uploads) older than the same age that
no row accounts for, left by a crash between steps, a restored database or rows deleted by hand, are removed,
unless a record still holds the key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field as dataclass_field
from datetime import datetime, timedelta
import logging
from typing import TypeVar

from django.core.files.storage import default_storage
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..settings import storage_settings
from .claims import claim_batch, release_batch
from .fields import AsyncFileField
from .promotion import promote
from .registry import AsyncFieldRegistry
from .storage.base import AsyncUploadStorage
from .temp_files import AsyncTempFile, expired_condition, minimum_orphan_age

logger = logging.getLogger("alliance_platform.storage")
T = TypeVar("T")


@dataclass
class CleanupReport:
    deleted_rows: int = 0
    deleted_objects: int = 0
    failed: int = 0
    promoted: int = 0
    unknown_storage: int = 0
    kept_with_error: int = 0
    orphans_deleted: int = 0
    uploads_aborted: int = 0
    failures: list[str] = dataclass_field(default_factory=list)

    def summary(self, dry_run: bool) -> str:
        verb = "Would delete" if dry_run else "Deleted"
        return (
            f"{verb} {self.deleted_rows} expired temporary uploads; promoted {self.promoted} still in use; "
            f"kept {self.kept_with_error} with errors, {self.failed} whose object could not be deleted, "
            f"{self.unknown_storage} with no known storage. {verb} {self.orphans_deleted} orphaned temporary "
            f"objects and {self.uploads_aborted} orphaned multipart uploads."
        )


def cleanup_expired(age_hours: float, *, batch_size: int = 1000, dry_run: bool = False) -> CleanupReport:
    report = CleanupReport()
    condition = expired_condition(age_hours) & Q(error="")
    report.kept_with_error = AsyncTempFile.objects.expired(age_hours).exclude(error="").count()
    candidates = AsyncTempFile.objects.filter(condition).order_by("pk")
    last_pk = 0
    while True:
        batch = list(candidates.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            break
        last_pk = batch[-1].pk
        _cleanup_batch(batch, condition, report, dry_run)
    sweep_orphans(age_hours, report, batch_size=batch_size, dry_run=dry_run)
    return report


def _cleanup_batch(batch: list[AsyncTempFile], condition: Q, report: CleanupReport, dry_run: bool) -> None:
    # Records that still hold their claimed temporary key are promoted (each promotion takes its own claim).
    in_use = _rows_still_referenced(_unpromoted_by_field(batch), report, dry_run)
    remaining = [row for row in batch if row.pk not in in_use]
    if dry_run:
        report.deleted_rows += sum(1 for row in remaining if _storage_of(row) is not None)
        report.unknown_storage += sum(1 for row in remaining if _storage_of(row) is None)
        return
    won, token = claim_batch([row.pk for row in remaining], condition)
    try:
        _delete_claimed(won, report)
    finally:
        release_batch(token)


def _storage_of(row: AsyncTempFile) -> AsyncUploadStorage | None:
    field = AsyncFieldRegistry.find_field(row.field_id)
    return field.storage if field is not None else _fallback_storage()


def _unpromoted_by_field(rows: Iterable[AsyncTempFile]) -> dict[AsyncFileField, list[AsyncTempFile]]:
    return _rows_by_field(row for row in rows if not row.moved_to_location)


def _delete_claimed(rows: list[AsyncTempFile], report: CleanupReport) -> None:
    """Delete the objects and rows of ``rows`` (leased by us and read afresh), except any still in use."""
    still_held = _held_keys(rows)
    by_storage: dict[int, tuple[AsyncUploadStorage, list[AsyncTempFile]]] = {}
    for row in rows:
        if row.key in still_held:
            continue
        storage = _storage_of(row)
        if storage is None:
            report.unknown_storage += 1
            continue
        by_storage.setdefault(id(storage), (storage, []))[1].append(row)
    for storage, storage_rows in by_storage.values():
        _abort_incomplete_uploads(storage, storage_rows)
        failures = storage.delete_many(row.key for row in storage_rows)
        for key, exc in failures.items():
            logger.warning("Could not delete expired temporary upload %s: %s", key, exc)
            report.failures.append(key)
        deletable = [row.pk for row in storage_rows if row.key not in failures]
        report.failed += len(storage_rows) - len(deletable)
        report.deleted_objects += len(deletable)
        report.deleted_rows += AsyncTempFile.objects.filter(pk__in=deletable).delete()[0]


def _held_keys(rows: list[AsyncTempFile]) -> set[str]:
    """Keys of ``rows`` that a record holds: claimed ones by their claimant (promoted by the next run), and
    contended ones (a double submit's second record) by any record of the field."""
    held: set[str] = set()
    for field, field_rows in _rows_by_field(rows).items():
        held.update(getattr(instance, field.attname).name for instance, _row in _claimants_holding(field, field_rows))
        contended = [row.key for row in field_rows if row.contended]
        if contended:
            held.update(
                field.model._base_manager.filter(**{f"{field.attname}__in": contended}).values_list(
                    field.attname, flat=True
                )
            )
    return held


def _claimants_holding(
    field: AsyncFileField, rows: list[AsyncTempFile]
) -> Iterator[tuple[models.Model, AsyncTempFile]]:
    """The records that claimed one of the unpromoted ``rows`` and still hold its key, with that row.

    Saving a record claims the upload (``object_id``) in the same transaction, so only claimed rows can be held,
    and their records are looked up by primary key rather than by scanning the file column.
    """
    claimed = {row.key: row for row in rows if row.object_id and not row.moved_to_location}
    if not claimed:
        return
    pks = {row.object_id for row in claimed.values()}
    for instance in field.model._base_manager.filter(pk__in=pks, **{f"{field.attname}__in": list(claimed)}):
        yield instance, claimed[getattr(instance, field.attname).name]


def _rows_by_field(rows: Iterable[AsyncTempFile]) -> dict[AsyncFileField, list[AsyncTempFile]]:
    by_field: dict[AsyncFileField, list[AsyncTempFile]] = defaultdict(list)
    for row in rows:
        field = AsyncFieldRegistry.find_field(row.field_id)
        if field is not None:
            by_field[field].append(row)
    return by_field


def _abort_incomplete_uploads(storage: AsyncUploadStorage, rows: list[AsyncTempFile]) -> None:
    """Parts of multipart uploads never completed cost storage until aborted; they are invisible as objects."""
    for row in rows:
        if row.upload_id and not row.moved_to_location and storage.supports_multipart:
            _abort_upload(storage, row.key, row.upload_id)


def _abort_upload(storage: AsyncUploadStorage, key: str, upload_id: str) -> bool:
    """Abort one multipart upload; a failure is logged (the next run tries again) and reported as ``False``."""
    try:
        storage.abort_multipart_upload(key, upload_id)
    except Exception as exc:
        logger.warning("Could not abort multipart upload %s of %s: %s", upload_id, key, exc)
        return False
    return True


def _rows_still_referenced(
    unsubmitted_by_field: dict[AsyncFileField, list[AsyncTempFile]], report: CleanupReport, dry_run: bool
) -> set[int]:
    """Rows whose temporary key a record still holds: promote them (their record must not lose its file)."""
    in_use: set[int] = set()
    for field, rows in unsubmitted_by_field.items():
        for instance, row in _claimants_holding(field, rows):
            in_use.add(row.pk)
            if not dry_run and promote(field, instance, row.key) is not None:
                report.promoted += 1
    return in_use


def sweep_orphans(age_hours: float, report: CleanupReport, *, batch_size: int = 1000, dry_run: bool = False) -> None:
    """Delete temporary objects older than ``age_hours`` that have no row, and abort such multipart uploads."""
    cutoff = timezone.now() - max(timedelta(hours=age_hours), minimum_orphan_age())
    for storage in _distinct_storages():
        try:
            _sweep_storage(storage, cutoff, report, batch_size, dry_run)
        except Exception as exc:
            # One unreachable bucket must not stop the others from being swept; the next run tries again.
            logger.warning("Could not sweep the temporary area of %s: %s", _describe_storage(storage), exc)
            report.failures.append(_describe_storage(storage))


def abort_stale_multipart_uploads(*, batch_size: int = 1000) -> CleanupReport:
    """Abort the multipart uploads (block lists) whose upload window (``MULTIPART_UPLOAD_EXPIRY``) has passed:
    their parts cost storage and can no longer be completed. Uploads a record claimed are left alone (their
    object is complete, or promotion is on its way); rows stay for ``cleanup_expired``, with the upload id cleared
    once aborted. Unfinished uploads no row accounts for are aborted too. Cheaper than a full cleanup, so it can
    run often."""
    report = CleanupReport()
    cutoff = timezone.now() - timedelta(seconds=storage_settings.MULTIPART_UPLOAD_EXPIRY)
    condition = ~Q(upload_id="") & Q(object_id="", moved_to_location="", created_at__lt=cutoff)
    candidates = AsyncTempFile.objects.filter(condition).order_by("pk")
    last_pk = 0
    while batch := list(candidates.filter(pk__gt=last_pk).values_list("pk", flat=True)[:batch_size]):
        last_pk = batch[-1]
        won, token = claim_batch(batch, condition)
        try:
            for row in won:
                storage = _storage_of(row)
                if (
                    storage is not None
                    and storage.supports_multipart
                    and _abort_upload(storage, row.key, row.upload_id)
                ):
                    AsyncTempFile.objects.filter(pk=row.pk).update(upload_id="")
                    report.uploads_aborted += 1
        finally:
            release_batch(token)
    for storage in _distinct_storages():
        try:
            _abort_orphaned_uploads(storage, cutoff, report, batch_size, dry_run=False)
        except Exception as exc:
            logger.warning("Could not list the unfinished uploads of %s: %s", _describe_storage(storage), exc)
            report.failures.append(_describe_storage(storage))
    return report


def _sweep_storage(
    storage: AsyncUploadStorage, cutoff: datetime, report: CleanupReport, batch_size: int, dry_run: bool
) -> None:
    for keys in _batched(storage.list_temporary_objects(cutoff), batch_size):
        orphans = _unaccounted_for(keys)
        if dry_run:
            report.orphans_deleted += len(orphans)
            continue
        failures = storage.delete_many(orphans)
        for key, exc in failures.items():
            logger.warning("Could not delete orphaned temporary object %s: %s", key, exc)
            report.failures.append(key)
        report.orphans_deleted += len(orphans) - len(failures)
    _abort_orphaned_uploads(storage, cutoff, report, batch_size, dry_run)


def _abort_orphaned_uploads(
    storage: AsyncUploadStorage, cutoff: datetime, report: CleanupReport, batch_size: int, dry_run: bool
) -> None:
    for uploads in _batched(storage.list_incomplete_uploads(cutoff), batch_size):
        known = set(
            AsyncTempFile.objects.filter(upload_id__in=[upload_id for _key, upload_id in uploads]).values_list(
                "upload_id", flat=True
            )
        )
        for key, upload_id in uploads:
            if upload_id in known:
                continue  # its row is cleaned up (and the upload aborted) by the expiry rules above
            if dry_run or _abort_upload(storage, key, upload_id):
                report.uploads_aborted += 1


def _describe_storage(storage: AsyncUploadStorage) -> str:
    return storage.cors_target() or f"{type(storage).__name__} at {getattr(storage, 'location', '?')}"


def _distinct_storages() -> list[AsyncUploadStorage]:
    """Each storage an async field uses, once per configuration (fields often share one under different objects)."""
    found: dict[str, AsyncUploadStorage] = {}
    for storage in AsyncFieldRegistry.all_storages():
        path, args, kwargs = storage.deconstruct()
        found.setdefault(repr((path, args, sorted(kwargs.items()))), storage)
    return list(found.values())


def _unaccounted_for(keys: list[str]) -> list[str]:
    """Those of ``keys`` that no temp row names and no record of an async field holds."""
    known = set(AsyncTempFile.objects.filter(key__in=keys).values_list("key", flat=True))
    orphans = [key for key in keys if key not in known]
    if not orphans:
        return []
    held: set[str] = set()
    for field in set(AsyncFieldRegistry.all_fields()):
        held.update(
            field.model._base_manager.filter(**{f"{field.attname}__in": orphans}).values_list(field.attname, flat=True)
        )
    return [key for key in orphans if key not in held]


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fallback_storage() -> AsyncUploadStorage | None:
    """Rows of removed models or fields: their objects live in the default storage when that is an async one."""
    return default_storage if isinstance(default_storage, AsyncUploadStorage) else None
