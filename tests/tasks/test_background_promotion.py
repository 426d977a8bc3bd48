"""Promotion on real task workers: the request returns while the upload is still temporary, a worker promotes it,
a worker killed in the middle loses nothing and the upload is promoted once, and a task delivered twice promotes
once."""

from __future__ import annotations

from django.test import override_settings
import pytest

from alliance_platform.storage.async_uploads import promotion_jobs
from alliance_platform.storage.async_uploads.background import enqueue
from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile
from tests.tasks.conftest import put_large_upload, submit, wait_for
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)

LARGE = 96 * 1024 * 1024  # above the multipart thresholds: a real server-side copy of many parts
FINAL_PREFIX = "cloud/"


def promoted_key(record_pk: int) -> str | None:
    name = CloudDocument.objects.get(pk=record_pk).file.name
    return name if name.startswith(FINAL_PREFIX) else None


def assert_promoted_once(store, upload, record_pk: int) -> None:
    """The record holds one final object with the upload's exact bytes; the temporary object is gone; no second
    copy was left under the final prefix; the upload's row records the promotion without an error."""
    record = CloudDocument.objects.get(pk=record_pk)
    assert record.file.name.startswith(FINAL_PREFIX), record.file.name
    assert store.sha256(record.file.name) == upload.sha256
    assert store.keys_under(FINAL_PREFIX) == [record.file.name]
    assert store.storage.stat_object(upload.key) is None
    row = AsyncTempFile.objects.get(key=upload.key)
    assert (row.moved_to_location, row.error, row.promoting_to) == (record.file.name, "", record.file.name)


@pytest.mark.parametrize("task_mode", ["db", "rq"], indirect=True)
def test_the_request_returns_before_promotion_and_a_worker_promotes(store, task_mode, workers, alice, client, tmp_path):
    upload = put_large_upload(store, alice, tmp_path, LARGE)
    response = submit(client, upload)
    assert response.status_code == 201, response.content
    record_pk = response.json()["id"]
    # No worker runs yet, so nothing but the request could have promoted it: it did not, and the record points
    # at its temporary object, which exists.
    assert CloudDocument.objects.get(pk=record_pk).file.name == upload.key
    assert store.storage.stat_object(upload.key) is not None
    worker = workers()
    wait_for(lambda: promoted_key(record_pk), "the worker to promote the upload", workers=[worker])
    assert_promoted_once(store, upload, record_pk)


@pytest.mark.parametrize("pause", ["before_copy", "after_copy"])
def test_a_worker_killed_mid_promotion_loses_nothing_and_the_upload_is_promoted_once(
    store, task_mode, workers, alice, client, tmp_path, pause
):
    upload = put_large_upload(store, alice, tmp_path, LARGE)
    # A short claim lease, so that the killed worker's claim expires within the test.
    doomed = workers(pause=pause, library={"CLAIM_TIMEOUT": 3})
    record_pk = submit(client, upload).json()["id"]
    wait_for(doomed.pause_marker.exists, f"the worker to reach {pause}", workers=[doomed])
    doomed.kill()

    # Nothing lost: the record still points at its temporary object, which exists and which cleanup keeps.
    assert CloudDocument.objects.get(pk=record_pk).file.name == upload.key
    assert store.sha256(upload.key) == upload.sha256
    from alliance_platform.storage.async_uploads.cleanup import cleanup_expired

    cleanup_expired(0)
    assert store.storage.stat_object(upload.key) is not None

    # A worker started again, and the periodic resume: once the dead worker's claim has expired, the upload is
    # enqueued again and promoted, at the name the first attempt reserved (no second copy).
    revived = workers()
    wait_for(lambda: promotion_jobs.resume_promotions(0) > 0, "the dead worker's claim to expire", workers=[revived])
    wait_for(lambda: promoted_key(record_pk), "the restarted worker to promote", workers=[revived])
    assert_promoted_once(store, upload, record_pk)


@pytest.mark.parametrize("task_mode", ["db", "rq"], indirect=True)
def test_a_task_delivered_twice_promotes_once(store, task_mode, workers, alice, client, tmp_path):
    upload = put_large_upload(store, alice, tmp_path, LARGE)
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}):
        record_pk = submit(client, upload).json()["id"]  # the save's own task goes nowhere: we deliver it below
    field_id = CloudDocument._meta.get_field("file").async_field_id
    deliveries = [enqueue("promote_upload", field_id, str(record_pk), upload.key, "default") for _ in range(2)]
    running = [workers(), workers()]  # two workers, so that the two deliveries run at the same time

    def finished() -> bool:
        for result in deliveries:
            result.refresh()
        return all(result.is_finished for result in deliveries)

    wait_for(finished, "both deliveries to finish", workers=running)
    assert sorted(result.return_value for result in deliveries) == ["already promoted", "promoted"]
    assert_promoted_once(store, upload, record_pk)
