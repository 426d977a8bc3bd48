"""S3 1. Browser upload to SeaweedFS: headless Chromium drives the library's real widget on a page the app serves.

Four variants of the same file, each on a fresh browser context (so no multipart session is resumed):

* single POST: the presigned POST, one request. Served by a second gunicorn server whose
  ``S3_MULTIPART_THRESHOLD`` is 5 GiB (S3's limit for one POST), so the file is not split.
* multipart with 1, 2 and 4 parts in flight (the widget's default is 4; ``data-parallel-parts``, see
  :mod:`benchmarks.widget`). Parts of ``S3_MULTIPART_PART_SIZE`` (default 16 MiB), URLs signed in batches by the app.

The clock runs in the page (``performance.now()``): from the file input's ``change`` event to the moment the
widget's ``data-state`` becomes ``done``; so it covers the plan request, the transfer, part signing and completion.
Afterwards the object must be in the bucket under the key the widget holds, with the file's size and the ETag S3
computes from the bytes it received (the MD5 of the file, or for a multipart upload the MD5 of the parts' MD5s
followed by the part count): an exact check of every byte without downloading anything. Then it is deleted.

Variants alternate within each run; every upload starts after ``sync``. A reference run per round uploads the
same file with boto3 from the runner (16 MiB parts, 4 threads): what SeaweedFS takes from a client that is not a
browser.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
import time

from boto3.s3.transfer import TransferConfig

from alliance_platform.storage.async_uploads.multipart import part_size_for
from alliance_platform.storage.settings import storage_settings

from . import widget
from .harness import MIB, BenchmarkError, Section
from .s3 import BUCKET

SINGLE_POST_THRESHOLD = 5 * 1024**3


class ExpectedETags:
    """The ETags S3 gives the source file: single request, and multipart in parts of a given size."""

    def __init__(self, source: Path, part_size: int):
        whole = hashlib.md5(usedforsecurity=False)
        parts: list[bytes] = []
        with open(source, "rb") as data:
            while chunk := data.read(part_size):
                whole.update(chunk)
                parts.append(hashlib.md5(chunk, usedforsecurity=False).digest())
        self.single = f'"{whole.hexdigest()}"'
        combined = hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest()
        self.multipart = f'"{combined}-{len(parts)}"'
        self.part_count = len(parts)


def set_bucket_cors(client, origins: list[str]) -> None:
    """What the library's docs ask for: the pages' origins may POST and PUT, and read each part's ETag."""
    client.put_bucket_cors(
        Bucket=BUCKET,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": origins,
                    "AllowedMethods": ["GET", "PUT", "POST", "HEAD"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )


def check_object(client, key: str, size: int, etag: str) -> None:
    try:
        head = client.head_object(Bucket=BUCKET, Key=key)
    except Exception as exc:
        raise BenchmarkError(f"the uploaded object {key} is not in the bucket: {exc}") from exc
    if head["ContentLength"] != size:
        raise BenchmarkError(f"{key} has {head['ContentLength']} bytes, the file {size}")
    if head["ETag"] != etag:
        raise BenchmarkError(f"{key} has ETag {head['ETag']}, expected {etag}: the bytes differ from the file")


def reference_upload(client, source: Path, part_size: int) -> float:
    """boto3 from the runner: the same file in the same parts, 4 at a time; returns seconds."""
    key = f"reference/{source.name}"
    config = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size, max_concurrency=4)
    started = time.perf_counter()
    client.upload_file(str(source), BUCKET, key, Config=config)
    seconds = time.perf_counter() - started
    client.delete_object(Bucket=BUCKET, Key=key)
    return seconds


class SeaweedTarget(widget.UploadTarget):
    storage_name = "SeaweedFS"

    def __init__(self, client, part_size: int):
        self.client = client
        self.part_size = part_size
        self._etags: dict[Path, ExpectedETags] = {}

    def is_part_upload(self, method: str, url: str) -> bool:
        return method == "PUT" and "partNumber=" in url

    def check(self, key: str, source: Path, size: int, split: bool) -> None:
        if source not in self._etags:
            self._etags[source] = ExpectedETags(source, self.part_size)
        expected = self._etags[source]
        check_object(self.client, key, size, expected.multipart if split else expected.single)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=BUCKET, Key=key)


def run(ctx) -> Section:
    size = ctx.size_bytes
    section = Section(f"S3 1. Browser upload of {ctx.size_label} to SeaweedFS (headless Chromium, the real widget)")
    client = ctx.s3_client
    variants = [widget.Variant("single POST", "ours-single-post", None)]
    variants += [
        widget.Variant(f"multipart, {n} part{'s' if n > 1 else ''} in flight", "ours", n) for n in ctx.parallel
    ]
    # A file at or under the default multipart threshold would go up in one POST: lower the threshold then.
    multipart_env = {}
    if size <= storage_settings.S3_MULTIPART_THRESHOLD:
        multipart_env = {"AP_BENCH_S3_MULTIPART_THRESHOLD": "0"}
        section.note("multipart variants: S3_MULTIPART_THRESHOLD=0 (the file is not above the default threshold)")
    servers = {
        "ours": ctx.server("ours", multipart_env),
        "ours-single-post": ctx.server(
            "ours-single-post", {"AP_BENCH_S3_MULTIPART_THRESHOLD": str(SINGLE_POST_THRESHOLD)}
        ),
    }
    set_bucket_cors(client, [server.base_url for server in servers.values()])
    part_size = part_size_for(size)
    target = SeaweedTarget(client, part_size)
    part_count = ExpectedETags(ctx.workspace.source_file(size), part_size).part_count
    reference = widget.Reference(
        "boto3 from the runner, 4 parts in flight",
        f"{part_count} parts of {part_size // MIB} MiB",
        lambda source: reference_upload(client, source, part_size),
    )
    results, reference_runs, version = widget.measure(
        ctx, target, variants, servers, part_count, ctx.s3.pid(), [reference]
    )
    ctx.stop_server("ours-single-post")
    section.note(f"Chromium {version} (headless, through Playwright)")
    widget.report(
        ctx,
        section,
        target,
        variants,
        results,
        [reference],
        reference_runs,
        f"{part_count} parts of {part_size // MIB} MiB",
        part_count,
    )
    section.note(
        "browser figures: from the file input's change event to data-state=done (plan, transfer, signing, "
        "completion), measured in the page; every object checked by size and ETag (MD5 of the bytes received)"
    )
    return section
