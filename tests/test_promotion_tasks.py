"""Promotion as a task, with the Tasks framework's in-memory ``DummyBackend`` (the worker tests in tests/tasks run
real workers): what is enqueued and when, retries with a doubling pause up to ``PROMOTION_ATTEMPTS``, the periodic
resume and what it leaves alone, the cleanup tasks, and the system checks of these settings."""

from __future__ import annotations

from datetime import timedelta
import logging

from django.core.checks import run_checks
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_tasks import task_backends
import pytest

from alliance_platform.storage.async_uploads import promotion_jobs, signals, tasks
from alliance_platform.storage.async_uploads.background import enqueue
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.temp_files import ScanStatus
from gallery.models import Document
from tests.conftest import PDF_BYTES

pytestmark = pytest.mark.django_db(transaction=True)

FIELD_ID = Document._meta.get_field("file").async_field_id


@pytest.fixture
def task_mode(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"PROMOTION": "task", "PROMOTION_RETRY_DELAY": 10}}
    backend = task_backends["default"]
    backend.clear()
    return backend


@pytest.fixture
def uploaded(logged_in, upload):
    def make(name: str = "contract.pdf") -> str:
        result = upload(logged_in, Document, "file", name, PDF_BYTES)
        assert result.put_status == 201
        return result.key

    return make


def enqueued(backend) -> list[tuple[str, tuple, timedelta | None]]:
    """Each enqueued task's name, arguments, and how far in the future it may run (``None``: at once)."""
    return [
        (
            result.task.name,
            tuple(result.args),
            result.task.run_after - result.enqueued_at if result.task.run_after else None,
        )
        for result in backend.results
    ]


def test_a_save_enqueues_its_promotion_once_committed_and_the_record_stays_temporary(task_mode, uploaded):
    key = uploaded()
    with transaction.atomic():
        doc = Document.objects.create(title="a", file=key)
        assert task_mode.results == []  # not before the commit: a worker would not see the record
    assert enqueued(task_mode) == [("promote_upload", (FIELD_ID, str(doc.pk), key, "default"), None)]
    assert Document.objects.get().file.name == key and default_storage.exists(key)


def test_a_rolled_back_save_enqueues_nothing(task_mode, uploaded):
    key = uploaded()
    with pytest.raises(RuntimeError), transaction.atomic():
        Document.objects.create(title="a", file=key)
        raise RuntimeError
    assert task_mode.results == []


def test_the_task_promotes_and_the_promotion_signals_fire_in_it(task_mode, uploaded):
    key = uploaded()
    doc = Document.objects.create(title="a", file=key)
    sent = []

    def pre_promote(sender, temp_file, **kwargs):
        sent.append(("pre_promote", temp_file.key))

    def file_promoted(sender, key, **kwargs):
        sent.append(("file_promoted", key))

    signals.pre_promote.connect(pre_promote)
    signals.file_promoted.connect(file_promoted)
    try:
        assert sent == []  # the save only enqueued
        assert tasks.promote_upload.call(FIELD_ID, str(doc.pk), key) == "promoted"
        assert tasks.promote_upload.call(FIELD_ID, str(doc.pk), key) == "already promoted"
    finally:
        signals.pre_promote.disconnect(pre_promote)
        signals.file_promoted.disconnect(file_promoted)
    assert Document.objects.get().file.name == "documents/contract.pdf"
    assert sent == [("pre_promote", key), ("file_promoted", "documents/contract.pdf")]


def _failing_storage(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("storage unreachable")

    for name in ("copy_file", "move_file"):
        monkeypatch.setattr(type(default_storage._wrapped), name, refuse)


def test_a_failed_promotion_is_recorded_and_retried_later_with_a_doubling_pause(task_mode, uploaded, monkeypatch):
    key = uploaded()
    doc = Document.objects.create(title="a", file=key)
    task_mode.clear()
    _failing_storage(monkeypatch)
    for attempt in (1, 2, 3):
        assert promotion_jobs.promote_upload(FIELD_ID, str(doc.pk), key, "default", attempt) == "failed"
    row = AsyncTempFile.objects.get(key=key)
    assert row.attempts == 3 and "storage unreachable" in row.error
    pauses = [pause for _name, _args, pause in enqueued(task_mode)]
    assert [round(pause.total_seconds()) for pause in pauses] == [10, 20, 40]
    assert [args[-1] for _name, args, _pause in enqueued(task_mode)] == [2, 3, 4]
    assert Document.objects.get().file.name == key and default_storage.exists(key)


def test_the_last_attempt_gives_up_and_says_so(task_mode, uploaded, monkeypatch, caplog):
    key = uploaded()
    doc = Document.objects.create(title="a", file=key)
    task_mode.clear()
    _failing_storage(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="alliance_platform.storage"):
        assert promotion_jobs.promote_upload(FIELD_ID, str(doc.pk), key, "default", 5) == "failed"
    assert task_mode.results == []
    assert "gave up after 5 attempts" in caplog.text


def test_a_task_for_a_deleted_record_or_an_unknown_field_does_nothing(task_mode, uploaded):
    key = uploaded()
    doc = Document.objects.create(title="a", file=key)
    Document.objects.all().delete()
    assert promotion_jobs.promote_upload(FIELD_ID, str(doc.pk), key) == "nothing to do"
    assert promotion_jobs.promote_upload("no-such-field", str(doc.pk), key) == "unknown field"
    assert default_storage.exists(key)


def test_an_enqueue_that_fails_is_logged_not_raised(task_mode, monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(type(task_mode), "enqueue", broker_down)
    with caplog.at_level(logging.ERROR, logger="alliance_platform.storage"):
        assert enqueue("resume_promotions", 60) is None
    assert "broker down" in caplog.text


def test_resume_enqueues_only_stalled_promotions(task_mode, uploaded):
    def saved(name: str) -> AsyncTempFile:
        key = uploaded(name)
        Document.objects.create(title=name, file=key)
        AsyncTempFile.objects.filter(key=key).update(verified_at=timezone.now() - timedelta(hours=1))
        return AsyncTempFile.objects.get(key=key)

    stalled = saved("stalled.pdf")
    infected = saved("infected.pdf")
    AsyncTempFile.objects.filter(pk=infected.pk).update(scan_status=ScanStatus.INFECTED)
    exhausted = saved("exhausted.pdf")
    AsyncTempFile.objects.filter(pk=exhausted.pk).update(attempts=5)
    claimed = saved("claimed.pdf")
    AsyncTempFile.objects.filter(pk=claimed.pk).update(
        lease_token="someone", lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    recent = saved("recent.pdf")
    AsyncTempFile.objects.filter(pk=recent.pk).update(verified_at=timezone.now())
    uploaded("never-saved.pdf")
    task_mode.clear()

    assert promotion_jobs.resume_promotions(older_than_seconds=300) == 1
    assert enqueued(task_mode) == [("promote_upload", (FIELD_ID, stalled.object_id, stalled.key, "default", 1), None)]


def test_in_request_mode_resume_promotes_at_once(uploaded, monkeypatch, settings):
    key = uploaded()
    with monkeypatch.context() as broken:
        _failing_storage(broken)
        doc = Document.objects.create(title="a", file=key)
    assert Document.objects.get().file.name == key
    assert promotion_jobs.resume_promotions(older_than_seconds=0) == 1
    assert Document.objects.get(pk=doc.pk).file.name == "documents/contract.pdf"


def test_the_cleanup_task_removes_expired_uploads(task_mode, uploaded):
    key = uploaded()
    AsyncTempFile.objects.update(created_at=timezone.now() - timedelta(days=3))
    summary = tasks.cleanup_expired_uploads.call(age_hours=48)
    assert summary.startswith("Deleted 1 expired temporary uploads;")
    assert not AsyncTempFile.objects.exists() and not default_storage.exists(key)


def test_the_cleanup_tasks_can_be_enqueued_by_a_scheduler(task_mode):
    for name, args in [
        ("cleanup_expired_uploads", (24,)),
        ("abort_stale_multipart_uploads", ()),
        ("resume_promotions", (600,)),
    ]:
        assert enqueue(name, *args) is not None
    assert [name for name, _args, _pause in enqueued(task_mode)] == [
        "cleanup_expired_uploads",
        "abort_stale_multipart_uploads",
        "resume_promotions",
    ]


@pytest.mark.parametrize(
    ("library", "check_id"),
    [
        ({"PROMOTION": "celery"}, "alliance_platform_storage.E030"),
        ({"SCANNER": "no.such.module.scan"}, "alliance_platform_storage.E032"),
        (
            {"SCANNER": "alliance_platform.storage.async_uploads.scanning.clamav.scan", "CLAMD_ADDRESS": "clamd:3310"},
            "alliance_platform_storage.E033",
        ),
    ],
)
def test_misconfigured_background_work_is_a_check_error(settings, library, check_id):
    settings.ALLIANCE_PLATFORM = {"STORAGE": library}
    assert check_id in [problem.id for problem in run_checks()]


def test_task_mode_without_the_tasks_framework_is_a_check_error(settings, monkeypatch):
    from alliance_platform.storage import checks

    settings.ALLIANCE_PLATFORM = {"STORAGE": {"PROMOTION": "task"}}
    assert "alliance_platform_storage.E031" not in [problem.id for problem in run_checks()]
    monkeypatch.setattr(checks, "_tasks_framework_installed", lambda: False)
    assert "alliance_platform_storage.E031" in [problem.id for problem in run_checks()]


def test_a_correct_configuration_passes_the_checks(settings):
    settings.ALLIANCE_PLATFORM = {
        "STORAGE": {
            "PROMOTION": "task",
            "SCANNER": "alliance_platform.storage.async_uploads.scanning.clamav.scan",
            "CLAMD_ADDRESS": "tcp://127.0.0.1:3310",
        }
    }
    assert not [problem.id for problem in run_checks() if problem.id.startswith("alliance_platform_storage.E03")]


def test_the_resume_command_promotes_what_failed(uploaded, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    key = uploaded()
    with monkeypatch.context() as broken:
        _failing_storage(broken)
        doc = Document.objects.create(title="a", file=key)
    out = StringIO()
    call_command("resume_async_promotions", "--older-than", "0", stdout=out)
    assert out.getvalue().strip() == "Resumed 1 promotions."
    assert Document.objects.get(pk=doc.pk).file.name == "documents/contract.pdf"
