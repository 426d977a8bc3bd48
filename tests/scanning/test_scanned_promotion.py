"""Uploads scanned by the real clamd before promotion in the request, on the filesystem, S3 (SeaweedFS) and Azure
(Azurite) backends: a clean file is promoted; the EICAR file is never promoted nor served, its record lets go of
it, it is deleted or quarantined as configured, its temp row says why and ``upload_infected`` is sent; with clamd
down the upload waits on its temporary key, unserved, with the failure on its row, until a later run scans it."""

from __future__ import annotations

import io

from django.test import override_settings
import pytest

from alliance_platform.storage.async_uploads import promotion_jobs, signals
from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile, ScanStatus
from tests.azure.conftest import azurite, blob_service, container  # noqa: F401 - fixtures
from tests.conftest import PDF_BYTES
from tests.gcs.conftest import gcs_bucket, gcs_client, gcs_server  # noqa: F401 - fixtures
from tests.s3.conftest import bucket, s3_client, s3_server  # noqa: F401 - fixtures
from tests.scanning.conftest import DOWN, EICAR, EICAR_THREAT, scanning_settings
from tests.stores import KINDS, build_store, put_upload
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)

API = "/test-api/cloud-documents/"
FINAL_PREFIX = "cloud/"
QUARANTINE = "quarantine"


@pytest.fixture(params=KINDS)
def store(request, monkeypatch, tmp_path):
    return build_store(request.param, request, monkeypatch, tmp_path)


@pytest.fixture
def infected_signals():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    signals.upload_infected.connect(receiver)
    yield received
    signals.upload_infected.disconnect(receiver)


def submit(client, store, user, content: bytes, filename: str) -> tuple[int, str]:
    """Save a record holding a fresh upload of ``content``, through the API; its primary key and the upload's
    temporary key."""
    upload = put_upload(store, user, io.BytesIO(content), filename)
    response = client.post(
        API, {"title": "t", "file": {"key": upload.key, "name": filename}}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"], upload.key


def download(client, record_pk: int):
    return client.get(
        "/async-uploads/download-file/",
        {"fieldId": CloudDocument._meta.get_field("file").async_field_id, "instanceId": record_pk},
    )


def test_a_clean_upload_is_scanned_and_promoted(store, alice, client, clamd):
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": scanning_settings(clamd["unix"])}):
        record_pk, temp_key = submit(client, store, alice, PDF_BYTES, "report.pdf")
        record = CloudDocument.objects.get(pk=record_pk)
        assert record.file.name == "cloud/report.pdf"
        assert store.sha256(record.file.name) is not None and not store.exists(temp_key)
        row = AsyncTempFile.objects.get(key=temp_key)
        assert (row.scan_status, row.threat, row.error) == (ScanStatus.CLEAN, "", "")
        assert download(client, record_pk).status_code == 302


@pytest.mark.parametrize("quarantine", [None, QUARANTINE], ids=["deleted", "quarantined"])
def test_an_infected_upload_is_never_promoted_nor_served(store, alice, client, clamd, infected_signals, quarantine):
    library = scanning_settings(clamd["unix"], QUARANTINE_PREFIX=quarantine)
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": library}):
        record_pk, temp_key = submit(client, store, alice, EICAR, "eicar.pdf")
        record = CloudDocument.objects.get(pk=record_pk)
        # The record lets go of the upload: it never points at a removed (or quarantined) object.
        assert record.file.name == ""
        assert download(client, record_pk).status_code == 404
        assert not store.exists(temp_key)
        assert store.keys_under(FINAL_PREFIX) == []
        quarantined_key = f"{QUARANTINE}/{temp_key}" if quarantine else ""
        if quarantine:
            assert store.storage.open(quarantined_key).read() == EICAR
        row = AsyncTempFile.objects.get(key=temp_key)
        assert (row.scan_status, row.threat, row.moved_to_location) == (ScanStatus.INFECTED, EICAR_THREAT, "")
        assert row.error == f"Infected ({EICAR_THREAT}): it was not promoted."
        assert [(sent["instance"].pk, sent["threat"], sent["quarantined_key"]) for sent in infected_signals] == [
            (record_pk, EICAR_THREAT, quarantined_key)
        ]
        # Nothing tries it again.
        assert promotion_jobs.resume_promotions(older_than_seconds=0) == 0


def test_with_clamd_down_an_upload_waits_unserved_until_it_is_scanned(store, alice, client, clamd):
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": scanning_settings(DOWN)}):
        record_pk, temp_key = submit(client, store, alice, PDF_BYTES, "report.pdf")
        # Not promoted unscanned: the record holds its temporary object, which exists and is not served.
        assert CloudDocument.objects.get(pk=record_pk).file.name == temp_key
        assert store.exists(temp_key)
        refused = download(client, record_pk)
        assert refused.status_code == 409
        assert refused.json()["detail"] == "This file is being checked for viruses. Please try again in a moment."
        row = AsyncTempFile.objects.get(key=temp_key)
        assert row.scan_status == "" and row.moved_to_location == ""
        assert row.error.startswith("ScannerUnavailable: clamd at unix:///nonexistent/clamd.sock could not scan")
        assert row.attempts == 1
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": scanning_settings(clamd["tcp"])}):
        assert promotion_jobs.resume_promotions(older_than_seconds=0) == 1
        record = CloudDocument.objects.get(pk=record_pk)
        assert record.file.name == "cloud/report.pdf"
        assert not store.exists(temp_key)
        row = AsyncTempFile.objects.get(key=temp_key)
        assert (row.scan_status, row.error, row.moved_to_location) == (ScanStatus.CLEAN, "", record.file.name)
        assert download(client, record_pk).status_code == 302


def test_the_refusal_message_is_configurable(store, alice, client):
    library = scanning_settings(DOWN, UNSCANNED_DOWNLOAD_MESSAGE="Wird geprüft.")
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": library}):
        record_pk, _ = submit(client, store, alice, PDF_BYTES, "report.pdf")
        refused = download(client, record_pk)
        assert (refused.status_code, refused.json()["detail"]) == (409, "Wird geprüft.")
