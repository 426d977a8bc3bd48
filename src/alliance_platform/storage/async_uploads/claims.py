"""The claim protocol: one actor at a time acts on an upload, and it re-reads the upload's state before acting.

Verifying a submitted key, promoting it and cleaning it up all take the upload's temp row first. The lock is a
lease written by a conditional ``UPDATE`` (``... SET lease_token = <mine> WHERE lease is free``): the database
lets exactly one writer win, on PostgreSQL and SQLite alike, and the winner then reads the row afresh. A lease
rather than ``SELECT ... FOR UPDATE`` because the work done under it is storage calls (a server-side copy of a
large object can take minutes) during which no database transaction should stay open, and because a lease held
by a process that died simply expires (``CLAIM_TIMEOUT``) instead of needing a person to notice.

Cleanup leases whole batches with one statement and acts only on the rows it won, skipping the others, which is
what ``SKIP LOCKED`` gives on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
import secrets
import time

from django.db.models import Q
from django.utils import timezone

from ..settings import storage_settings
from .temp_files import AsyncTempFile


def _new_token() -> str:
    return secrets.token_hex(16)


def _free() -> Q:
    return Q(lease_token="") | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=timezone.now())


def _lease_values(token: str) -> dict:
    return {
        "lease_token": token,
        "lease_expires_at": timezone.now() + timedelta(seconds=storage_settings.CLAIM_TIMEOUT),
    }


def try_claim(key: str, *, using: str = "default") -> tuple[AsyncTempFile | None, str]:
    """Take the lease on ``key``'s row if nobody holds it: the row as it is now, and the token to release it with.

    ``(None, "")`` when there is no row or another actor holds it.
    """
    token = _new_token()
    rows = AsyncTempFile.objects.using(using)
    if not rows.filter(_free(), key=key).update(**_lease_values(token)):
        return None, ""
    return rows.filter(key=key, lease_token=token).first(), token


def release(pk: int, token: str, *, using: str = "default") -> None:
    """Give the lease back (only ours: after an expiry another actor may hold it now)."""
    AsyncTempFile.objects.using(using).filter(pk=pk, lease_token=token).update(lease_token="", lease_expires_at=None)


def finish(row: AsyncTempFile, *, using: str = "default", **values) -> None:
    """Write ``values`` and give the lease back in one statement, at the end of the work done under it."""
    AsyncTempFile.objects.using(using).filter(pk=row.pk, lease_token=row.lease_token).update(
        lease_token="", lease_expires_at=None, **values
    )
    row._claim_finished = True


class ClaimTimeout(Exception):
    """Another actor held the upload for longer than the caller could wait."""


@contextmanager
def claimed(key: str, *, wait: float | None = None, using: str = "default") -> Iterator[AsyncTempFile | None]:
    """Hold ``key``'s row for the duration of the block; yields ``None`` when the row does not exist.

    Waits up to ``wait`` seconds (``CLAIM_WAIT`` by default) for another actor to finish, polling with a growing
    pause, then raises ``ClaimTimeout``.
    """
    deadline = time.monotonic() + (storage_settings.CLAIM_WAIT if wait is None else wait)
    pause = 0.005
    while True:
        row, token = try_claim(key, using=using)
        if row is not None:
            break
        if not AsyncTempFile.objects.using(using).filter(key=key).exists():
            yield None
            return
        if time.monotonic() >= deadline:
            raise ClaimTimeout(key)
        time.sleep(pause)
        pause = min(pause * 2, 0.25)
    try:
        yield row
    finally:
        if not getattr(row, "_claim_finished", False):
            release(row.pk, token, using=using)


def claim_batch(pks: Iterable[int], condition: Q, *, using: str = "default") -> tuple[list[AsyncTempFile], str]:
    """Lease every row of ``pks`` that is free and still matches ``condition``; the rows won, freshly read."""
    token = _new_token()
    rows = AsyncTempFile.objects.using(using)
    rows.filter(_free(), condition, pk__in=list(pks)).update(**_lease_values(token))
    return list(rows.filter(lease_token=token).order_by("pk")), token


def release_batch(token: str, *, using: str = "default") -> None:
    AsyncTempFile.objects.using(using).filter(lease_token=token).update(lease_token="", lease_expires_at=None)
