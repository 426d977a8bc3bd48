"""Azure 2. Promotion by server-side copy (Copy Blob, awaited): time, and the Blob service requests and bytes of the
app process, in-process.

The flow and its checks are those of :mod:`benchmarks.promotion` (plan through the real endpoint, blob put by the
runner's own client, ``BlobForm.is_valid()`` + ``.save()`` timed, promotion timed with the library's signals); the
storage's own clients are watched with :class:`benchmarks.azure.AzureTraffic`. The plan is a single Put Blob (the
block threshold is raised for the plan request), the blob put as the widget would: blocks of 16 MiB, 4 at a time.

The reference: after each promotion, a plain azure-storage-blob client from the runner copies the promoted blob
(Copy Blob from a read SAS, polled until it is no longer pending) and deletes the copy: what Azurite takes for the
copy alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
import time

from alliance_platform.storage.async_uploads.storage.azure import MAX_PUT_BLOB_SIZE

from . import promotion
from .harness import MIB, BenchmarkError, Section, fmt_seconds, summarise
from .promotion import SMALL_SIZE, blob_storage, promote_once
from .traffic import fmt_bytes

PUT_BLOCK_SIZE = 16 * MIB
COPY_DEADLINE_SECONDS = 300


class Container(promotion.ObjectStore):
    """The container through the runner's own azure-storage-blob client."""

    def __init__(self, azurite):
        self.container = azurite.container_client(max_single_put_size=PUT_BLOCK_SIZE, max_block_size=PUT_BLOCK_SIZE)

    def put(self, key: str, source: Path, size: int) -> None:
        with open(source, "rb") as data:
            self.container.upload_blob(key, data, length=size, max_concurrency=4)

    def size(self, key: str) -> int | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.container.get_blob_client(key).get_blob_properties().size
        except ResourceNotFoundError:
            return None

    def read(self, key: str, offset: int, length: int) -> bytes:
        return self.container.download_blob(key, offset=offset, length=length, max_concurrency=1).readall()

    def delete(self, key: str) -> None:
        self.container.delete_blob(key)

    def reference_copy(self, source_key: str) -> float:
        """Copy Blob from a read SAS, polled until done, then the copy deleted; returns the copy's seconds."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        source = self.container.get_blob_client(source_key)
        sas = generate_blob_sas(
            self.container.account_name,
            self.container.container_name,
            source_key,
            account_key=self.container.credential.account_key,
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
        destination = self.container.get_blob_client(f"reference/copy-of-{source_key.rsplit('/', 1)[-1]}")
        started = time.perf_counter()
        status = destination.start_copy_from_url(f"{source.url}?{sas}")["copy_status"]
        deadline = time.monotonic() + COPY_DEADLINE_SECONDS
        while status == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
            status = destination.get_blob_properties().copy.status
        seconds = time.perf_counter() - started
        if status != "success":
            raise BenchmarkError(f"reference copy of {source_key} ended {status}")
        destination.delete_blob()
        return seconds


def promote(store: Container, traffic, source: Path, size: int, keep_final: bool = False) -> promotion.PromotionRun:
    # A single-PUT plan: the runner puts the blob itself, as the widget would have.
    overrides = {"AZURE_BLOCK_THRESHOLD": MAX_PUT_BLOB_SIZE}
    return promote_once(store, traffic, source, size, "Copy Blob", overrides, "PUT", "Copy Blob", keep_final)


def run(ctx) -> Section:
    from .azure import AzureTraffic

    large = ctx.size_bytes
    section = Section("Azure 2. Promotion by server-side copy, awaited (form submit in-process; app = this process)")
    store = Container(ctx.azure)
    sizes = [SMALL_SIZE, large] if large > SMALL_SIZE else [large]
    source = ctx.workspace.source_file(max(sizes))

    results: dict[tuple[int, str], list[promotion.PromotionRun]] = {}
    references: dict[int, list[float]] = {}
    with AzureTraffic(blob_storage()) as traffic:
        promote(store, traffic, source, 64 * 1024)  # warm-up: imports, the storage's first connection
        for i in range(ctx.args.runs):
            for size in sizes:
                result = promote(store, traffic, source, size, keep_final=True)
                results.setdefault((size, result.mode), []).append(result)
                # The reference: the same copy by a plain client, of the blob just promoted.
                references.setdefault(size, []).append(store.reference_copy(result.final_key))
                store.delete(result.final_key)
                ctx.progress(
                    f"promotion run {i + 1}/{ctx.args.runs}, {size // MIB} MiB: "
                    f"{fmt_seconds(result.promotion_seconds)}, {result.promotion.describe_requests()}, "
                    f"app sent {fmt_bytes(result.promotion.sent)} / received {fmt_bytes(result.promotion.received)}; "
                    f"reference copy {fmt_seconds(references[size][-1])}"
                )

    promotion.report(section, results, ctx.args.stat, {"Copy Blob": "Copy Blob"})
    stat = ctx.args.stat
    what = f"{stat} of {ctx.args.runs}" if ctx.args.runs > 1 else "1 run"
    for size, seconds in references.items():
        chosen = summarise(seconds, stat, higher_is_better=False)
        section.add(
            f"reference: azure-storage-blob Copy Blob + poll, {size // MIB} MiB ({what})",
            fmt_seconds(chosen),
            "Copy Blob (+ polls while pending)",
        )
        section.note(f"reference copy {size // MIB} MiB per run [{', '.join(fmt_seconds(s) for s in seconds)}]")
    section.note(
        "bytes: HTTP request and status lines, headers and bodies (Content-Length) of every request the storage's "
        "azure-storage-blob clients made (counted by the pipeline's raw_request_hook / raw_response_hook)"
    )
    return section
