"""The library's tasks for Django's Tasks framework (``django.tasks`` on Django 6, the ``django-tasks`` backport on
4.2-5.2: ``pip install alliance-platform-storage[tasks]``).

Each task only unpacks JSON arguments and calls the function that owns the rule, so a task run twice, or two
runs at once, are as safe as the function is: promotion and cleanup take each upload's claim first.

Promotion is enqueued by the library itself when ``STORAGE["PROMOTION"] = "task"``. The others are for a
scheduler (cron, RQ's scheduler, Celery beat) to enqueue periodically, e.g.
``cleanup_expired_uploads.enqueue(age_hours=24)``; see docs/operations.md.
"""

from __future__ import annotations

try:
    from django.tasks import task
except ImportError:
    try:
        from django_tasks import task
    except ImportError as exc:
        raise ImportError(
            "Running alliance_platform.storage's work as tasks needs Django 6's django.tasks or the django-tasks "
            "backport: pip install 'alliance-platform-storage[tasks]'."
        ) from exc

from ..settings import storage_settings
from . import cleanup, promotion_jobs


@task()
def promote_upload(field_id: str, record_pk: str, temp_key: str, using: str = "default", attempt: int = 1) -> str:
    """Scan (when a scanner is set) and promote ``temp_key`` for the record; retried with a growing pause."""
    return promotion_jobs.promote_upload(field_id, record_pk, temp_key, using, attempt)


@task()
def resume_promotions(older_than_seconds: float = 300) -> int:
    """Enqueue again the promotions of uploads whose records are saved but still unpromoted (a worker died, the
    broker lost the task); returns how many."""
    return promotion_jobs.resume_promotions(older_than_seconds)


@task()
def cleanup_expired_uploads(age_hours: float = 48, batch_size: int | None = None) -> str:
    """What ``manage.py cleanup_async_temp_files --age AGE_HOURS`` does; returns its summary."""
    report = cleanup.cleanup_expired(age_hours, batch_size=batch_size or storage_settings.CLEANUP_BATCH_SIZE)
    return report.summary(dry_run=False)


@task()
def abort_stale_multipart_uploads(batch_size: int | None = None) -> int:
    """Abort multipart uploads past their upload window; returns how many."""
    report = cleanup.abort_stale_multipart_uploads(batch_size=batch_size or storage_settings.CLEANUP_BATCH_SIZE)
    return report.uploads_aborted


@task()
def delete_replaced_file(field_id: str, name: str, using: str = "default") -> str:
    """Delete ``name``, a file a record of the field let go of, unless a record still holds it (checked again
    here, right before deleting); enqueued after the commit when ``PROMOTION = "task"``. Returns what it did."""
    from . import replaced_files

    return replaced_files.delete_replaced_file(field_id, name, using)
