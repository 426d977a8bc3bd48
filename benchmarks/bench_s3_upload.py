"""S3 1. Browser upload to SeaweedFS: headless Chromium drives the library's real widget on a page the app serves.

Four variants of the same file, each on a fresh browser context (so no multipart session is resumed):

* single POST: the presigned POST, one request. Served by a second gunicorn server whose
  ``S3_MULTIPART_THRESHOLD`` is 5 GiB (S3's limit for one POST), so the file is not split.
* multipart with 1, 2 and 4 parts in flight (the widget's default is 4): the widget's ``data-parallel-parts``
  attribute, set on the widget's root element before the file is picked, as a project would in an overriding
  template. Parts of ``S3_MULTIPART_PART_SIZE`` (default 16 MiB), URLs signed in batches by the app.

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

from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path
import time

from boto3.s3.transfer import TransferConfig

from alliance_platform.storage.async_uploads.multipart import part_size_for
from alliance_platform.storage.settings import storage_settings

from .harness import MIB, BenchmarkError, GunicornServer, Section, cpu_seconds, summarise
from .s3 import BUCKET

# As the project's browser tests launch Chromium.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_CHROMIUM = "/usr/bin/chromium"
SINGLE_POST_THRESHOLD = 5 * 1024**3
UPLOAD_TIMEOUT_MS = 600_000
PAGE_TIMEOUT_MS = 30_000
WARM_UP_SIZE = 1 * MIB

# Installed on the page before the file is picked: the clock, and the number of parts in flight.
CLOCK_SCRIPT = """
([root, parallel]) => {
  if (parallel) root.dataset.parallelParts = String(parallel);
  const clock = { picked: null, done: null, state: null };
  window.__apBench = clock;
  document.addEventListener("change", (event) => {
    if (clock.picked === null && event.target.matches('[data-role="file-input"]')) clock.picked = performance.now();
  }, true);
  new MutationObserver(() => {
    const state = root.dataset.state;
    if (clock.done === null && (state === "done" || state === "error")) {
      clock.done = performance.now();
      clock.state = state;
    }
  }).observe(root, { attributes: true, attributeFilter: ["data-state"] });
}
"""


@dataclass
class Variant:
    label: str
    server: str  # Context server name
    parallel: int | None  # parts in flight; None: single POST


@dataclass
class UploadResult:
    seconds: float
    size: int
    part_puts: int
    sign_requests: int
    storage_cpu_seconds: float | None

    @property
    def mib_per_second(self) -> float:
        return self.size / MIB / self.seconds


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


def browser_upload(browser, server: GunicornServer, source: Path, parallel: int | None, storage_pid: int | None):
    """Pick ``source`` in the widget on a fresh page; returns the result and the key the widget holds."""
    context = browser.new_context(base_url=server.base_url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page = context.new_page()
        errors: list[str] = []
        requests: list[tuple[str, str]] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append((request.method, request.url)))
        page.goto("/upload/")
        root = page.locator("[data-async-upload]")
        root.evaluate("(root) => root.dataset.state")  # the widget's module has loaded and rendered
        page.evaluate(CLOCK_SCRIPT, [root.element_handle(), parallel])
        cpu_before = cpu_seconds(storage_pid) if storage_pid else None
        page.locator('[data-role="file-input"]').set_input_files(str(source))
        page.wait_for_function("() => window.__apBench.done !== null", timeout=UPLOAD_TIMEOUT_MS, polling=200)
        cpu = cpu_seconds(storage_pid) - cpu_before if cpu_before is not None else None
        clock = page.evaluate("() => window.__apBench")
        if clock["state"] != "done" or clock["picked"] is None:
            message = page.locator('[data-role="error"]').inner_text()
            raise BenchmarkError(f"the widget did not finish the upload (state {clock['state']}): {message!r}")
        if errors:
            raise BenchmarkError(f"JavaScript errors on the page: {errors}")
        value = json.loads(page.locator('[data-role="value"]').input_value())
    finally:
        context.close()
    part_puts = sum(1 for method, url in requests if method == "PUT" and "partNumber=" in url)
    signs = sum(1 for method, url in requests if method == "POST" and "/multipart/sign" in url)
    seconds = (clock["done"] - clock["picked"]) / 1000
    return UploadResult(seconds, source.stat().st_size, part_puts, signs, cpu), value["key"]


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


def run(ctx) -> Section:
    from playwright.sync_api import sync_playwright

    size = ctx.size_bytes
    runs = ctx.args.runs
    section = Section(f"S3 1. Browser upload of {ctx.size_label} to SeaweedFS (headless Chromium, the real widget)")
    client = ctx.s3_client
    variants = [Variant("single POST", "ours-single-post", None)]
    variants += [Variant(f"multipart, {n} part{'s' if n > 1 else ''} in flight", "ours", n) for n in ctx.parallel]
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
    source = ctx.workspace.source_file(size)
    part_size = part_size_for(size)
    expected = ExpectedETags(source, part_size)
    warm_source = ctx.workspace.source_file(WARM_UP_SIZE)
    warm_etag = ExpectedETags(warm_source, part_size).single
    storage_pid = ctx.s3.pid()

    results: dict[str, list[UploadResult]] = {variant.label: [] for variant in variants}
    reference: list[float] = []
    executable = os.environ.get("AP_CHROMIUM", DEFAULT_CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        section.note(f"Chromium {browser.version} (headless, through Playwright)")
        try:
            for server in servers.values():  # warm-up: the browser, and each server's first requests
                _, key = browser_upload(browser, server, warm_source, None, None)
                check_object(client, key, WARM_UP_SIZE, warm_etag)
                client.delete_object(Bucket=BUCKET, Key=key)
            for i in range(runs):
                order = variants if i % 2 == 0 else variants[::-1]
                for variant in order:
                    os.sync()  # the previous upload's data is written out now, not during this one
                    result, key = browser_upload(
                        browser, servers[variant.server], source, variant.parallel, storage_pid
                    )
                    # Every part at least once (more would be retries), or none for a single POST.
                    parts = 0 if variant.parallel is None else expected.part_count
                    if result.part_puts < parts or (not parts and result.part_puts):
                        raise BenchmarkError(
                            f"{variant.label}: the browser sent {result.part_puts} part uploads, expected {parts}"
                        )
                    check_object(client, key, size, expected.multipart if parts else expected.single)
                    client.delete_object(Bucket=BUCKET, Key=key)
                    results[variant.label].append(result)
                    ctx.progress(
                        f"browser upload run {i + 1}/{runs}, {variant.label}: {result.mib_per_second:.0f} MiB/s "
                        f"({result.seconds:.2f} s)"
                    )
                os.sync()
                reference.append(reference_upload(client, source, part_size))
                ctx.progress(f"reference run {i + 1}/{runs}, boto3: {size / MIB / reference[-1]:.0f} MiB/s")
        finally:
            browser.close()
    ctx.stop_server("ours-single-post")

    stat = ctx.args.stat
    what = f"{stat} of {runs}" if runs > 1 else "1 run"
    reference_mibs = summarise((size / MIB / s for s in reference), stat)
    for variant in variants:
        runs_of = results[variant.label]
        mibs = summarise((r.mib_per_second for r in runs_of), stat)
        detail = "1 request" if variant.parallel is None else f"{expected.part_count} parts of {part_size // MIB} MiB"
        section.add(f"{variant.label} ({what})", f"{mibs:.0f} MiB/s", detail)
        text = ", ".join(f"{r.mib_per_second:.0f}" for r in runs_of)
        note = f"{variant.label}: MiB/s per run [{text}]"
        if variant.parallel is not None:
            note += f"; part signing requests per upload: {runs_of[0].sign_requests}"
            retried = sum(r.part_puts - expected.part_count for r in runs_of)
            if retried:
                note += f"; {retried} part uploads retried"
        cpu = [r.storage_cpu_seconds for r in runs_of if r.storage_cpu_seconds is not None]
        if cpu:
            note += f"; SeaweedFS CPU per run [{', '.join(f'{c:.1f} s' for c in cpu)}]"
        section.note(note)
    section.add(
        f"reference: boto3 from the runner, 4 parts in flight ({what})",
        f"{reference_mibs:.0f} MiB/s",
        f"{expected.part_count} parts of {part_size // MIB} MiB",
    )
    section.note("reference MiB/s per run [" + ", ".join(f"{size / MIB / s:.0f}" for s in reference) + "]")
    section.note(
        "browser figures: from the file input's change event to data-state=done (plan, transfer, signing, "
        "completion), measured in the page; every object checked by size and ETag (MD5 of the bytes received)"
    )
    return section
