"""Azure 1. Browser upload to Azurite: headless Chromium drives the library's real widget on a page the app serves.

The variants of the same file, each on a fresh browser context (so no block upload is resumed); the driver, the
clock and the order are those of :mod:`benchmarks.widget`:

* single PUT: one Put Blob through the create-only SAS. Served by a second gunicorn server whose
  ``AZURE_BLOCK_THRESHOLD`` is 5000 MiB (the most one Put Blob takes), so the file is not split.
* block list with 1, 2 and 4 blocks in flight (the widget's default is 4; ``data-parallel-parts``): Put Block of
  ``AZURE_BLOCK_SIZE`` (default 16 MiB) through SAS URLs the app signs in batches, then Put Block List by the app.

Afterwards the blob must be in the container under the key the widget holds, with the file's size, for a block
upload the committed block list the plan asked for (every block, in order, of the right size), and the bytes at the
start of every 16 MiB and at the end equal to the file's (Azurite does not keep an MD5 of a blob it did not get one
for, and downloading 512 MiB after every upload would take longer than the upload). Then it is deleted.

The references upload the same file with a plain azure-storage-blob client from the runner: one Put Blob, and the
same blocks 4 at a time; what Azurite takes from a client that is not a browser.
"""

from __future__ import annotations

import math
from pathlib import Path
import time
from urllib.parse import parse_qs, urlsplit

from alliance_platform.storage.async_uploads.multipart import part_size_for
from alliance_platform.storage.async_uploads.storage.azure import MAX_BLOCKS, MAX_PUT_BLOB_SIZE, MIN_BLOCK_SIZE
from alliance_platform.storage.settings import storage_settings

from . import widget
from .harness import MIB, BenchmarkError, Section
from .promotion import blob_storage

SAMPLE_EVERY = 16 * MIB
SAMPLE_LENGTH = 64 * 1024


class AzuriteTarget(widget.UploadTarget):
    storage_name = "Azurite"

    def __init__(self, container, block_size: int):
        self.container = container
        self.block_size = block_size

    def is_part_upload(self, method: str, url: str) -> bool:
        query = parse_qs(urlsplit(url).query)
        return method == "PUT" and query.get("comp") == ["block"] and "blockid" in query

    def check(self, key: str, source: Path, size: int, split: bool) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        blob = self.container.get_blob_client(key)
        try:
            properties = blob.get_blob_properties()
        except ResourceNotFoundError:
            raise BenchmarkError(f"the uploaded blob {key} is not in the container") from None
        if properties.size != size:
            raise BenchmarkError(f"{key} has {properties.size} bytes, the file {size}")
        committed, _ = blob.get_block_list("committed")
        if split:
            expected = [min(self.block_size, size - offset) for offset in range(0, size, self.block_size)]
            if [block.size for block in committed] != expected:
                raise BenchmarkError(f"{key}: committed blocks {[b.size for b in committed]}, expected {expected}")
        with open(source, "rb") as local:
            for offset in [*range(0, size, SAMPLE_EVERY), max(0, size - SAMPLE_LENGTH)]:
                length = min(SAMPLE_LENGTH, size - offset)
                local.seek(offset)
                stored = blob.download_blob(offset=offset, length=length, max_concurrency=1).readall()
                if stored != local.read(length):
                    raise BenchmarkError(f"{key} differs from the file at offset {offset}")

    def delete(self, key: str) -> None:
        self.container.delete_blob(key)


def reference_upload(container, source: Path, name: str) -> float:
    """The runner's own client uploads ``source`` as configured (single Put Blob or blocks); returns seconds."""
    blob = container.get_blob_client(f"reference/{name}/{source.name}")
    started = time.perf_counter()
    with open(source, "rb") as data:
        blob.upload_blob(data, length=source.stat().st_size, max_concurrency=4, overwrite=True)
    seconds = time.perf_counter() - started
    blob.delete_blob()
    return seconds


def run(ctx) -> Section:
    size = ctx.size_bytes
    section = Section(f"Azure 1. Browser upload of {ctx.size_label} to Azurite (headless Chromium, the real widget)")
    if size > MAX_PUT_BLOB_SIZE:
        raise BenchmarkError(f"--size above {MAX_PUT_BLOB_SIZE // MIB} MiB cannot go up in one Put Blob")
    variants = [widget.Variant("single PUT", "ours-single-put", None)]
    variants += [
        widget.Variant(f"block list, {n} block{'s' if n > 1 else ''} in flight", "ours", n) for n in ctx.parallel
    ]
    # A file at or under the default block threshold would go up in one Put Blob: lower the threshold then.
    block_env = {}
    if size <= storage_settings.AZURE_BLOCK_THRESHOLD:
        block_env = {"AP_BENCH_AZURE_BLOCK_THRESHOLD": "0"}
        section.note("block variants: AZURE_BLOCK_THRESHOLD=0 (the file is not above the default threshold)")
    servers = {
        "ours": ctx.server("ours", block_env),
        "ours-single-put": ctx.server("ours-single-put", {"AP_BENCH_AZURE_BLOCK_THRESHOLD": str(MAX_PUT_BLOB_SIZE)}),
    }
    # The Blob service CORS rule the library prints and applies, for both pages' origins.
    blob_storage().apply_cors_rules([server.base_url for server in servers.values()])

    block_size = part_size_for(
        size, configured=storage_settings.AZURE_BLOCK_SIZE, minimum=MIN_BLOCK_SIZE, max_parts=MAX_BLOCKS
    )
    block_count = math.ceil(size / block_size)
    blocks = f"{block_count} blocks of {block_size // MIB} MiB"
    target = AzuriteTarget(ctx.azure.container_client(), block_size)
    single_client = ctx.azure.container_client(max_single_put_size=MAX_PUT_BLOB_SIZE)
    block_client = ctx.azure.container_client(max_single_put_size=block_size, max_block_size=block_size)
    references = [
        widget.Reference(
            "azure-storage-blob from the runner, single Put Blob",
            "1 request",
            lambda source: reference_upload(single_client, source, "single"),
        ),
        widget.Reference(
            "azure-storage-blob from the runner, 4 blocks in flight",
            blocks,
            lambda source: reference_upload(block_client, source, "blocks"),
        ),
    ]
    results, reference_runs, version = widget.measure(
        ctx, target, variants, servers, block_count, ctx.azure.pid(), references
    )
    ctx.stop_server("ours-single-put")
    section.note(f"Chromium {version} (headless, through Playwright)")
    widget.report(ctx, section, target, variants, results, references, reference_runs, blocks, block_count)
    section.note(
        "browser figures: from the file input's change event to data-state=done (plan, transfer, signing, "
        "Put Block List), measured in the page; every blob checked by size, committed block list and "
        f"{SAMPLE_LENGTH // 1024} KiB read back every {SAMPLE_EVERY // MIB} MiB and at the end"
    )
    return section
