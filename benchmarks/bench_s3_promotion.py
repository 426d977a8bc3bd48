"""S3 2. Promotion by server-side copy: time, and the S3 requests and bytes of the app process, in-process.

Setup per run (not timed): an upload planned through the real plan endpoint (Django's test client, so the temp row
holds the anonymous session that planned it; the multipart threshold is raised for this one request so that the plan
is a single POST and the object can be put with a plain client), then the object put into the bucket by a separate
boto3 client, as the browser would have.

Timed: ``BlobForm.is_valid()`` + ``.save()`` bound to a request of that session, as in the filesystem submit
benchmark; promotion is timed with the library's own signals (``pre_promote`` .. ``file_promoted``). The storage's
own boto3 client is watched with :class:`benchmarks.s3.S3Traffic` the whole time, and read at the same points, so the
requests and bytes of verification and of promotion are told apart.

Afterwards the record must hold its final key, the final object the uploaded size and ETag, and the temporary
object must be gone.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import time

from boto3.s3.transfer import TransferConfig
from django.conf import settings
from django.test import Client, override_settings

from alliance_platform.storage.async_uploads.signals import file_promoted, pre_promote
from alliance_platform.storage.settings import storage_settings

from .bench_submit import request_for_session
from .benchapp.forms import BlobForm
from .browser import blob_field_id, plan_path
from .harness import MIB, BenchmarkError, Section, fmt_seconds, summarise
from .s3 import BUCKET, S3Traffic, Traffic, fmt_bytes

SMALL_SIZE = 10 * MIB
# The multipart-copy variant: objects above this are copied in parts of this size (the library's defaults are
# 4 GiB and 512 MiB; S3's CopyObject stops at 5 GiB).
MULTIPART_COPY_THRESHOLD = 64 * MIB
MULTIPART_COPY_CHUNKSIZE = 64 * MIB
FILENAME = "promote.bin"


@dataclass
class PromotionRun:
    size: int
    mode: str
    submit_seconds: float
    promotion_seconds: float
    verification: Traffic
    promotion: Traffic
    submit: Traffic


def blob_storage():
    from .benchapp.models import Blob

    return Blob._meta.get_field("file").storage


class TrafficClock:
    """Promotion time and the storage client's traffic, read at ``pre_promote`` and at ``file_promoted``."""

    def __init__(self, traffic: S3Traffic):
        self.traffic = traffic
        self.started: float | None = None
        self.seconds: float | None = None
        self.at_start: Traffic | None = None
        self.at_stop: Traffic | None = None

    def _start(self, **kwargs) -> None:
        self.at_start = self.traffic.reading()
        self.started = time.perf_counter()

    def _stop(self, **kwargs) -> None:
        if self.started is not None:
            self.seconds = time.perf_counter() - self.started
            self.at_stop = self.traffic.reading()

    def __enter__(self) -> TrafficClock:
        pre_promote.connect(self._start, dispatch_uid="bench_s3_promotion_start")
        file_promoted.connect(self._stop, dispatch_uid="bench_s3_promotion_stop")
        return self

    def __exit__(self, *exc_info) -> None:
        pre_promote.disconnect(dispatch_uid="bench_s3_promotion_start")
        file_promoted.disconnect(dispatch_uid="bench_s3_promotion_stop")


def plan_single_post(size: int) -> tuple[str, str]:
    """Plan an upload through the real endpoint; returns the temporary key and the session key that planned it."""
    client = Client()
    storage = {**library_settings(), "S3_MULTIPART_THRESHOLD": max(size, storage_settings.S3_MULTIPART_THRESHOLD)}
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": storage}):
        response = client.post(plan_path(), {"fieldId": blob_field_id(), "filename": FILENAME, "size": size})
    if response.status_code != 200:
        raise BenchmarkError(f"plan failed: {response.status_code} {response.content[:300]!r}")
    plan = response.json()
    if plan["uploadUrl"]["method"] != "POST":
        raise BenchmarkError(f"expected a single-POST plan, got {plan['uploadUrl']['method']}")
    return plan["key"], client.session.session_key


def library_settings() -> dict:
    return dict((getattr(settings, "ALLIANCE_PLATFORM", None) or {}).get("STORAGE") or {})


def put_object(setup_client, key: str, source, size: int) -> None:
    """Put the first ``size`` bytes of ``source`` under ``key`` with the runner's own client (16 MiB parts,
    4 threads, like the widget)."""
    with open(source, "rb") as body:
        setup_client.upload_fileobj(
            _Limited(body, size),
            BUCKET,
            key,
            Config=TransferConfig(multipart_threshold=64 * MIB, multipart_chunksize=16 * MIB, max_concurrency=4),
        )
    head = setup_client.head_object(Bucket=BUCKET, Key=key)
    if head["ContentLength"] != size:
        raise BenchmarkError(f"setup: {key} has {head['ContentLength']} bytes, put {size}")


def same_ends(setup_client, key: str, source, size: int) -> None:
    """The object's first and last MiB are those of the first ``size`` bytes of ``source`` (two ranged GETs)."""
    with open(source, "rb") as local:
        for offset in {0, max(0, size - MIB)}:
            length = min(MIB, size - offset)
            local.seek(offset)
            expected = local.read(length)
            response = setup_client.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={offset}-{offset + length - 1}")
            with response["Body"] as body:
                if body.read() != expected:
                    raise BenchmarkError(f"{key} differs from what was uploaded (at offset {offset})")


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


def promote_once(ctx, traffic: S3Traffic, source: Path, size: int, mode: str) -> PromotionRun:
    """Plan, put (not timed), then submit (timed) one upload of the first ``size`` bytes of ``source``."""
    setup = ctx.s3_client
    key, session_key = plan_single_post(size)
    put_object(setup, key, source, size)

    form = BlobForm(data={"file": json.dumps({"key": key, "name": FILENAME})})
    with bind(session_key), TrafficClock(traffic) as clock:
        before = traffic.reading()
        started = time.perf_counter()
        if not form.is_valid():
            raise BenchmarkError(f"the form rejected the upload: {form.errors.as_json()}")
        validated = traffic.reading()
        blob = form.save()
        seconds = time.perf_counter() - started
        after = traffic.reading()
    if clock.seconds is None:
        raise BenchmarkError(f"{key} was not promoted (no file_promoted signal)")

    blob.refresh_from_db()
    final_key = blob.file.name
    if not final_key.startswith("blobs/"):
        raise BenchmarkError(f"the record was not promoted: it still holds {final_key!r}")
    head = setup.head_object(Bucket=BUCKET, Key=final_key)
    if head["ContentLength"] != size:
        raise BenchmarkError(f"the promoted object {final_key} has {head['ContentLength']} bytes, not {size}")
    same_ends(setup, final_key, source, size)
    if setup.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount"):
        raise BenchmarkError(f"the temporary object {key} was not deleted after promotion")
    setup.delete_object(Bucket=BUCKET, Key=final_key)  # not needed any more; frees the disk

    promotion = clock.at_stop - clock.at_start
    expected = "UploadPartCopy" if mode == "multipart copy" else "CopyObject"
    if not promotion.requests.get(expected):
        raise BenchmarkError(f"promotion of {size} bytes did not use {expected}: {promotion.describe_requests()}")
    return PromotionRun(size, mode, seconds, clock.seconds, validated - before, promotion, after - before)


def bind(session_key: str):
    from alliance_platform.storage.async_uploads.requester import bind_request

    return bind_request(request_for_session(session_key))


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


def run(ctx) -> Section:
    large = ctx.size_bytes
    section = Section("S3 2. Promotion by server-side copy (form submit in-process; app = this process's boto3)")
    storage = blob_storage()
    sizes = [(SMALL_SIZE, "CopyObject"), (large, "CopyObject"), (large, "multipart copy")]
    if large <= MULTIPART_COPY_THRESHOLD:
        sizes[-1] = (max(large, MULTIPART_COPY_THRESHOLD + MIB), "multipart copy")
    if large <= SMALL_SIZE:
        sizes.pop(1)
    source = ctx.workspace.source_file(max(size for size, _ in sizes))

    results: dict[tuple[int, str], list[PromotionRun]] = {}
    with S3Traffic(storage.client) as traffic:
        promote_once(ctx, traffic, source, 64 * 1024, "CopyObject")  # warm-up: imports, the storage's first connection
        for i in range(ctx.args.runs):
            for size, mode in sizes:
                if mode == "multipart copy":
                    with multipart_copy(storage):
                        result = promote_once(ctx, traffic, source, size, mode)
                else:
                    result = promote_once(ctx, traffic, source, size, mode)
                results.setdefault((size, mode), []).append(result)
                ctx.progress(
                    f"promotion run {i + 1}/{ctx.args.runs}, {size // MIB} MiB ({mode}): "
                    f"{fmt_seconds(result.promotion_seconds)}, {result.promotion.describe_requests()}, "
                    f"app sent {fmt_bytes(result.promotion.sent)} / received {fmt_bytes(result.promotion.received)}"
                )

    stat = ctx.args.stat
    for (size, mode), runs in results.items():
        chosen = summarise((r.promotion_seconds for r in runs), stat, higher_is_better=False)
        rep = min(runs, key=lambda r: abs(r.promotion_seconds - chosen))
        what = f"{stat} of {len(runs)}" if len(runs) > 1 else "1 run"
        label = f"{size // MIB} MiB, {mode}"
        if mode == "multipart copy":
            label += f" ({MULTIPART_COPY_CHUNKSIZE // MIB} MiB parts)"
        section.add(
            f"promotion {label} ({what})",
            f"{fmt_seconds(chosen)}, {size / MIB / chosen:,.0f} MiB/s",
            f"{rep.promotion.request_count} requests",
        )
        sent = max(r.promotion.sent for r in runs)
        received = max(r.promotion.received for r in runs)
        section.add(
            "  app bytes sent / received during promotion (max)",
            f"{fmt_bytes(sent)} / {fmt_bytes(received)}",
            f"object {fmt_bytes(size)}",
        )
        section.note(
            f"{label}: promotion per run [{', '.join(fmt_seconds(r.promotion_seconds) for r in runs)}]; "
            f"whole submit (is_valid + save) [{', '.join(fmt_seconds(r.submit_seconds) for r in runs)}]"
        )
        section.note(f"    promotion requests: {rep.promotion.describe_requests()}")
        section.note(
            f"    verification (is_valid) requests: {rep.verification.describe_requests()}; app received "
            f"{fmt_bytes(rep.verification.received)}; whole submit: {rep.submit.request_count} requests, "
            f"app sent {fmt_bytes(rep.submit.sent)} / received {fmt_bytes(rep.submit.received)}"
        )
    section.note(
        "bytes: HTTP request and status lines, headers and bodies of every request the storage's boto3 client made "
        "(counted on its before-send / response-received events)"
    )
    return section
