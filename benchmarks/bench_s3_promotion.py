"""S3 2. Promotion by server-side copy: time, and the S3 requests and bytes of the app process, in-process.

The flow and its checks are those of :mod:`benchmarks.promotion` (plan through the real endpoint, object put by the
runner's own boto3 client, ``BlobForm.is_valid()`` + ``.save()`` timed, promotion timed with the library's signals);
the storage's own boto3 client is watched with :class:`benchmarks.s3.S3Traffic`. The plan is a single POST (the
multipart threshold is raised for the plan request). A third variant promotes the large object with a multipart
copy (``UploadPartCopy``).
"""

from __future__ import annotations

from pathlib import Path

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from alliance_platform.storage.settings import storage_settings

from . import promotion
from .harness import MIB, BenchmarkError, Section, fmt_seconds
from .promotion import SMALL_SIZE, blob_storage, promote_once
from .s3 import BUCKET, S3Traffic
from .traffic import fmt_bytes

# The multipart-copy variant: objects above this are copied in parts of this size (the library's defaults are
# 4 GiB and 512 MiB; S3's CopyObject stops at 5 GiB).
MULTIPART_COPY_THRESHOLD = 64 * MIB
MULTIPART_COPY_CHUNKSIZE = 64 * MIB


class Bucket(promotion.ObjectStore):
    """The bucket through the runner's own boto3 client."""

    def __init__(self, client):
        self.client = client

    def put(self, key: str, source: Path, size: int) -> None:
        """16 MiB parts, 4 threads, like the widget."""
        with open(source, "rb") as body:
            self.client.upload_fileobj(
                _Limited(body, size),
                BUCKET,
                key,
                Config=TransferConfig(multipart_threshold=64 * MIB, multipart_chunksize=16 * MIB, max_concurrency=4),
            )

    def size(self, key: str) -> int | None:
        try:
            return self.client.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise BenchmarkError(f"HEAD {key} failed: {exc}") from exc

    def read(self, key: str, offset: int, length: int) -> bytes:
        response = self.client.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={offset}-{offset + length - 1}")
        with response["Body"] as body:
            return body.read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=BUCKET, Key=key)


class _Limited:
    """The first ``size`` bytes of a file object, read-only."""

    def __init__(self, body, size: int):
        self.body, self.left = body, size

    def read(self, amount: int = -1) -> bytes:
        if amount is None or amount < 0 or amount > self.left:
            amount = self.left
        data = self.body.read(amount)
        self.left -= len(data)
        return data


class multipart_copy:
    """Make the field's storage copy objects above MULTIPART_COPY_THRESHOLD in parts, for the duration."""

    def __init__(self, storage):
        self.storage = storage

    def __enter__(self):
        self.saved = (self.storage.copy_multipart_threshold, self.storage.copy_multipart_chunksize)
        self.storage.copy_multipart_threshold = MULTIPART_COPY_THRESHOLD
        self.storage.copy_multipart_chunksize = MULTIPART_COPY_CHUNKSIZE
        return self

    def __exit__(self, *exc_info):
        self.storage.copy_multipart_threshold, self.storage.copy_multipart_chunksize = self.saved


def promote(store: Bucket, traffic: S3Traffic, source: Path, size: int, mode: str) -> promotion.PromotionRun:
    # A single-POST plan, so that the runner can put the object with a plain client.
    overrides = {"S3_MULTIPART_THRESHOLD": max(size, storage_settings.S3_MULTIPART_THRESHOLD)}
    expected = "UploadPartCopy" if mode == "multipart copy" else "CopyObject"
    return promote_once(store, traffic, source, size, mode, overrides, "POST", expected)


def run(ctx) -> Section:
    large = ctx.size_bytes
    section = Section("S3 2. Promotion by server-side copy (form submit in-process; app = this process's boto3)")
    storage = blob_storage()
    store = Bucket(ctx.s3_client)
    sizes = [(SMALL_SIZE, "CopyObject"), (large, "CopyObject"), (large, "multipart copy")]
    if large <= MULTIPART_COPY_THRESHOLD:
        sizes[-1] = (max(large, MULTIPART_COPY_THRESHOLD + MIB), "multipart copy")
    if large <= SMALL_SIZE:
        sizes.pop(1)
    source = ctx.workspace.source_file(max(size for size, _ in sizes))

    results: dict[tuple[int, str], list[promotion.PromotionRun]] = {}
    with S3Traffic(storage.client) as traffic:
        promote(store, traffic, source, 64 * 1024, "CopyObject")  # warm-up: imports, the storage's first connection
        for i in range(ctx.args.runs):
            for size, mode in sizes:
                if mode == "multipart copy":
                    with multipart_copy(storage):
                        result = promote(store, traffic, source, size, mode)
                else:
                    result = promote(store, traffic, source, size, mode)
                results.setdefault((size, mode), []).append(result)
                ctx.progress(
                    f"promotion run {i + 1}/{ctx.args.runs}, {size // MIB} MiB ({mode}): "
                    f"{fmt_seconds(result.promotion_seconds)}, {result.promotion.describe_requests()}, "
                    f"app sent {fmt_bytes(result.promotion.sent)} / received {fmt_bytes(result.promotion.received)}"
                )

    labels = {"multipart copy": f"multipart copy ({MULTIPART_COPY_CHUNKSIZE // MIB} MiB parts)"}
    promotion.report(section, results, ctx.args.stat, labels)
    section.note(
        "bytes: HTTP request and status lines, headers and bodies of every request the storage's boto3 client made "
        "(counted on its before-send / response-received events)"
    )
    return section
