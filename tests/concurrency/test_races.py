"""Each race that broke the promises before the claim protocol, run ROUNDS times per backend with real threads.

See conftest.py for the invariants checked after every round.
"""

from __future__ import annotations

from datetime import timedelta
import hashlib
import os
import threading
import time

from django.utils import timezone
import pytest

from alliance_platform.storage.async_uploads import cleanup, promotion, signals
from alliance_platform.storage.async_uploads.temp_files import PLANNED_BEFORE_UPGRADE, AsyncTempFile
from tests.conftest import png_bytes
from tests.testapp.models import CloudDocument

from .conftest import ROUNDS, THREAD_TIMEOUT, Backend, Visitor, assert_invariants, run_together

ABANDONED_DAYS = 3  # "a form left open over a weekend": older than cleanup's default age of 48 hours


def pdf(*seed: object) -> bytes:
    """A small PDF (by its first bytes) whose content differs per seed, so swapped files would show."""
    body = hashlib.sha256(repr(seed).encode()).hexdigest().encode() * 20
    return b"%PDF-1.4\n" + body + b"\n%%EOF\n"


def twin(browser: Visitor) -> Visitor:
    """The same browser in another tab: its own connection, the same session cookie."""
    other = Visitor(browser.base_url)
    other.http.cookies.update(browser.http.cookies)
    return other


def backdate(*keys: str) -> None:
    AsyncTempFile.objects.filter(key__in=keys).update(created_at=timezone.now() - timedelta(days=ABANDONED_DAYS))


def created(response) -> int | None:
    return response.json()["id"] if response.status_code == 201 else None


def test_old_uploads_submitted_while_cleanup_runs(backend: Backend, visitor):
    """Uploads older than the cleanup age submitted while cleanup deletes expired uploads: each submit either
    saves a record on an object that exists, or is refused with a validation error; never a record on a deleted
    object, never a 500 (cleanup deleting while verification reads)."""
    outcomes = {201: 0, 400: 0}
    for round_number in range(ROUNDS):
        browser = visitor()
        contents = [pdf(backend.name, round_number, index) for index in range(4)]
        plans = [browser.upload(f"weekend-{index}.pdf", content) for index, content in enumerate(contents)]
        backdate(*(plan["key"] for plan in plans))
        tabs = [twin(browser) for _ in plans]
        submitted = threading.Event()
        remaining = [len(plans)]
        lock = threading.Lock()

        def submit(index: int):
            response = tabs[index].create(plans[index]["key"], f"weekend-{index}.pdf")
            with lock:
                remaining[0] -= 1
                if not remaining[0]:
                    submitted.set()
            return response

        def clean_until_submitted():
            passes = 0
            while not submitted.is_set() or not passes:
                cleanup.cleanup_expired(48)
                passes += 1
            return passes

        *responses, _passes = run_together(*(lambda i=i: submit(i) for i in range(len(plans))), clean_until_submitted)
        for response in responses:
            outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        expected = {created(r): contents[i] for i, r in enumerate(responses) if created(r) is not None}
        statuses = browser.statuses + [status for tab in tabs for status in tab.statuses]
        assert_invariants(backend, expected, statuses)
        assert CloudDocument.objects.count() == len(expected), "a refused submit saved a record"
        assert set(outcomes) <= {201, 400}, outcomes
        CloudDocument.objects.all().delete()


def test_the_same_key_submitted_twice_at_once(backend: Backend, visitor):
    """A double click, or a form and an API client: at most one record gets the upload itself, the other either
    a validation error or its own copy of the same bytes; never a record on a missing object, never one object
    for two records."""
    for round_number in range(ROUNDS):
        browser = visitor()
        content = pdf(backend.name, "twice", round_number)
        plan = browser.upload("twice.pdf", content)
        other = twin(browser)
        first, second = run_together(
            lambda: browser.create(plan["key"], "twice.pdf"), lambda: other.create(plan["key"], "twice.pdf")
        )
        responses = [first, second]
        assert any(response.status_code == 201 for response in responses), [r.text for r in responses]
        assert {response.status_code for response in responses} <= {201, 400}
        expected = {created(r): content for r in responses if created(r) is not None}
        assert_invariants(backend, expected, browser.statuses + other.statuses)
        owner = AsyncTempFile.objects.get(key=plan["key"])
        assert owner.object_id in {str(pk) for pk in expected}, "the upload's row names neither record"


def test_cleanup_and_a_request_promote_the_same_upload(backend: Backend, visitor, monkeypatch):
    """A record saved on its temporary key whose promotion did not run yet (the process died after the commit),
    promoted by a request and by cleanup at the same moment: one promotes, the other finds it done; the upload
    that was promoted never carries an error."""
    field = CloudDocument._meta.get_field("file")
    for round_number in range(ROUNDS):
        browser = visitor()
        content = pdf(backend.name, "both", round_number)
        plan = browser.upload("both.pdf", content)
        with monkeypatch.context() as patch:
            patch.setattr(promotion, "promote", lambda *args, **kwargs: None)
            record = CloudDocument.objects.create(title="crashed", file=plan["key"])
        assert AsyncTempFile.objects.get(key=plan["key"]).object_id == str(record.pk)
        backdate(plan["key"])
        promoted, _report = run_together(
            lambda: promotion.promote(field, CloudDocument.objects.get(pk=record.pk), plan["key"]),
            lambda: cleanup.cleanup_expired(48),
        )
        record.refresh_from_db()
        assert not record.file.name.startswith("async-temp-files/"), "neither promoted the record"
        row = AsyncTempFile.objects.filter(key=plan["key"]).first()
        if row is not None:
            assert (row.moved_to_location, row.error) == (record.file.name, "")
        assert_invariants(backend, {record.pk: content}, browser.statuses)


def test_a_refused_key_submitted_twice_at_once(backend: Backend, visitor):
    """An upload that fails verification (not a PDF, in a PDF field), submitted twice at once: both get a
    validation error, nothing is saved, and the refused object is gone."""
    for round_number in range(ROUNDS):
        browser = visitor()
        plan = browser.upload("fake.pdf", b"not a pdf " * 50 + str(round_number).encode())
        other = twin(browser)
        responses = run_together(
            lambda: browser.create(plan["key"], "fake.pdf"), lambda: other.create(plan["key"], "fake.pdf")
        )
        assert [response.status_code for response in responses] == [400, 400], [r.text for r in responses]
        assert_invariants(backend, {}, browser.statuses + other.statuses)
        assert not CloudDocument.objects.exists()
        assert backend.read(plan["key"]) is None


def test_an_upload_planned_before_the_upgrade_submitted_by_two_people_at_once(backend: Backend, visitor):
    """A pending upload converted from 0.0.5 has no owner and is accepted from its first submitter: two different
    browsers submitting it at once get one record and one refusal, and the winner owns the upload afterwards."""
    for round_number in range(ROUNDS):
        planner = visitor()
        content = pdf(backend.name, "before-upgrade", round_number)
        plan = planner.upload("before.pdf", content)
        AsyncTempFile.objects.filter(key=plan["key"]).update(
            uploaded_by=None, session_fingerprint=PLANNED_BEFORE_UPGRADE
        )
        first, second = visitor(), visitor()
        responses = run_together(
            lambda: first.create(plan["key"], "before.pdf"), lambda: second.create(plan["key"], "before.pdf")
        )
        assert sorted(response.status_code for response in responses) == [201, 400], [r.text for r in responses]
        expected = {created(r): content for r in responses if created(r) is not None}
        assert_invariants(backend, expected, planner.statuses + first.statuses + second.statuses)
        row = AsyncTempFile.objects.get(key=plan["key"])
        assert row.session_fingerprint not in ("", PLANNED_BEFORE_UPGRADE), "the winner did not become the owner"
        assert row.object_id in {str(pk) for pk in expected}
        CloudDocument.objects.all().delete()


@pytest.mark.parametrize("backend", ["s3", "gcs"], indirect=True)
def test_an_upload_rewritten_while_it_is_submitted(backend: Backend, visitor):
    """S3's presigned POST and GCS's signed POST policy can be sent again until they expire. Sent again with other
    bytes (a PNG into a PDF-only field) while the form is submitted, the record stores the verified bytes or
    nothing, never the new ones."""
    for round_number in range(ROUNDS):
        browser = visitor()
        content = pdf(backend.name, "pinned", round_number)
        plan = browser.upload("pinned.pdf", content)
        submitted, resent = run_together(
            lambda: browser.create(plan["key"], "pinned.pdf"), lambda: browser.send(plan, png_bytes(colour="blue"))
        )
        assert resent.status_code in (200, 201, 204)
        expected = {created(submitted): content} if created(submitted) is not None else {}
        assert_invariants(backend, expected, browser.statuses)
        for record in CloudDocument.objects.filter(pk__in=expected):
            if not record.file.name:  # let go of because it changed after verification
                assert "rewritten after it was verified" in AsyncTempFile.objects.get(key=plan["key"]).error


@pytest.mark.parametrize("backend", ["s3", "gcs"], indirect=True)
def test_a_scan_hook_sees_the_bytes_that_are_stored(backend: Backend, visitor):
    """A slow ``pre_promote`` receiver (a virus scan) during which the upload is sent again with other bytes:
    what the receiver read is exactly what is stored, or nothing is stored."""
    scanned: dict[str, bytes] = {}
    scan_done = threading.Event()
    resent = threading.Event()

    def scan(sender, temp_file, open_file, **kwargs):
        with open_file() as f:
            scanned[temp_file.key] = f.read()
        scan_done.set()
        assert resent.wait(THREAD_TIMEOUT), "the upload was not sent again"

    signals.pre_promote.connect(scan, weak=False)
    try:
        for round_number in range(ROUNDS):
            scan_done.clear()
            resent.clear()
            browser = visitor()
            content = pdf(backend.name, "scanned", round_number)
            plan = browser.upload("scanned.pdf", content)

            def resend_during_scan():
                assert scan_done.wait(THREAD_TIMEOUT), "the scan never ran"
                response = browser.send(plan, png_bytes(colour="green"))
                resent.set()
                return response

            submitted, again = run_together(lambda: browser.create(plan["key"], "scanned.pdf"), resend_during_scan)
            assert again.status_code in (200, 201, 204)
            assert submitted.status_code == 201, submitted.text
            assert scanned[plan["key"]] == content
            record = CloudDocument.objects.get(pk=created(submitted))
            assert_invariants(backend, {record.pk: content}, browser.statuses)
            # The bytes changed after the scan, before the copy: nothing is stored.
            assert record.file.name == ""
            assert "rewritten after it was verified" in AsyncTempFile.objects.get(key=plan["key"]).error
    finally:
        signals.pre_promote.disconnect(scan)


def _files_under(directory: str) -> list[str]:
    return [os.path.join(root, name) for root, _dirs, files in os.walk(directory) for name in files]


class _SlowBody:
    """A request body that, after its first chunk, lets ``between`` run while the server is mid-upload."""

    def __init__(self, content: bytes, between):
        self.content, self.between, self.offset = content, between, 0

    def __len__(self) -> int:
        return len(self.content)

    def read(self, size: int = -1) -> bytes:
        if self.offset and self.between is not None:
            self.between()
            self.between = None
        size = len(self.content) - self.offset if size < 0 else min(size, 64 * 1024)
        chunk = self.content[self.offset : self.offset + size]
        self.offset += len(chunk)
        return chunk


@pytest.mark.parametrize("backend", ["filesystem"], indirect=True)
def test_cleanup_with_a_tiny_age_during_a_slow_upload(backend: Backend, visitor):
    """``cleanup_async_temp_files --age 0.001`` while the server is receiving an upload that has been arriving for
    a while: the upload completes (cleanup leaves uploads younger than their URL's expiry alone) and saves."""
    for round_number in range(ROUNDS):
        browser = visitor()
        content = pdf(backend.name, "slow", round_number) * 200
        plan = browser.plan("slow.pdf", len(content))
        temporary_area = os.path.join(backend.storage.location, "async-temp-files")

        def age_partial_files_then_clean():
            # The server is receiving (its partial file exists) and waits for the rest of the body.
            deadline = time.monotonic() + THREAD_TIMEOUT
            while not (partial := _files_under(temporary_area)):
                assert time.monotonic() < deadline, "the server never started receiving"
                time.sleep(0.01)
            ten_seconds_ago = timezone.now().timestamp() - 10
            for path in partial:
                os.utime(path, (ten_seconds_ago, ten_seconds_ago))
            cleanup.cleanup_expired(0.001)

        url = browser.base_url + plan["uploadUrl"]["url"]
        put = browser.http.put(url, data=_SlowBody(content, age_partial_files_then_clean), timeout=60)
        assert put.status_code == 201, put.text
        response = browser.create(plan["key"], "slow.pdf")
        assert response.status_code == 201, response.text
        assert_invariants(backend, {created(response): content}, browser.statuses)
