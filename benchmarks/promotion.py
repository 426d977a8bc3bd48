"""Promotion by server-side copy, in-process: what the promotion benchmarks of every cloud backend share
(``bench_s3_promotion``, ``bench_azure_promotion``).

Setup per run (not timed): an upload planned through the real plan endpoint (Django's test client, so the temp row
holds the anonymous session that planned it; the backend's threshold for split uploads is raised for this one
request so that the plan is a single request and the object can be put with a plain client), then the object put
into the bucket or container by the runner's own client, as the browser would have.

Timed: ``BlobForm.is_valid()`` + ``.save()`` bound to a request of that session, as in the filesystem submit
benchmark; promotion is timed with the library's own signals (``pre_promote`` .. ``file_promoted``). The storage's
own client is watched by a backend's traffic counter the whole time, read at the same points, so the requests and
bytes of verification and of promotion are told apart.

Afterwards the record must hold its final key, the final object the uploaded size and its first and last MiB, and
the temporary object must be gone.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import time

from django.conf import settings
from django.test import Client, override_settings

from alliance_platform.storage.async_uploads.signals import file_promoted, pre_promote

from .bench_submit import client_cookie_header, request_for_cookies
from .benchapp.forms import BlobForm
from .browser import blob_field_id, plan_path
from .harness import MIB, BenchmarkError, Section, fmt_seconds, summarise
from .traffic import Traffic, fmt_bytes

SMALL_SIZE = 10 * MIB
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
    final_key: str = ""


class ObjectStore:
    """The runner's own access to the bucket or container (never the storage's client): set-up and checks."""

    def put(self, key: str, source: Path, size: int) -> None:
        """Store the first ``size`` bytes of ``source`` under ``key``."""
        raise NotImplementedError

    def size(self, key: str) -> int | None:
        """The object's size, or ``None`` when there is no such object."""
        raise NotImplementedError

    def read(self, key: str, offset: int, length: int) -> bytes:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError


def blob_storage():
    from .benchapp.models import Blob

    return Blob._meta.get_field("file").storage


class TrafficClock:
    """Promotion time and the storage client's traffic, read at ``pre_promote`` and at ``file_promoted``.

    ``traffic`` is a backend's counter: anything with ``reading() -> Traffic``.
    """

    def __init__(self, traffic):
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
        pre_promote.connect(self._start, dispatch_uid="bench_promotion_start")
        file_promoted.connect(self._stop, dispatch_uid="bench_promotion_stop")
        return self

    def __exit__(self, *exc_info) -> None:
        pre_promote.disconnect(dispatch_uid="bench_promotion_start")
        file_promoted.disconnect(dispatch_uid="bench_promotion_stop")


def library_settings() -> dict:
    return dict((getattr(settings, "ALLIANCE_PLATFORM", None) or {}).get("STORAGE") or {})


def plan_single_request(size: int, overrides: dict, method: str) -> tuple[str, str]:
    """Plan an upload through the real endpoint with the library settings ``overrides`` (a threshold above
    ``size``); returns the temporary key and the Cookie header of the browser that planned it."""
    client = Client()
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": {**library_settings(), **overrides}}):
        response = client.post(plan_path(), {"fieldId": blob_field_id(), "filename": FILENAME, "size": size})
    if response.status_code != 200:
        raise BenchmarkError(f"plan failed: {response.status_code} {response.content[:300]!r}")
    plan = response.json()
    if plan["uploadUrl"]["method"] != method:
        raise BenchmarkError(f"expected a single {method} plan, got {plan['uploadUrl']['method']}")
    return plan["key"], client_cookie_header(client)


def bind(cookie_header: str):
    from alliance_platform.storage.async_uploads.requester import bind_request

    return bind_request(request_for_cookies(cookie_header))


def same_ends(store: ObjectStore, key: str, source: Path, size: int) -> None:
    """The object's first and last MiB are those of the first ``size`` bytes of ``source``."""
    with open(source, "rb") as local:
        for offset in {0, max(0, size - MIB)}:
            length = min(MIB, size - offset)
            local.seek(offset)
            if store.read(key, offset, length) != local.read(length):
                raise BenchmarkError(f"{key} differs from what was uploaded (at offset {offset})")


def promote_once(
    store: ObjectStore,
    traffic,
    source: Path,
    size: int,
    mode: str,
    plan_overrides: dict,
    plan_method: str,
    expected_request: str,
    keep_final: bool = False,
) -> PromotionRun:
    """Plan, put (not timed), then submit (timed) one upload of the first ``size`` bytes of ``source``; promotion
    must have sent at least one ``expected_request``. The promoted object is deleted unless ``keep_final``."""
    key, cookie_header = plan_single_request(size, plan_overrides, plan_method)
    store.put(key, source, size)
    if store.size(key) != size:
        raise BenchmarkError(f"setup: {key} does not hold the {size} bytes put")

    form = BlobForm(data={"file": json.dumps({"key": key, "name": FILENAME})})
    with bind(cookie_header), TrafficClock(traffic) as clock:
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
    final_size = store.size(final_key)
    if final_size != size:
        raise BenchmarkError(f"the promoted object {final_key} has {final_size} bytes, not {size}")
    same_ends(store, final_key, source, size)
    if store.size(key) is not None:
        raise BenchmarkError(f"the temporary object {key} was not deleted after promotion")
    if not keep_final:
        store.delete(final_key)  # not needed any more; frees the disk

    promotion = clock.at_stop - clock.at_start
    if not promotion.requests.get(expected_request):
        raise BenchmarkError(
            f"promotion of {size} bytes did not use {expected_request}: {promotion.describe_requests()}"
        )
    return PromotionRun(size, mode, seconds, clock.seconds, validated - before, promotion, after - before, final_key)


def report(
    section: Section, results: dict[tuple[int, str], list[PromotionRun]], stat: str, labels: dict[str, str]
) -> None:
    """Rows per size and mode (``labels`` may rename a mode in the table); every run in the details."""
    for (size, mode), runs in results.items():
        chosen = summarise((r.promotion_seconds for r in runs), stat, higher_is_better=False)
        rep = min(runs, key=lambda r: abs(r.promotion_seconds - chosen))
        what = f"{stat} of {len(runs)}" if len(runs) > 1 else "1 run"
        label = f"{size // MIB} MiB, {labels.get(mode, mode)}"
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
