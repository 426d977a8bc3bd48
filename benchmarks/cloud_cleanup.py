"""``cleanup_async_temp_files`` on a cloud backend: what the cleanup benchmarks of every cloud backend share
(``bench_s3_cleanup``, ``bench_azure_cleanup``).

Setup (not timed): small objects put under temporary keys dated three days ago by the runner's own client, and
``bulk_create`` of their temp rows for the benchmark model's field. Timed: ``call_command("cleanup_async_temp_files",
"--quiet")`` with default settings, the real command, while a backend's counter watches the storage's own client.
Afterwards no row and nothing in the storage of the set may be left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO
import secrets
import time

from django.core.management import call_command
from django.utils import timezone

from alliance_platform.storage.async_uploads.keys import TEMPORARY_PREFIX
from alliance_platform.storage.async_uploads.models import AsyncTempFile

from .browser import blob_field_id
from .harness import BenchmarkError, Section, fmt_seconds
from .traffic import Traffic

BODY = b"expired upload, never submitted\n" * 4
SETUP_THREADS = 16


def expired_keys(count: int, tag: str, suffix: str = ".txt") -> tuple[datetime, str, list[str]]:
    """``count`` temporary keys in one date directory of three days ago: (created_at, directory, keys)."""
    created_at = timezone.now() - timedelta(days=3)
    directory = f"{TEMPORARY_PREFIX}{created_at:%Y/%m/%d}/{tag}/"
    return created_at, directory, [f"{directory}{secrets.token_hex(10)}-{tag}{suffix}" for _ in range(count)]


def expired_rows(keys: list[str], tag: str, created_at, upload_ids: dict[str, str] | None = None) -> None:
    field_id = blob_field_id()
    AsyncTempFile.objects.bulk_create(
        (
            AsyncTempFile(
                key=key,
                original_filename=f"{tag}.txt",
                field_id=field_id,
                session_fingerprint="0" * 64,
                declared_size=len(BODY),
                created_at=created_at,
                upload_id=(upload_ids or {}).get(key, ""),
            )
            for key in keys
        ),
        batch_size=2000,
    )


def timed_cleanup(traffic, tag: str, count: int, left_behind: Callable[[], dict[str, int]]) -> tuple[float, Traffic]:
    """Time the command; ``left_behind()`` counts what is still in the storage (by kind) afterwards."""
    if AsyncTempFile.objects.filter(original_filename=f"{tag}.txt").count() != count:
        raise BenchmarkError(f"setup failed: expected {count} rows")
    out, err = StringIO(), StringIO()
    before = traffic.reading()
    started = time.perf_counter()
    call_command("cleanup_async_temp_files", "--quiet", stdout=out, stderr=err)
    seconds = time.perf_counter() - started
    used = traffic.reading() - before
    left = {"rows": AsyncTempFile.objects.filter(original_filename=f"{tag}.txt").count(), **left_behind()}
    if any(left.values()) or err.getvalue():
        found = ", ".join(f"{number} {kind}" for kind, number in left.items())
        raise BenchmarkError(
            f"cleanup of {count} expired uploads left {found} behind; stderr: {err.getvalue().strip()!r}"
        )
    return seconds, used


def report(ctx, section: Section, results: list[tuple[str, int, float, Traffic]], service: str) -> None:
    """One row per measurement: seconds, rows/s and the storage requests made (by kind in the details), and when the
    counter timed them, how long the app waited for the service's answers."""
    for metric, rows, seconds, used in results:
        ctx.progress(f"{metric}: {seconds:.2f} s, {used.request_count} {service} requests ({used.describe_requests()})")
        requests = f"{used.request_count} {service} requests"
        if used.waited:
            requests += f", {fmt_seconds(used.waited_seconds)} waiting for them"
        section.add(metric, f"{fmt_seconds(seconds)}, {rows / seconds:,.0f} rows/s", requests)
        section.note(f"{metric}: {service} requests {used.describe_requests()}")
        if used.waited:
            section.note(f"    waiting for {service} answers: {used.describe_waits()}")
