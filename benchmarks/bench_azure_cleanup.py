"""Azure 3. ``cleanup_async_temp_files`` on Azure: expired uploads with real blobs in the container.

The flow and its checks are those of :mod:`benchmarks.cloud_cleanup`: N small expired blobs and their rows, then a
smaller set of expired block uploads that were never committed (one uncommitted block each, the upload id on the
row); the storage's clients are watched with :class:`benchmarks.azure.AzureTraffic`, which counts every HTTP request
by Blob service operation and the deletes carried in each blob batch. Afterwards no row, no blob and no uncommitted
block of the set may be left.

The reference, afterwards: a plain azure-storage-blob client from the runner deletes as many blobs of the same kind
in blob batches of 256 (the most one batch takes), from a container in the same state: what Azurite takes for the
deletes alone. Same number, because Azurite's time per delete grows with the number of blobs the container holds.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
import secrets
import time

from alliance_platform.storage.async_uploads.storage.azure import block_id

from .cloud_cleanup import BODY, SETUP_THREADS, expired_keys, expired_rows, report, timed_cleanup
from .harness import BenchmarkError, Section, fmt_seconds
from .promotion import blob_storage

BLOCK_UPLOADS = 100  # expired, never committed block uploads (each needs its own requests to discard)
BATCH = 256


def put_blobs(container, keys: list[str]) -> None:
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        list(pool.map(lambda key: container.upload_blob(key, BODY), keys))


def create_blobs(container, count: int, tag: str) -> str:
    """``count`` small blobs under one temporary date directory of three days ago, and their rows."""
    created_at, directory, keys = expired_keys(count, tag)
    put_blobs(container, keys)
    expired_rows(keys, tag, created_at)
    return directory


def create_block_uploads(container, count: int, tag: str) -> str:
    """``count`` block uploads with one uncommitted block each, as the widget leaves an abandoned upload (block ids
    as the backend names them), and their rows."""
    created_at, directory, keys = expired_keys(count, tag, ".bin")
    upload_ids = {key: secrets.token_hex(8) for key in keys}

    def stage(key: str) -> None:
        # The SDK takes a block id before base64 and encodes it on the wire.
        name = base64.b64decode(block_id(upload_ids[key], 1)).decode()
        container.get_blob_client(key).stage_block(name, BODY)

    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        list(pool.map(stage, keys))
    expired_rows(keys, tag, created_at, upload_ids)
    return directory


def left_in(container, directory: str):
    """Counts blobs, and blobs with uncommitted blocks only, under ``directory``."""

    def count() -> dict[str, int]:
        committed = sum(1 for _ in container.list_blobs(name_starts_with=directory))
        everything = sum(1 for _ in container.list_blobs(name_starts_with=directory, include=["uncommittedblobs"]))
        return {"blobs": committed, "uncommitted block uploads": everything - committed}

    return count


def reference_deletes(container, count: int) -> float:
    """``count`` blobs put (not timed), then deleted in batches of 256 by the runner's own client; returns seconds."""
    keys = [f"reference/cleanup/{secrets.token_hex(10)}.txt" for _ in range(count)]
    put_blobs(container, keys)
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        for response in container.delete_blobs(*keys[start : start + BATCH], raise_on_any_failure=False):
            if response.status_code not in (200, 202):
                raise BenchmarkError(f"reference batch delete answered {response.status_code}")
    return time.perf_counter() - started


def run(ctx) -> Section:
    from .azure import AzureTraffic

    count = ctx.args.azure_blobs
    section = Section("Azure 3. cleanup_async_temp_files on Azure (expired rows with blobs in the container)")
    container = ctx.azure.container_client()
    results = []
    with AzureTraffic(blob_storage()) as traffic:
        tag = f"azure-cleanup-{count}"
        started = time.perf_counter()
        directory = create_blobs(container, count, tag)
        ctx.progress(f"created {count:,} expired blobs and rows in {time.perf_counter() - started:.1f} s")
        seconds, used = timed_cleanup(traffic, tag, count, left_in(container, directory))
        results.append((f"cleanup {count:,} expired temp blobs", count, seconds, used))

        tag = f"azure-cleanup-blocks-{BLOCK_UPLOADS}"
        directory = create_block_uploads(container, BLOCK_UPLOADS, tag)
        seconds, used = timed_cleanup(traffic, tag, BLOCK_UPLOADS, left_in(container, directory))
        results.append((f"cleanup {BLOCK_UPLOADS} expired uncommitted block uploads", BLOCK_UPLOADS, seconds, used))
    report(ctx, section, results, "Blob service")

    started = time.perf_counter()
    seconds = reference_deletes(container, count)
    ctx.progress(
        f"reference: {count:,} blobs put in {time.perf_counter() - started - seconds:.1f} s, "
        f"deleted in batches of {BATCH} in {seconds:.2f} s"
    )
    section.add(
        f"reference: azure-storage-blob deletes {count:,} blobs",
        f"{fmt_seconds(seconds)}, {count / seconds:,.0f} blobs/s",
        f"{-(-count // BATCH)} Blob Batch requests of up to {BATCH}",
    )
    section.note(
        f"setup (not timed): blobs of {len(BODY)} bytes put by {SETUP_THREADS} threads with the runner's own client, "
        "rows by bulk_create; verified afterwards by listing (uncommitted blobs included) that no blob, block upload "
        "or row is left"
    )
    return section
