"""S3 3. ``cleanup_async_temp_files`` on S3: expired uploads with real objects in the bucket.

The flow and its checks are those of :mod:`benchmarks.cloud_cleanup`: N small expired objects and their rows, then
a smaller set of expired multipart uploads that were never completed (one small part stored each, the upload id on
the row); the storage's boto3 client is watched with :class:`benchmarks.s3.S3Traffic`, which counts every HTTP
request by operation. Afterwards no row, no object and no multipart upload of the set may be left.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import time

from .cloud_cleanup import BODY, SETUP_THREADS, expired_keys, expired_rows, report, timed_cleanup
from .harness import Section
from .promotion import blob_storage
from .s3 import BUCKET, S3Traffic

MULTIPART_UPLOADS = 100  # expired, never completed multipart uploads (each needs its own abort request)


def create_objects(setup_client, count: int, tag: str) -> str:
    """``count`` small objects under one temporary date directory of three days ago, and their rows."""
    created_at, directory, keys = expired_keys(count, tag)

    def put(key: str) -> None:
        setup_client.put_object(Bucket=BUCKET, Key=key, Body=BODY)

    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        list(pool.map(put, keys))
    expired_rows(keys, tag, created_at)
    return directory


def create_multipart_uploads(setup_client, count: int, tag: str) -> str:
    """``count`` started multipart uploads with one small part stored each, never completed, and their rows."""
    created_at, directory, keys = expired_keys(count, tag, ".bin")

    def start(key: str) -> tuple[str, str]:
        upload_id = setup_client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        setup_client.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=1, Body=BODY)
        return key, upload_id

    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        upload_ids = dict(pool.map(start, keys))
    expired_rows(keys, tag, created_at, upload_ids)
    return directory


def left_in(setup_client, directory: str):
    """Counts objects, and multipart uploads in progress, under ``directory``."""

    def count() -> dict[str, int]:
        objects = sum(
            page.get("KeyCount", 0)
            for page in setup_client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=directory)
        )
        uploads = sum(
            len(page.get("Uploads", []))
            for page in setup_client.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET, Prefix=directory)
        )
        return {"objects": objects, "multipart uploads": uploads}

    return count


def run(ctx) -> Section:
    count = ctx.args.s3_objects
    section = Section("S3 3. cleanup_async_temp_files on S3 (expired rows with objects in the bucket)")
    setup = ctx.s3_client_for_threads(SETUP_THREADS)
    results = []
    with S3Traffic(blob_storage().client) as traffic:
        tag = f"s3-cleanup-{count}"
        started = time.perf_counter()
        directory = create_objects(setup, count, tag)
        ctx.progress(f"created {count:,} expired objects and rows in {time.perf_counter() - started:.1f} s")
        seconds, used = timed_cleanup(traffic, tag, count, left_in(setup, directory))
        results.append((f"cleanup {count:,} expired temp objects", count, seconds, used))

        tag = f"s3-cleanup-multipart-{MULTIPART_UPLOADS}"
        directory = create_multipart_uploads(setup, MULTIPART_UPLOADS, tag)
        seconds, used = timed_cleanup(traffic, tag, MULTIPART_UPLOADS, left_in(setup, directory))
        results.append(
            (f"cleanup {MULTIPART_UPLOADS} expired incomplete multipart uploads", MULTIPART_UPLOADS, seconds, used)
        )

    report(ctx, section, results, "S3")
    section.note(
        f"setup (not timed): objects of {len(BODY)} bytes put by {SETUP_THREADS} threads with the runner's own "
        "client, rows by bulk_create; verified afterwards by listing that no object, multipart upload or row is left"
    )
    return section
