"""1. Upload endpoint throughput: our filesystem upload URL against a bare WSGI app, both behind the same gunicorn.

Each measured run PUTs the same on-disk file (random bytes) with a Content-Length and reads the response. Runs of
the two servers alternate (bare, ours, ours, bare, ...) so that neither gets systematically warmer caches or a
quieter disk, and every run starts after ``sync`` so none pays for flushing the previous run's data. Both workers
get one full-size upload first, so no run pays for first-request imports.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path

from django.conf import settings

from .browser import Browser
from .harness import (
    MIB,
    BenchmarkError,
    GunicornServer,
    RssWatcher,
    Section,
    check,
    cpu_seconds,
    put_file,
    summarise,
)

TARGET_RATIO = 0.85
REFERENCE_RATIO = 0.55
TARGET_RSS_MIB = 16
FILENAME = "bench.bin"


@dataclass
class UploadRun:
    seconds: float
    size: int
    rss_growth_mib: float
    worker_cpu_seconds: float
    rss_method: str

    @property
    def mib_per_second(self) -> float:
        return self.size / MIB / self.seconds


@dataclass
class UploadedFile:
    """An upload that arrived in temporary storage and has not been submitted."""

    key: str
    cookies: str  # the Cookie header of the browser that planned it (its uploader cookie, the CSRF cookie)
    size: int


def upload_ours(browser: Browser, source: Path) -> tuple[UploadRun, UploadedFile]:
    """Plan an upload over HTTP (not timed), then PUT ``source`` to the plan's URL (timed) and check what arrived."""
    server = browser.server
    size = source.stat().st_size
    plan = browser.plan(FILENAME, size)
    upload_url = plan["uploadUrl"]
    headers = {"Cookie": browser.cookie_header(), **(upload_url.get("headers") or {})}
    pid = server.worker_pid()
    cpu_before = cpu_seconds(pid)
    with RssWatcher(pid) as rss:
        result = put_file(server.host, server.port, upload_url["url"], source, headers)
    cpu = cpu_seconds(pid) - cpu_before
    if result.status != 201:
        raise BenchmarkError(f"our upload endpoint answered {result.status}: {result.body[:500]!r}")
    if result.headers.get("x-upload-size") != str(size):
        raise BenchmarkError(f"our endpoint reports {result.headers.get('x-upload-size')} bytes, sent {size}")
    stored = Path(settings.MEDIA_ROOT) / plan["key"]
    same_content(source, stored)
    run = UploadRun(result.seconds, size, rss.growth_mib, cpu, rss.method)
    return run, UploadedFile(plan["key"], browser.cookie_header(), size)


def upload_bare(server: GunicornServer, source: Path) -> tuple[UploadRun, Path]:
    size = source.stat().st_size
    pid = server.worker_pid()
    cpu_before = cpu_seconds(pid)
    with RssWatcher(pid) as rss:
        result = put_file(server.host, server.port, "/upload", source)
    cpu = cpu_seconds(pid) - cpu_before
    if result.status != 201 or result.headers.get("x-upload-size") != str(size):
        raise BenchmarkError(f"the bare app answered {result.status} with {result.headers.get('x-upload-size')} bytes")
    stored = Path(os.environ["AP_BENCH_DIR"]) / "bare-uploads" / result.headers["x-upload-path"]
    same_content(source, stored)
    return UploadRun(result.seconds, size, rss.growth_mib, cpu, rss.method), stored


def same_content(source: Path, stored: Path) -> None:
    """Same size, same first and last MiB (a full comparison would cost more than the upload)."""
    size = source.stat().st_size
    try:
        stored_size = stored.stat().st_size
    except FileNotFoundError:
        raise BenchmarkError(f"the uploaded file is not on disk: {stored.name}") from None
    if stored_size != size:
        raise BenchmarkError(f"{stored.name} has {stored_size} bytes, sent {size}")
    with open(source, "rb") as a, open(stored, "rb") as b:
        for offset in {0, max(0, size - MIB)}:
            a.seek(offset)
            b.seek(offset)
            if a.read(MIB) != b.read(MIB):
                raise BenchmarkError(f"{stored.name} differs from what was sent (at offset {offset})")


def run(ctx) -> Section:
    size = ctx.size_bytes
    runs = ctx.args.runs
    section = Section(f"1. Upload: PUT {ctx.size_label} through gunicorn (1 sync worker), loopback")
    source = ctx.workspace.source_file(size)
    ours, bare = ctx.server("ours"), ctx.server("bare")
    browser = Browser(ours)

    # Warm-up, one full-size upload each, so no measured run pays for first-request imports. Stored files are kept
    # until all runs are done: deleting them between runs would let the next run reuse freed page cache, which on a
    # virtual machine makes run times erratic (freed memory may or may not have gone back to the host already).
    stored: list[Path] = []
    _, warm = upload_ours(browser, source)
    stored.append(Path(settings.MEDIA_ROOT) / warm.key)
    stored.append(upload_bare(bare, source)[1])

    ours_runs: list[UploadRun] = []
    bare_runs: list[UploadRun] = []
    for i in range(runs):
        order = ("bare", "ours") if i % 2 == 0 else ("ours", "bare")
        for which in order:
            os.sync()  # the previous run's file is written out now, not during this run
            if which == "ours":
                result, uploaded = upload_ours(browser, source)
                ours_runs.append(result)
                stored.append(Path(settings.MEDIA_ROOT) / uploaded.key)
            else:
                result, path = upload_bare(bare, source)
                bare_runs.append(result)
                stored.append(path)
            ctx.progress(
                f"upload run {i + 1}/{runs} {which}: {result.mib_per_second:.0f} MiB/s, "
                f"worker RSS +{result.rss_growth_mib:.1f} MiB, worker CPU {result.worker_cpu_seconds:.2f} s"
            )
    browser.close()
    ctx.stop_server("bare")
    for path in stored:
        path.unlink()

    stat = ctx.args.stat
    ours_mibs = summarise((r.mib_per_second for r in ours_runs), stat)
    bare_mibs = summarise((r.mib_per_second for r in bare_runs), stat)
    # Each of our runs against the bare run next to it in time (same memory and disk conditions); see README.
    paired = [o.mib_per_second / b.mib_per_second for o, b in zip(ours_runs, bare_runs, strict=True)]
    ratio = summarise(paired, stat)
    rss_growth = max(r.rss_growth_mib for r in ours_runs)
    section.add(
        f"our upload endpoint, MiB/s ({stat} of {runs})", f"{ours_mibs:.0f} MiB/s", f"bare: {bare_mibs:.0f} MiB/s"
    )
    ours_cpu = summarise((r.worker_cpu_seconds / (r.size / MIB / 1024) for r in ours_runs), stat, False)
    bare_cpu = summarise((r.worker_cpu_seconds / (r.size / MIB / 1024) for r in bare_runs), stat, False)
    section.add(f"worker CPU seconds per GiB ({stat} of {runs})", f"{ours_cpu:.2f} s", f"bare: {bare_cpu:.2f} s")
    section.add(
        f"throughput ratio ours / bare ({stat} of {runs} pairs)",
        f"{ratio:.2f}",
        f">= {TARGET_RATIO} (ref {REFERENCE_RATIO})",
        check(ratio >= TARGET_RATIO),
    )
    section.add(
        f"worker RSS growth during upload (max of {runs})",
        f"{rss_growth:.1f} MiB",
        f"< {TARGET_RSS_MIB} MiB",
        check(rss_growth < TARGET_RSS_MIB),
    )

    def runs_text(results: list[UploadRun]) -> str:
        return ", ".join(f"{r.mib_per_second:.0f}" for r in results)

    section.note(
        f"upload MiB/s per run: ours [{runs_text(ours_runs)}], bare [{runs_text(bare_runs)}]; "
        f"ratio of each ours run to the bare run next to it [{', '.join(f'{r:.2f}' for r in paired)}]"
    )
    section.note(
        "worker CPU seconds per run: ours [" + ", ".join(f"{r.worker_cpu_seconds:.2f}" for r in ours_runs) + "], "
        "bare [" + ", ".join(f"{r.worker_cpu_seconds:.2f}" for r in bare_runs) + "]"
    )
    section.note(
        f"worker RSS growth (max of {runs}): ours {rss_growth:.1f} MiB, bare {max(r.rss_growth_mib for r in bare_runs):.1f}"
        f" MiB; measured with {ours_runs[0].rss_method}"
    )
    return section
