"""Scanning on real task workers with the real clamd: the worker streams the upload from SeaweedFS or Azurite to
clamd, quarantines the EICAR file (never promoted, never served) and, while clamd is down, keeps the upload
waiting on its temporary key and retries until clamd is back, then promotes it once."""

from __future__ import annotations

import io

from django.test import override_settings
import pytest

from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile, ScanStatus
from tests.conftest import PDF_BYTES
from tests.scanning.conftest import DOWN, EICAR, EICAR_THREAT, scanning_settings
from tests.stores import put_upload
from tests.tasks.conftest import LIBRARY_SETTINGS, submit, wait_for
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)

QUARANTINE = "quarantine"


def download(client, record_pk: int):
    field_id = CloudDocument._meta.get_field("file").async_field_id
    return client.get("/async-uploads/download-file/", {"fieldId": field_id, "instanceId": record_pk})


def row(key: str) -> AsyncTempFile:
    return AsyncTempFile.objects.get(key=key)


def test_a_worker_quarantines_an_infected_upload(store, task_mode, workers, alice, client, clamd):
    library = scanning_settings(clamd["unix"], QUARANTINE_PREFIX=QUARANTINE)
    upload = put_upload(store, alice, io.BytesIO(EICAR), "eicar.pdf")
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": {**LIBRARY_SETTINGS, **library}}):
        record_pk = submit(client, upload, "eicar.pdf").json()["id"]
        # Saved, not scanned yet (no worker runs): the record holds the upload, which is not served.
        assert CloudDocument.objects.get(pk=record_pk).file.name == upload.key
        assert download(client, record_pk).status_code == 409
        worker = workers(library=library)
        wait_for(lambda: row(upload.key).scan_status == ScanStatus.INFECTED, "the worker's scan", workers=[worker])
        infected = row(upload.key)
        assert (infected.threat, infected.moved_to_location) == (EICAR_THREAT, "")
        assert infected.error == f"Infected ({EICAR_THREAT}): it was not promoted."
        wait_for(lambda: not store.exists(upload.key), "the quarantine", workers=[worker])
        assert CloudDocument.objects.get(pk=record_pk).file.name == ""
        assert store.storage.open(f"{QUARANTINE}/{upload.key}").read() == EICAR
        assert store.keys_under("cloud/") == []


@pytest.mark.parametrize("task_mode", ["db", "rq"], indirect=True)
def test_with_clamd_down_a_worker_retries_until_it_is_back(store, task_mode, workers, alice, client, clamd):
    upload = put_upload(store, alice, io.BytesIO(PDF_BYTES), "report.pdf")
    down = scanning_settings(DOWN)
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": {**LIBRARY_SETTINGS, **down}}):
        record_pk = submit(client, upload, "report.pdf").json()["id"]
        first = workers(library=down)
        wait_for(lambda: row(upload.key).attempts >= 2, "two failed scans", workers=[first])
        waiting = row(upload.key)
        assert "could not scan" in waiting.error and waiting.scan_status == ""
        # Not promoted unscanned, and not served meanwhile.
        assert CloudDocument.objects.get(pk=record_pk).file.name == upload.key
        assert store.sha256(upload.key) == upload.sha256
        assert download(client, record_pk).status_code == 409
        first.stop()

        # clamd is back (a worker that reaches it): the retry already queued promotes the upload.
        second = workers(library=scanning_settings(clamd["tcp"]))
        wait_for(lambda: row(upload.key).moved_to_location, "the retry to promote", workers=[second])
    record = CloudDocument.objects.get(pk=record_pk)
    assert record.file.name == "cloud/report.pdf"
    assert store.sha256(record.file.name) == upload.sha256 and not store.exists(upload.key)
    promoted = row(upload.key)
    assert (promoted.scan_status, promoted.error) == (ScanStatus.CLEAN, "")
