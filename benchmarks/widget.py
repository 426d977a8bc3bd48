"""The library's real widget in headless Chromium, uploading straight to a cloud backend: what the browser upload
benchmarks of every cloud backend share (``bench_s3_upload``, ``bench_azure_upload``).

Each upload runs on a fresh browser context (nothing to resume): the page ``/upload/`` of a gunicorn server, the
file picked with Playwright's ``set_input_files``. The number of parts (blocks) in flight is the widget's
``data-parallel-parts`` attribute, set on the widget's root element before the file is picked, as a project would in
an overriding template. The clock runs in the page (``performance.now()``): from the file input's ``change`` event
to the moment the widget's ``data-state`` becomes ``done``; so it covers the plan request, the transfer, part
signing and completion.

The backend supplies an :class:`UploadTarget`: how its part uploads look on the wire, how an uploaded object is
checked and deleted, and its reference uploads (a plain client of the backend's SDK from the runner: what the
storage server takes from a client that is not a browser). Variants alternate within each run (forward, then
backward), every upload after ``sync``; each server first gets one small upload (imports, the browser's first page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import json
import os
from pathlib import Path

from .harness import MIB, BenchmarkError, GunicornServer, Section, cpu_seconds, summarise

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
    parallel: int | None  # parts in flight; None: the whole file in one request


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


@dataclass
class Reference:
    """An upload of the same file by a plain SDK client from the runner; ``upload(source)`` returns seconds."""

    label: str
    detail: str
    upload: Callable[[Path], float]


class UploadTarget:
    """What a backend tells the browser benchmark."""

    storage_name = ""  # the server, for the details ("SeaweedFS", "Azurite")

    def is_part_upload(self, method: str, url: str) -> bool:
        """Whether the browser's request uploads one part (block) of a split upload."""
        raise NotImplementedError

    def check(self, key: str, source: Path, size: int, split: bool) -> None:
        """Raise :class:`BenchmarkError` unless the object under ``key`` holds the first ``size`` bytes of
        ``source`` (``split``: uploaded in parts)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError


def launch_chromium(playwright):
    executable = os.environ.get("AP_CHROMIUM", DEFAULT_CHROMIUM)
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def browser_upload(
    browser,
    server: GunicornServer,
    source: Path,
    parallel: int | None,
    storage_pid: int | None,
    is_part_upload: Callable[[str, str], bool],
) -> tuple[UploadResult, str]:
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
    part_puts = sum(1 for method, url in requests if is_part_upload(method, url))
    signs = sum(1 for method, url in requests if method == "POST" and "/multipart/sign" in url)
    seconds = (clock["done"] - clock["picked"]) / 1000
    return UploadResult(seconds, source.stat().st_size, part_puts, signs, cpu), value["key"]


def measure(
    ctx,
    target: UploadTarget,
    variants: list[Variant],
    servers: dict[str, GunicornServer],
    part_count: int,
    storage_pid: int | None,
    references: list[Reference],
) -> tuple[dict[str, list[UploadResult]], dict[str, list[tuple[float, float | None]]], str]:
    """Every variant ``--runs`` times, and each reference once per run; returns the results by label (for the
    references: seconds and the storage server's CPU seconds) and the browser's version."""
    from playwright.sync_api import sync_playwright

    size = ctx.size_bytes
    runs = ctx.args.runs
    source = ctx.workspace.source_file(size)
    warm_source = ctx.workspace.source_file(WARM_UP_SIZE)
    results: dict[str, list[UploadResult]] = {variant.label: [] for variant in variants}
    reference_runs: dict[str, list[tuple[float, float | None]]] = {reference.label: [] for reference in references}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        version = browser.version
        try:
            for server in servers.values():  # warm-up: the browser, and each server's first requests
                _, key = browser_upload(browser, server, warm_source, None, None, target.is_part_upload)
                target.check(key, warm_source, WARM_UP_SIZE, split=False)
                target.delete(key)
            for i in range(runs):
                order = variants if i % 2 == 0 else variants[::-1]
                for variant in order:
                    os.sync()  # the previous upload's data is written out now, not during this one
                    result, key = browser_upload(
                        browser, servers[variant.server], source, variant.parallel, storage_pid, target.is_part_upload
                    )
                    # Every part at least once (more would be retries), or none for a single request.
                    parts = 0 if variant.parallel is None else part_count
                    if result.part_puts < parts or (not parts and result.part_puts):
                        raise BenchmarkError(
                            f"{variant.label}: the browser sent {result.part_puts} part uploads, expected {parts}"
                        )
                    target.check(key, source, size, split=bool(parts))
                    target.delete(key)
                    results[variant.label].append(result)
                    ctx.progress(
                        f"browser upload run {i + 1}/{runs}, {variant.label}: {result.mib_per_second:.0f} MiB/s "
                        f"({result.seconds:.2f} s)"
                    )
                for reference in references:
                    os.sync()
                    cpu_before = cpu_seconds(storage_pid) if storage_pid else None
                    seconds = reference.upload(source)
                    cpu = cpu_seconds(storage_pid) - cpu_before if cpu_before is not None else None
                    reference_runs[reference.label].append((seconds, cpu))
                    ctx.progress(
                        f"reference run {i + 1}/{runs}, {reference.label}: {size / MIB / seconds:.0f} MiB/s "
                        f"({seconds:.2f} s)"
                    )
        finally:
            browser.close()
    return results, reference_runs, version


def report(
    ctx,
    section: Section,
    target: UploadTarget,
    variants: list[Variant],
    results: dict[str, list[UploadResult]],
    references: list[Reference],
    reference_runs: dict[str, list[tuple[float, float | None]]],
    split_detail: str,
    part_count: int,
) -> None:
    """One row per variant and reference (MiB/s), every run in the details."""
    size = ctx.size_bytes
    stat = ctx.args.stat
    runs = ctx.args.runs
    what = f"{stat} of {runs}" if runs > 1 else "1 run"
    for variant in variants:
        runs_of = results[variant.label]
        mibs = summarise((r.mib_per_second for r in runs_of), stat)
        detail = "1 request" if variant.parallel is None else split_detail
        section.add(f"{variant.label} ({what})", f"{mibs:.0f} MiB/s", detail)
        text = ", ".join(f"{r.mib_per_second:.0f}" for r in runs_of)
        note = f"{variant.label}: MiB/s per run [{text}]"
        if variant.parallel is not None:
            note += f"; signing requests per upload: {runs_of[0].sign_requests}"
            retried = sum(r.part_puts - part_count for r in runs_of)
            if retried:
                note += f"; {retried} part uploads retried"
        cpu = [r.storage_cpu_seconds for r in runs_of if r.storage_cpu_seconds is not None]
        if cpu:
            note += f"; {target.storage_name} CPU per run [{', '.join(f'{c:.1f} s' for c in cpu)}]"
        section.note(note)
    for reference in references:
        runs_of = reference_runs[reference.label]
        mibs = summarise((size / MIB / seconds for seconds, _ in runs_of), stat)
        section.add(f"reference: {reference.label} ({what})", f"{mibs:.0f} MiB/s", reference.detail)
        note = f"reference {reference.label}: MiB/s per run [{', '.join(f'{size / MIB / s:.0f}' for s, _ in runs_of)}]"
        cpu = [c for _, c in runs_of if c is not None]
        if cpu:
            note += f"; {target.storage_name} CPU per run [{', '.join(f'{c:.1f} s' for c in cpu)}]"
        section.note(note)
