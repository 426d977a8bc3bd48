"""Background promotion raced, ROUNDS times per backend: the same promotion task delivered twice and run at the
same moment as cleanup (which promotes uploads that records hold), and, with the real clamd scanning, the same
task delivered twice for clean and infected uploads. Records are saved over HTTP in task mode (the save only
enqueues); the racing threads run what a worker runs.

After every round: the conftest invariants, one promotion (one ``file_promoted``, one final object, no copy
left under another name) or, for an infected upload, one quarantine (one ``upload_infected``, the record let go
of it, the quarantined object holds the upload's bytes)."""

from __future__ import annotations

from collections import Counter
import hashlib

from django.test import override_settings
import pytest

from alliance_platform.storage.async_uploads import cleanup, promotion_jobs, signals
from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile, ScanStatus
from tests.scanning.conftest import EICAR, scanning_settings
from tests.stores import file_names_under
from tests.testapp.models import CloudDocument

from .conftest import ROUNDS, Backend, assert_invariants, run_together

DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
FIELD = CloudDocument._meta.get_field("file")
QUARANTINE = "quarantine"


def pdf(*seed: object) -> bytes:
    body = hashlib.sha256(repr(seed).encode()).hexdigest().encode() * 20
    return b"%PDF-1.4\n" + body + b"\n%%EOF\n"


@pytest.fixture
def sent_signals():
    """How often ``file_promoted`` and ``upload_infected`` were sent per record."""
    counts: Counter = Counter()

    def promoted(sender, instance, **kwargs):
        counts["promoted", instance.pk] += 1

    def infected(sender, instance, **kwargs):
        counts["infected", instance.pk] += 1

    signals.file_promoted.connect(promoted)
    signals.upload_infected.connect(infected)
    yield counts
    signals.file_promoted.disconnect(promoted)
    signals.upload_infected.disconnect(infected)


def saved_in_task_mode(visitor, filename: str, content: bytes) -> tuple[int, str, list[int]]:
    """A record saved through the API whose promotion was only enqueued: its pk, its temporary key, and the
    HTTP statuses of the visitor."""
    browser = visitor()
    plan = browser.upload(filename, content)
    response = browser.create(plan["key"], filename)
    assert response.status_code == 201, response.text
    record_pk = response.json()["id"]
    assert CloudDocument.objects.get(pk=record_pk).file.name == plan["key"]
    return record_pk, plan["key"], browser.statuses


def deliver(record_pk: int, key: str):
    return lambda: promotion_jobs.promote_upload(FIELD.async_field_id, str(record_pk), key)


def copies_of(backend: Backend, stem: str) -> list[str]:
    """Objects under the field's folder whose name starts with ``stem`` (a promotion's copies of one upload)."""
    return [name for name in file_names_under(backend.storage, "cloud/") if name.startswith(stem)]


def test_a_task_delivered_twice_while_cleanup_runs_promotes_once(backend: Backend, visitor, sent_signals):
    with override_settings(TASKS=DUMMY_TASKS, ALLIANCE_PLATFORM={"STORAGE": {"PROMOTION": "task"}}):
        for round_number in range(ROUNDS):
            content = pdf(backend.name, "twice", round_number)
            stem = f"twice-{round_number}"
            record_pk, key, statuses = saved_in_task_mode(visitor, f"{stem}.pdf", content)
            outcomes = run_together(
                deliver(record_pk, key), deliver(record_pk, key), lambda: cleanup.cleanup_expired(0)
            )
            record = CloudDocument.objects.get(pk=record_pk)
            assert record.file.name == f"cloud/{stem}.pdf", (record.file.name, outcomes)
            assert outcomes[:2].count("promoted") <= 1, outcomes
            assert sent_signals["promoted", record_pk] == 1
            assert copies_of(backend, stem) == [f"{stem}.pdf"]
            assert backend.read(key) is None
            assert_invariants(backend, {record_pk: content}, statuses)


def test_scanned_tasks_delivered_twice_promote_or_quarantine_once(
    backend: Backend, visitor, sent_signals, clamd, monkeypatch
):
    monkeypatch.setattr(FIELD, "file_restrictions", None)  # the EICAR file is no PDF
    library = {"PROMOTION": "task", **scanning_settings(clamd["unix"], QUARANTINE_PREFIX=QUARANTINE)}
    with override_settings(TASKS=DUMMY_TASKS, ALLIANCE_PLATFORM={"STORAGE": library}):
        for round_number in range(ROUNDS):
            infected = round_number % 2 == 1
            content = EICAR if infected else pdf(backend.name, "scanned", round_number)
            stem = f"scanned-{round_number}"
            record_pk, key, statuses = saved_in_task_mode(visitor, f"{stem}.pdf", content)
            outcomes = run_together(deliver(record_pk, key), deliver(record_pk, key))
            record = CloudDocument.objects.get(pk=record_pk)
            row = AsyncTempFile.objects.get(key=key)
            if infected:
                assert record.file.name == "", outcomes
                assert row.scan_status == ScanStatus.INFECTED and row.moved_to_location == ""
                assert sent_signals["infected", record_pk] == 1, outcomes
                assert backend.read(f"{QUARANTINE}/{key}") == EICAR
                assert copies_of(backend, stem) == []
            else:
                assert record.file.name == f"cloud/{stem}.pdf", outcomes
                assert row.scan_status == ScanStatus.CLEAN
                assert sent_signals["promoted", record_pk] == 1, outcomes
                assert copies_of(backend, stem) == [f"{stem}.pdf"]
            assert backend.read(key) is None
            assert sent_signals["infected", record_pk] + sent_signals["promoted", record_pk] == 1
            assert_invariants(backend, {record_pk: content}, statuses)
