"""4. ``cleanup_async_temp_files``: expired, never-submitted uploads, with real (small) files on disk.

Setup (not timed): ``bulk_create`` N rows created three days ago for the benchmark model's field, each with a small
file written directly under its temporary key (in the date directory of its creation day, as a real upload would
be), then ``sync`` so that the files are on disk like three-day-old files would be. Timed:
``call_command("cleanup_async_temp_files", "--quiet")`` with default settings. Afterwards every row and every file
must be gone, or the benchmark fails.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
import os
from pathlib import Path
import secrets
import time

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from alliance_platform.storage.async_uploads.keys import TEMPORARY_PREFIX
from alliance_platform.storage.async_uploads.models import AsyncTempFile

from .browser import blob_field_id
from .harness import BenchmarkError, Section, check, fmt_seconds

TARGET_SECONDS_20K = 3.0
REFERENCE_SECONDS_20K = 27
FILE_CONTENT = b"expired upload, never submitted\n" * 4
LINEAR_TOLERANCE = 0.75  # rows/s at the largest size must stay within this fraction of the smallest size's


def create_expired(count: int, tag: str) -> list[Path]:
    created_at = timezone.now() - timedelta(days=3)
    directory = f"{TEMPORARY_PREFIX}{created_at:%Y/%m/%d}/"
    media = Path(settings.MEDIA_ROOT)
    os.makedirs(media / directory, exist_ok=True)
    field_id = blob_field_id()
    rows, paths = [], []
    for _ in range(count):
        key = f"{directory}{secrets.token_hex(10)}-{tag}.txt"
        path = media / key
        with open(path, "xb") as out:
            out.write(FILE_CONTENT)
        paths.append(path)
        rows.append(
            AsyncTempFile(
                key=key,
                original_filename=f"{tag}.txt",
                field_id=field_id,
                session_fingerprint="0" * 64,
                declared_size=len(FILE_CONTENT),
                created_at=created_at,
            )
        )
    AsyncTempFile.objects.bulk_create(rows, batch_size=2000)
    return paths


def run_cleanup(count: int) -> float:
    tag = f"cleanup-bench-{count}"
    paths = create_expired(count, tag)
    if AsyncTempFile.objects.filter(original_filename=f"{tag}.txt").count() != count:
        raise BenchmarkError(f"setup failed: expected {count} rows")
    os.sync()  # three-day-old files are on disk, not waiting in the page cache to be written
    out, err = StringIO(), StringIO()
    started = time.perf_counter()
    call_command("cleanup_async_temp_files", "--quiet", stdout=out, stderr=err)
    seconds = time.perf_counter() - started
    left_rows = AsyncTempFile.objects.filter(original_filename=f"{tag}.txt").count()
    left_files = sum(1 for path in paths if path.exists())
    if left_rows or left_files or err.getvalue():
        raise BenchmarkError(
            f"cleanup of {count} rows left {left_rows} rows and {left_files} files behind; "
            f"stderr: {err.getvalue().strip()!r}"
        )
    return seconds


def populate_model(count: int) -> None:
    """Records of the benchmark model holding promoted (non-temporary) keys, as a long-lived project would have."""
    from .benchapp.models import Blob

    Blob.objects.bulk_create((Blob(file=f"blobs/existing-{i:08d}.pdf") for i in range(count)), batch_size=5000)


def run(ctx) -> Section:
    section = Section("4. cleanup_async_temp_files (expired rows with files on disk)")
    model_rows = ctx.args.cleanup_model_rows
    if model_rows:
        populate_model(model_rows)
        section.title += f", {model_rows:,} records in the model's table"
        ctx.progress(f"added {model_rows:,} records to the benchmark model's table")
    results: list[tuple[int, float]] = []
    for count in ctx.cleanup_counts:
        seconds = run_cleanup(count)
        results.append((count, seconds))
        ctx.progress(f"cleanup {count:,}: {seconds:.2f} s = {count / seconds:,.0f} rows/s")
        metric = f"cleanup {count:,} rows + files"
        measured = f"{fmt_seconds(seconds)}, {count / seconds:,.0f} rows/s"
        if count == 20_000:
            section.add(
                metric,
                measured,
                f"< {TARGET_SECONDS_20K:g} s (ref {REFERENCE_SECONDS_20K} s)",
                check(seconds < TARGET_SECONDS_20K),
            )
        else:
            section.add(metric, measured)
    if len(results) > 1:
        (small, small_s), (large, large_s) = results[0], results[-1]
        scaling = (large / large_s) / (small / small_s)
        section.add(
            f"rows/s at {large:,} vs {small:,} (1.0 = linear)",
            f"{scaling:.2f}",
            f">= {LINEAR_TOLERANCE}",
            check(scaling >= LINEAR_TOLERANCE),
        )
    section.note(
        "cleanup setup per size: bulk_create of the rows + one small file each (not timed); "
        "verified afterwards that no row and no file of the set is left"
    )
    return section
