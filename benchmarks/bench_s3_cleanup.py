"""S3 3. ``cleanup_async_temp_files`` on S3: expired uploads with real objects in the bucket.

Setup (not timed): N small objects put under temporary keys dated three days ago, by the runner's own client from
a pool of threads, and ``bulk_create`` of their temp rows for the benchmark model's field. Then a smaller set of
expired multipart uploads that were never completed (one small part stored each, the upload id on the row).

Timed: ``call_command("cleanup_async_temp_files", "--quiet")`` with default settings, the real command. The
storage's boto3 client is watched with :class:`benchmarks.s3.S3Traffic`, which counts every HTTP request by
operation. Afterwards no row, no object and no multipart upload of the set may be left.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO
import secrets
import time

from django.core.management import call_command
from django.utils import timezone

from alliance_platform.storage.async_uploads.keys import TEMPORARY_PREFIX
from alliance_platform.storage.async_uploads.models import AsyncTempFile

from .bench_s3_promotion import blob_storage
from .browser import blob_field_id
from .harness import BenchmarkError, Section, fmt_seconds
from .s3 import BUCKET, S3Traffic, Traffic

BODY = b"expired upload, never submitted\n" * 4
SETUP_THREADS = 16
MULTIPART_UPLOADS = 100  # expired, never completed multipart uploads (each needs its own abort request)


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


def create_objects(setup_client, count: int, tag: str) -> tuple[str, list[str]]:
    """``count`` small objects under one temporary date directory of three days ago, and their rows."""
    created_at = timezone.now() - timedelta(days=3)
    directory = f"{TEMPORARY_PREFIX}{created_at:%Y/%m/%d}/{tag}/"
    keys = [f"{directory}{secrets.token_hex(10)}-{tag}.txt" for _ in range(count)]

    def put(key: str) -> None:
        setup_client.put_object(Bucket=BUCKET, Key=key, Body=BODY)

    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        list(pool.map(put, keys))
    expired_rows(keys, tag, created_at)
    return directory, keys


def create_multipart_uploads(setup_client, count: int, tag: str) -> tuple[str, dict[str, str]]:
    """``count`` started multipart uploads with one small part stored each, never completed, and their rows."""
    created_at = timezone.now() - timedelta(days=3)
    directory = f"{TEMPORARY_PREFIX}{created_at:%Y/%m/%d}/{tag}/"
    keys = [f"{directory}{secrets.token_hex(10)}-{tag}.bin" for _ in range(count)]

    def start(key: str) -> tuple[str, str]:
        upload_id = setup_client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        setup_client.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=1, Body=BODY)
        return key, upload_id

    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        upload_ids = dict(pool.map(start, keys))
    expired_rows(keys, tag, created_at, upload_ids)
    return directory, upload_ids


def count_left(setup_client, directory: str) -> tuple[int, int]:
    """Objects, and multipart uploads in progress, under ``directory``."""
    objects = sum(
        page.get("KeyCount", 0)
        for page in setup_client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=directory)
    )
    uploads = sum(
        len(page.get("Uploads", []))
        for page in setup_client.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET, Prefix=directory)
    )
    return objects, uploads


def timed_cleanup(traffic: S3Traffic, tag: str, directory: str, setup_client, count: int) -> tuple[float, Traffic]:
    if AsyncTempFile.objects.filter(original_filename=f"{tag}.txt").count() != count:
        raise BenchmarkError(f"setup failed: expected {count} rows")
    out, err = StringIO(), StringIO()
    before = traffic.reading()
    started = time.perf_counter()
    call_command("cleanup_async_temp_files", "--quiet", stdout=out, stderr=err)
    seconds = time.perf_counter() - started
    used = traffic.reading() - before
    left_rows = AsyncTempFile.objects.filter(original_filename=f"{tag}.txt").count()
    left_objects, left_uploads = count_left(setup_client, directory)
    if left_rows or left_objects or left_uploads or err.getvalue():
        raise BenchmarkError(
            f"cleanup of {count} expired uploads left {left_rows} rows, {left_objects} objects and "
            f"{left_uploads} multipart uploads behind; stderr: {err.getvalue().strip()!r}"
        )
    return seconds, used


def run(ctx) -> Section:
    count = ctx.args.s3_objects
    section = Section("S3 3. cleanup_async_temp_files on S3 (expired rows with objects in the bucket)")
    setup = ctx.s3_client_for_threads(SETUP_THREADS)
    results = []
    with S3Traffic(blob_storage().client) as traffic:
        tag = f"s3-cleanup-{count}"
        started = time.perf_counter()
        directory, _ = create_objects(setup, count, tag)
        ctx.progress(f"created {count:,} expired objects and rows in {time.perf_counter() - started:.1f} s")
        seconds, used = timed_cleanup(traffic, tag, directory, setup, count)
        results.append((f"cleanup {count:,} expired temp objects", count, seconds, used))

        tag = f"s3-cleanup-multipart-{MULTIPART_UPLOADS}"
        directory, _ = create_multipart_uploads(setup, MULTIPART_UPLOADS, tag)
        seconds, used = timed_cleanup(traffic, tag, directory, setup, MULTIPART_UPLOADS)
        results.append(
            (f"cleanup {MULTIPART_UPLOADS} expired incomplete multipart uploads", MULTIPART_UPLOADS, seconds, used)
        )

    for metric, rows, seconds, used in results:
        ctx.progress(f"{metric}: {seconds:.2f} s, {used.request_count} S3 requests ({used.describe_requests()})")
        section.add(
            metric, f"{fmt_seconds(seconds)}, {rows / seconds:,.0f} rows/s", f"{used.request_count} S3 requests"
        )
        section.note(f"{metric}: S3 requests {used.describe_requests()}")
    section.note(
        f"setup (not timed): objects of {len(BODY)} bytes put by {SETUP_THREADS} threads with the runner's own "
        "client, rows by bulk_create; verified afterwards by listing that no object, multipart upload or row is left"
    )
    return section
