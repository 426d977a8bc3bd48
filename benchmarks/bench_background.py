"""Background promotion: what saving a record costs the request when its upload is promoted by a task worker
(``STORAGE["PROMOTION"] = "task"`` on the database task backend), beside the same save promoting in the request.

The same flow on every backend (filesystem, S3, Azure), ``--only background``:

Setup per run (not timed): an upload planned through the real plan endpoint in-process (a single-request plan, so
the runner can store the object itself), the object of ``--size`` stored under its temporary key by the runner's
own client (a file copy on the filesystem), then ``sync``.

Timed: ``BlobForm.is_valid()`` + ``.save()`` bound to a request of the session that planned it, outside a
transaction (as in the submit and promotion benchmarks), once with ``PROMOTION="task"`` and once with
``PROMOTION="request"``, alternating which goes first. With ``"task"`` the save must not promote, must leave the
record on its temporary key, and must write exactly one row of the task backend's table: the enqueued
``promote_upload``. Then the database backend's worker runs once (``db_worker --batch``, a separate process) and
the task must have succeeded with ``promoted``; its time is the task's own ``started_at`` .. ``finished_at``.

Afterwards, in both modes, the record must hold its final key, the final object the uploaded size and its first
and last MiB, the temporary object must be gone and the temp row must say where the file went.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import os
from pathlib import Path
import time

from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from . import db_worker
from .bench_submit import PromotionClock
from .benchapp.forms import BlobForm
from .harness import MIB, BenchmarkError, Section, check, fmt_seconds, log_tail, summarise
from .promotion import (
    FILENAME,
    ObjectStore,
    bind,
    blob_storage,
    library_settings,
    plan_single_request,
    same_ends,
)

TARGET_SECONDS = 0.100  # "< 100 ms" per request in the table
MODES = ("task", "request")
WARM_UP_SIZE = 64 * 1024
TITLES = {"filesystem": "filesystem", "s3": "S3", "azure": "Azure"}


class Directory(ObjectStore):
    """The media root through plain file operations (never the storage's own methods): set-up and checks."""

    def __init__(self, root: str):
        self.root = Path(root)

    def put(self, key: str, source: Path, size: int) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as src, open(target, "xb") as dst:
            left = size
            while left:
                copied = os.copy_file_range(src.fileno(), dst.fileno(), left)
                if not copied:
                    raise BenchmarkError(f"setup: {source} has fewer than {size} bytes")
                left -= copied

    def size(self, key: str) -> int | None:
        try:
            return (self.root / key).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, key: str, offset: int, length: int) -> bytes:
        with open(self.root / key, "rb") as file:
            file.seek(offset)
            return file.read(length)

    def delete(self, key: str) -> None:
        (self.root / key).unlink()


@dataclass
class Backend:
    """How the runner stores an upload on one backend, and the plan that lets it (see ``plan_single_request``)."""

    store: ObjectStore
    plan_overrides: dict
    plan_method: str


def backend_for(ctx) -> Backend:
    backend = ctx.args.backend
    if backend == "s3":
        from alliance_platform.storage.settings import storage_settings

        from .bench_s3_promotion import Bucket

        threshold = max(ctx.size_bytes, storage_settings.S3_MULTIPART_THRESHOLD)
        return Backend(Bucket(ctx.s3_client), {"S3_MULTIPART_THRESHOLD": threshold}, "POST")
    if backend == "azure":
        from alliance_platform.storage.async_uploads.storage.azure import MAX_PUT_BLOB_SIZE

        from .bench_azure_promotion import Container

        return Backend(Container(ctx.azure), {"AZURE_BLOCK_THRESHOLD": MAX_PUT_BLOB_SIZE}, "PUT")
    return Backend(Directory(settings.MEDIA_ROOT), {}, "PUT")


@dataclass
class SaveRun:
    mode: str
    size: int
    validate: float
    save: float
    queries: list[str]
    # "request": pre_promote..file_promoted inside save(); "task": the task's started_at..finished_at in the worker.
    promotion: float
    worker: float | None = None  # "task": the db_worker process, start to exit
    enqueued_to_done: float | None = None  # "task": the task's enqueued_at..finished_at

    @property
    def total(self) -> float:
        return self.validate + self.save


def task_results():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path__endswith=".promote_upload")


def task_inserts(queries: list[str]) -> list[str]:
    from django_tasks_db.models import DBTaskResult

    table = DBTaskResult._meta.db_table
    return [sql for sql in queries if sql.lstrip().upper().startswith("INSERT") and table in sql]


def save_once(ctx, backend: Backend, source: Path, size: int, mode: str) -> SaveRun:
    """Plan and store (not timed), then validate and save (timed) one upload with ``PROMOTION=mode``; in task
    mode run the worker once. Raises ``BenchmarkError`` unless the record ends promoted, whichever the mode."""
    key, session_key = plan_single_request(size, backend.plan_overrides, backend.plan_method)
    store = backend.store
    store.put(key, source, size)
    if store.size(key) != size:
        raise BenchmarkError(f"setup: {key} does not hold the {size} bytes put")
    os.sync()  # in real use the upload finished well before the form was sent

    task_ids_before = set(task_results().values_list("id", flat=True))
    form = BlobForm(data={"file": json.dumps({"key": key, "name": FILENAME})})
    mode_settings = {"STORAGE": {**library_settings(), "PROMOTION": mode}}
    with (
        override_settings(ALLIANCE_PLATFORM=mode_settings),
        bind(session_key),
        PromotionClock() as clock,
        CaptureQueriesContext(connection) as captured,
    ):
        started = time.perf_counter()
        valid = form.is_valid()
        validated = time.perf_counter()
        if not valid:
            raise BenchmarkError(f"the form rejected the upload: {form.errors.as_json()}")
        blob = form.save()
        saved = time.perf_counter()
    queries = [query["sql"] for query in captured.captured_queries]
    run = SaveRun(mode, size, validated - started, saved - validated, queries, promotion=0.0)

    if mode == "task":
        background(ctx, run, blob, key, task_ids_before, clock)
    elif clock.seconds is None:
        raise BenchmarkError(f"PROMOTION=request: {key} was not promoted in the request (no file_promoted signal)")
    else:
        run.promotion = clock.seconds
    check_promoted(store, blob, key, source, size)
    return run


def background(ctx, run: SaveRun, blob, key: str, task_ids_before: set, clock: PromotionClock) -> None:
    """The task-mode save enqueued exactly one promotion and did not promote; one worker pass promotes it."""
    from django_tasks.base import TaskResultStatus

    if clock.seconds is not None or clock.started is not None:
        raise BenchmarkError("PROMOTION=task: the save started promoting in the request")
    blob.refresh_from_db()
    if blob.file.name != key:
        raise BenchmarkError(f"PROMOTION=task: the saved record holds {blob.file.name!r}, not its temporary key")
    inserts = task_inserts(run.queries)
    if len(inserts) != 1:
        raise BenchmarkError(f"PROMOTION=task: the save wrote {len(inserts)} task rows, not 1: {inserts}")
    new = list(task_results().exclude(id__in=task_ids_before))
    if len(new) != 1:
        raise BenchmarkError(f"PROMOTION=task: {len(new)} promote_upload tasks were enqueued, not 1")
    task = new[0]
    expected_args = [blob._meta.get_field("file").async_field_id, str(blob.pk), key]
    if task.status != TaskResultStatus.READY or task.args_kwargs["args"][:3] != expected_args:
        raise BenchmarkError(f"PROMOTION=task: unexpected task {task.status} {task.args_kwargs}")

    worker = db_worker.run_batch(ctx.workspace.path, f"{run.mode}-{run.size}")
    task.refresh_from_db()
    if task.status != TaskResultStatus.SUCCESSFUL or task.return_value != "promoted":
        from alliance_platform.storage.async_uploads.models import AsyncTempFile

        row = AsyncTempFile.objects.filter(key=key).values("error", "attempts").first() or {}
        error = (row.get("error") or "no error recorded").splitlines()[0]
        raise BenchmarkError(
            f"background promotion failed: {error} (task {task.status}, returned {task.return_value!r}, "
            f"attempts {row.get('attempts')}; {task.exception_class_path} {task.traceback[-500:]}); "
            f"the worker's log:\n{log_tail(worker.log, 15)}"
        )
    run.promotion = (task.finished_at - task.started_at).total_seconds()
    run.enqueued_to_done = (task.finished_at - task.enqueued_at).total_seconds()
    run.worker = worker.seconds


def check_promoted(store: ObjectStore, blob, key: str, source: Path, size: int) -> None:
    """The record on its final key, the final object complete, the temporary one gone; then the final one deleted
    (not needed any more; frees the disk)."""
    from alliance_platform.storage.async_uploads.models import AsyncTempFile

    blob.refresh_from_db()
    final_key = blob.file.name
    if final_key == key or not final_key.startswith("blobs/"):
        raise BenchmarkError(f"the record was not promoted: it holds {final_key!r}")
    final_size = store.size(final_key)
    if final_size != size:
        raise BenchmarkError(f"the promoted object {final_key} has {final_size} bytes, not {size}")
    same_ends(store, final_key, source, size)
    if store.size(key) is not None:
        raise BenchmarkError(f"the temporary object {key} was not deleted after promotion")
    if AsyncTempFile.objects.get(key=key).moved_to_location != final_key:
        raise BenchmarkError(f"the temp row of {key} does not record {final_key}")
    store.delete(final_key)


#: Azurite (the pinned 3.35, the newest on Debian 12's Node.js 18) copies a blob through one JavaScript string,
#: which Node caps 24 bytes short of 512 MiB: a Copy Blob of 512 MiB or more fails there (real Azure copies it).
AZURITE_LARGEST_COPY = 511 * MIB


def run(ctx) -> Section:
    name = TITLES[ctx.args.backend]
    size = ctx.size_bytes
    label = ctx.size_label
    if ctx.args.backend == "azure" and size > AZURITE_LARGEST_COPY:
        size, label = AZURITE_LARGEST_COPY, f"511 MiB: Azurite cannot copy {label}"
    section = Section(f"Background promotion ({name}, {label}): PROMOTION=task (db_worker) vs request")
    backend = backend_for(ctx)
    source = ctx.workspace.source_file(size)

    for mode in MODES:  # warm-up: imports, connections, the task table's first row, one worker start
        save_once(ctx, backend, source, min(WARM_UP_SIZE, size), mode)
    runs: dict[str, list[SaveRun]] = {mode: [] for mode in MODES}
    for i in range(ctx.args.runs):
        for mode in MODES if i % 2 == 0 else MODES[::-1]:
            result = save_once(ctx, backend, source, size, mode)
            runs[mode].append(result)
            text = (
                f"{name} run {i + 1}/{ctx.args.runs}, PROMOTION={mode}: is_valid {fmt_seconds(result.validate)}, "
                f"save {fmt_seconds(result.save)}"
            )
            if mode == "task":
                text += f"; worker promoted in {fmt_seconds(result.promotion)} (process {result.worker:.2f} s)"
            else:
                text += f" (promotion {fmt_seconds(result.promotion)})"
            ctx.progress(text)
    report(section, runs, ctx.args.stat, size)
    return section


def representative(runs: list[SaveRun], chosen: float) -> SaveRun:
    return min(runs, key=lambda r: abs(r.total - chosen))


def report(section: Section, runs: dict[str, list[SaveRun]], stat: str, size: int) -> None:
    count = len(runs["task"])
    what = f"{stat} of {count}" if count > 1 else "1 run"
    label = f"{size // MIB} MiB" if size >= MIB else f"{size} B"
    task_total = summarise((r.total for r in runs["task"]), stat, higher_is_better=False)
    request_total = summarise((r.total for r in runs["request"]), stat, higher_is_better=False)
    task_rep = representative(runs["task"], task_total)
    request_rep = representative(runs["request"], request_total)

    section.add(
        f"request, PROMOTION=task: is_valid() + save(), {label} ({what})",
        fmt_seconds(task_total),
        "< 100 ms",
        check(task_total < TARGET_SECONDS),
    )
    section.add("  of which is_valid(): verification", fmt_seconds(task_rep.validate))
    section.add(
        "  of which save(): INSERT + claim + enqueue",
        fmt_seconds(task_rep.save),
        f"{len(task_rep.queries)} queries, 1 task INSERT",
    )
    section.add(
        f"request, PROMOTION=request: is_valid() + save(), {label} ({what})",
        fmt_seconds(request_total),
        "ref: promotion in the request",
    )
    section.add(
        "  of which promotion (pre_promote..file_promoted)",
        fmt_seconds(request_rep.promotion),
        f"{len(request_rep.queries)} queries",
    )
    section.add("  request time saved by PROMOTION=task", fmt_seconds(request_total - task_total))
    promotion = summarise((r.promotion for r in runs["task"]), stat, higher_is_better=False)
    section.add(
        f"background promotion in db_worker (task started..finished) ({what})",
        fmt_seconds(promotion),
        "checked: final key, size, ends",
    )
    worker = summarise((r.worker for r in runs["task"]), stat, higher_is_better=False)
    section.add("  db_worker --batch process, start to exit", fmt_seconds(worker), "incl. Python + Django start")
    latency = summarise((r.enqueued_to_done for r in runs["task"]), stat, higher_is_better=False)
    section.add("  enqueued..promoted", fmt_seconds(latency), "worker started after the save")

    def each(values) -> str:
        return ", ".join(fmt_seconds(v) for v in values)

    section.note(
        "PROMOTION=task per run (is_valid + save): "
        + ", ".join(f"{fmt_seconds(r.validate)} + {fmt_seconds(r.save)}" for r in runs["task"])
    )
    section.note(f"    task started..finished per run: {each(r.promotion for r in runs['task'])}")
    section.note(f"    db_worker process per run: {each(r.worker for r in runs['task'])}")
    section.note(
        "PROMOTION=request per run (is_valid + save, promotion): "
        + ", ".join(
            f"{fmt_seconds(r.validate)} + {fmt_seconds(r.save)} ({fmt_seconds(r.promotion)})" for r in runs["request"]
        )
    )
    section.note(f"queries during one PROMOTION=task submit: {len(task_rep.queries)}")
    for sql in task_rep.queries:
        section.note(f"    {sql if len(sql) <= 150 else sql[:147] + '...'}")
    section.note(
        f"storage of the record: {blob_storage().__class__.__name__}; the worker is a separate process on the same "
        "database and storage (DJANGO_SETTINGS_MODULE=benchmarks.settings, AP_BENCH_PROMOTION=task)"
    )
