"""Promotion as background work: what the ``promote_upload`` and ``resume_promotions`` tasks do.

A task names its upload by field id, record primary key and temporary key (JSON, as every task backend needs), and
promotes it with ``promotion.run_promotion``, which takes the upload's claim and re-reads its state first. That is
what makes a task safe to deliver twice or to run twice at once: the second run finds the record promoted (or the
claim held) and changes nothing.

Failures that may pass (storage unreachable, the scanner down, the claim held by a worker that died) are retried
with a doubling pause, up to ``PROMOTION_ATTEMPTS`` attempts in all, each written on the temp row (``attempts``,
``error``). A task that is lost altogether (the worker killed, the broker restarted) leaves a record holding its
temporary key: its object exists and cleanup keeps it, and ``resume_promotions``, run periodically, finds such
uploads once their claim is free and promotes them.
"""

from __future__ import annotations

from datetime import timedelta
import logging

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..settings import storage_settings
from .background import enqueue
from .promotion import Outcome, run_promotion
from .registry import AsyncFieldRegistry
from .temp_files import AsyncTempFile, ScanStatus

logger = logging.getLogger("alliance_platform.storage")


def promote_upload(field_id: str, record_pk: str, temp_key: str, using: str = "default", attempt: int = 1) -> str:
    """Promote one upload; returns the outcome's name (the task's result, for a person looking at the queue)."""
    field = AsyncFieldRegistry.find_field(field_id)
    if field is None:
        logger.error("Not promoting %s: no async field has the id %s", temp_key, field_id)
        return "unknown field"
    instance = field.model._base_manager.using(using).filter(pk=record_pk).first()
    if instance is None:
        return Outcome.NOTHING_TO_DO.value  # the record was deleted: cleanup removes its upload
    result = run_promotion(field, instance, temp_key, using)
    if result.outcome.may_succeed_later:
        if attempt < storage_settings.PROMOTION_ATTEMPTS:
            delay = storage_settings.PROMOTION_RETRY_DELAY * 2 ** (attempt - 1)
            enqueue("promote_upload", field_id, record_pk, temp_key, using, attempt + 1, delay=delay)
        else:
            logger.error("Promotion of %s for %s pk=%s gave up after %d attempts", temp_key, field, record_pk, attempt)
    return result.outcome.value


def stalled_promotions(older_than_seconds: float, *, using: str = "default"):
    """Uploads a record claimed that are still unpromoted and that nobody is working on: not infected, attempts
    left, no live claim, and verified (or, for a record saved in code without a form, planned) more than
    ``older_than_seconds`` ago, so that the task enqueued at the save has had its chance."""
    now = timezone.now()
    return (
        AsyncTempFile.objects.using(using)
        .exclude(object_id="")
        .filter(moved_to_location="", attempts__lt=storage_settings.PROMOTION_ATTEMPTS)
        .exclude(scan_status=ScanStatus.INFECTED)
        .exclude(lease_token__gt="", lease_expires_at__gte=now)
        .alias(settled_at=Coalesce("verified_at", "created_at"))
        .filter(settled_at__lt=now - timedelta(seconds=older_than_seconds))
    )


def resume_promotions(older_than_seconds: float = 300, *, using: str = "default", batch_size: int = 1000) -> int:
    """Promote (in task mode: enqueue) every stalled upload whose record still holds its temporary key; returns how
    many were resumed. Each promotion takes the upload's claim, so a resumed one racing its own late task is
    promoted once."""
    resumed = 0
    for row in stalled_promotions(older_than_seconds, using=using).order_by("pk")[:batch_size]:
        field = AsyncFieldRegistry.find_field(row.field_id)
        if field is None:
            continue
        instance = field.model._base_manager.using(using).filter(pk=row.object_id, **{field.attname: row.key}).first()
        if instance is None:
            # The record moved on (or is gone): nothing will promote this upload; cleanup removes it when it
            # expires. Counted as an attempt so the sweep stops looking at it.
            AsyncTempFile.objects.using(using).filter(pk=row.pk).update(attempts=F("attempts") + 1)
            continue
        resumed += 1
        if storage_settings.promotes_in_tasks:
            enqueue("promote_upload", row.field_id, row.object_id, row.key, using, row.attempts + 1)
        else:
            run_promotion(field, instance, row.key, using)
    return resumed
