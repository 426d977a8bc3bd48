"""AzureAsyncUploadStorage against Azurite, which enforces SAS signatures, permissions, blob scope and expiry."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from azure.core.exceptions import HttpResponseError
from django.db import transaction
from django.test import Client
import pytest
import requests

from alliance_platform.storage.async_uploads import cleanup
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.storage import azure as azure_module
from tests.azure.conftest import AzureRequestLog, blob_bytes, container_blobs, make_storage, put_upload, use_storage
from tests.cloud_document import PLAN_URL, plan, submit
from tests.conftest import PDF_BYTES, png_bytes
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)


def uploaded(client: Client, filename: str = "contract.pdf", content: bytes = PDF_BYTES, **extra) -> str:
    upload_plan = plan(client, filename, len(content), **extra)
    response = put_upload(upload_plan, content)
    assert response.status_code == 201, response.text
    return upload_plan["key"]


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def sas_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_plan_is_a_create_only_put_scoped_to_the_one_blob(client, azure_storage, container, settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"UPLOAD_URL_EXPIRY": 120}}
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    upload_url = upload_plan["uploadUrl"]
    assert (upload_url["method"], upload_url["provider"], upload_url["fields"]) == ("PUT", "azure", {})
    assert upload_url["headers"] == {"x-ms-blob-type": "BlockBlob", "Content-Type": "application/pdf"}
    assert urlsplit(upload_url["url"]).path.endswith(f"/{container}/{upload_plan['key']}")
    sas = sas_of(upload_url["url"])
    assert (sas["sp"], sas["sr"]) == ("c", "b"), "create only, this blob only"
    from datetime import UTC, datetime

    lifetime = (datetime.fromisoformat(sas["se"].replace("Z", "+00:00")) - datetime.now(UTC)).total_seconds()
    assert 100 < lifetime <= 120


def test_upload_submit_promote_and_download(client, azure_storage, blob_service, container):
    key = uploaded(client, contentType="application/pdf")
    assert container_blobs(blob_service, container) == [key]
    properties = blob_service.get_blob_client(container, key).get_blob_properties()
    assert properties.content_settings.content_type == "application/pdf", "the declared type is the blob's"
    form = submit(client, file={"key": key, "name": "contract.pdf"})
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get()
    assert doc.file.name == "cloud/contract.pdf"
    assert blob_bytes(blob_service, container, "cloud/contract.pdf") == PDF_BYTES
    assert container_blobs(blob_service, container) == ["cloud/contract.pdf"], "the temporary blob is gone"
    redirect = client.get(doc.file.url)
    assert redirect.status_code == 302
    assert sas_of(redirect["Location"])["sp"] == "r"
    download = requests.get(redirect["Location"], timeout=30)
    assert download.status_code == 200
    assert download.content == PDF_BYTES
    assert download.headers["Content-Disposition"] == 'attachment; filename="contract.pdf"'


def test_download_names_non_ascii_files_per_rfc_5987(client, azure_storage):
    doc = CloudDocument.objects.create(file=uploaded(client, "résumé.pdf"))
    download = requests.get(client.get(doc.file.url)["Location"], timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf"


def test_download_params_are_passed_through(client, azure_storage, monkeypatch):
    doc = CloudDocument.objects.create(file=uploaded(client))
    field = CloudDocument._meta.get_field("file")
    monkeypatch.setattr(
        field, "download_params", {"content_type": "application/x-test", "ResponseCacheControl": "no-cache"}
    )
    download = requests.get(client.get(doc.file.url)["Location"], timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/x-test"
    assert download.headers["Cache-Control"] == "no-cache"


def test_download_url_expires(client, azure_storage, settings):
    doc = CloudDocument.objects.create(file=uploaded(client))
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"DOWNLOAD_URL_EXPIRY": -60}}
    assert requests.get(client.get(doc.file.url)["Location"], timeout=30).status_code == 403


def test_upload_url_cannot_replace_or_read_the_blob(client, azure_storage, blob_service, container):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES))
    assert put_upload(upload_plan, PDF_BYTES).status_code == 201
    replaced = put_upload(upload_plan, b"%PDF-1.4 replaced")
    assert replaced.status_code in (403, 409), replaced.text
    assert requests.get(upload_plan["uploadUrl"]["url"], timeout=30).status_code == 403
    assert blob_bytes(blob_service, container, upload_plan["key"]) == PDF_BYTES


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda url: with_query(url, sig="A" * 43 + "="), id="forged signature"),
        pytest.param(lambda url: with_query(url, sp="cw"), id="widened permission"),
        pytest.param(lambda url: with_query(url, se="2099-01-01T00:00:00Z"), id="extended expiry"),
        pytest.param(lambda url: url.replace("contract", "evil"), id="another blob name"),
        pytest.param(
            lambda url: url.replace("async-temp-files/", "cloud/", 1).split("?")[0] + "?" + url.split("?")[1],
            id="final key",
        ),
    ],
)
def test_tampered_upload_urls_are_refused(client, azure_storage, blob_service, container, tamper):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    response = put_upload(upload_plan, PDF_BYTES, url=tamper(upload_plan["uploadUrl"]["url"]))
    assert response.status_code == 403, response.text
    assert container_blobs(blob_service, container) == []


def test_expired_upload_url_is_refused(client, azure_storage, blob_service, container, settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"UPLOAD_URL_EXPIRY": -60}}
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES))
    response = put_upload(upload_plan, PDF_BYTES)
    assert response.status_code == 403, response.text
    assert container_blobs(blob_service, container) == []


def test_declared_size_over_the_limit_is_refused_up_front(client, azure_storage):
    field_id = CloudDocument._meta.get_field("file").async_field_id
    response = client.post(PLAN_URL, {"fieldId": field_id, "filename": "big.pdf", "size": 2 * 1024 * 1024})
    assert response.status_code == 400
    assert "size" in response.json()


def test_oversize_upload_is_refused_at_verification_and_deleted(client, azure_storage, blob_service, container):
    # Azure cannot cap a SAS upload's size: the blob arrives, then verification refuses and deletes it.
    upload_plan = plan(client, "big.pdf", 1000)  # declared within the limit, then more is sent
    assert put_upload(upload_plan, PDF_BYTES + b"0" * (1024 * 1024)).status_code == 201
    key = upload_plan["key"]
    form = submit(client, file={"key": key, "name": "big.pdf"})
    assert form.errors.as_data()["file"][0].code == "too_large"
    assert container_blobs(blob_service, container) == []
    assert not AsyncTempFile.objects.filter(key=key).exists()


def test_wrong_content_is_refused_at_verification_and_deleted(client, azure_storage, blob_service, container):
    key = uploaded(client, "contract.pdf", b"PK\x03\x04" + b"\x00" * 100)
    form = submit(client, file={"key": key, "name": "contract.pdf"})
    assert form.errors.as_data()["file"][0].code == "content_mismatch"
    assert container_blobs(blob_service, container) == []


def test_verification_reads_properties_and_a_range(client, azure_storage, monkeypatch):
    pdf_key = uploaded(client)
    image = png_bytes(53, 19)
    image_plan = plan(client, "photo.png", len(image), field="image", contentType="image/png")
    assert put_upload(image_plan, image).status_code == 201
    log = AzureRequestLog(monkeypatch)
    form = submit(client, file={"key": pdf_key, "name": "a.pdf"}, image={"key": image_plan["key"], "name": "p.png"})
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get()
    assert (doc.width, doc.height) == (53, 19)
    assert log.count("HEAD") >= 2
    assert log.ranged_gets == log.count("GET"), "every read is a ranged read"
    assert log.count("GET") <= 4


def test_promotion_is_a_server_side_copy(client, azure_storage, blob_service, container, monkeypatch):
    key = uploaded(client)
    log = AzureRequestLog(monkeypatch)
    doc = CloudDocument.objects.create(file=key)
    assert doc.file.name == "cloud/contract.pdf"
    assert log.copies == 1
    assert log.count("GET") == 0, "no blob bytes read by the app"
    assert log.count("PUT") == 1, "the copy is the only write"
    assert blob_bytes(blob_service, container, "cloud/contract.pdf") == PDF_BYTES


def test_promotion_awaits_a_pending_copy(client, azure_storage, blob_service, container, monkeypatch):
    key = uploaded(client)
    real_start = azure_storage._start_copy
    states = iter([("pending", "1/2"), ("pending", "1/2")])
    pauses: list[float] = []

    def pending_start(destination, source_url, **options):
        return {**real_start(destination, source_url, **options), "copy_status": "pending"}

    def copy_state(destination):
        state = next(states, None)
        return state or azure_module.AzureAsyncUploadStorage._copy_state(azure_storage, destination)

    monkeypatch.setattr(azure_storage, "_start_copy", pending_start)
    monkeypatch.setattr(azure_storage, "_copy_state", copy_state)
    monkeypatch.setattr(azure_module, "_pause", pauses.append)
    doc = CloudDocument.objects.create(file=key)
    assert len(pauses) == 3, "polled until the copy left 'pending'"
    assert pauses == sorted(pauses), "with a growing pause"
    doc.refresh_from_db()
    assert doc.file.name == "cloud/contract.pdf"
    assert container_blobs(blob_service, container) == ["cloud/contract.pdf"]


@pytest.mark.parametrize("outcome", ["failed", "aborted"])
def test_failed_copy_keeps_the_record_valid_and_records_the_error(
    client, azure_storage, blob_service, container, monkeypatch, outcome
):
    key = uploaded(client)
    real_start = azure_storage._start_copy
    monkeypatch.setattr(
        azure_storage,
        "_start_copy",
        lambda destination, source, **options: {**real_start(destination, source, **options), "copy_status": "pending"},
    )
    monkeypatch.setattr(azure_storage, "_copy_state", lambda destination: (outcome, "500 InternalError"))
    monkeypatch.setattr(azure_module, "_pause", lambda seconds: None)
    doc = CloudDocument.objects.create(file=key)
    doc.refresh_from_db()
    assert doc.file.name == key, "the record keeps its temporary blob"
    assert container_blobs(blob_service, container) == [key], "the failed destination is removed"
    assert blob_bytes(blob_service, container, key) == PDF_BYTES
    error = AsyncTempFile.objects.get(key=key).error
    assert "AzureCopyError" in error and outcome in error


def test_copy_that_does_not_finish_in_time_is_abandoned(
    client, azure_storage, blob_service, container, monkeypatch, settings
):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"AZURE_COPY_TIMEOUT": 0}}
    key = uploaded(client)
    real_start = azure_storage._start_copy
    monkeypatch.setattr(
        azure_storage,
        "_start_copy",
        lambda destination, source, **options: {**real_start(destination, source, **options), "copy_status": "pending"},
    )
    doc = CloudDocument.objects.create(file=key)
    doc.refresh_from_db()
    assert doc.file.name == key
    assert container_blobs(blob_service, container) == [key]
    assert "did not finish within 0 s" in AsyncTempFile.objects.get(key=key).error


def test_existing_blobs_are_not_overwritten_by_default(client, azure_storage, container, blob_service):
    assert azure_storage.overwrite_files is False  # AZURE_OVERWRITE_FILES' default
    first = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"one"))
    second = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"two"))
    assert first.file.name == "cloud/contract.pdf"
    assert second.file.name != first.file.name
    assert blob_bytes(blob_service, container, first.file.name) == PDF_BYTES + b"one"
    assert blob_bytes(blob_service, container, second.file.name) == PDF_BYTES + b"two"


def test_copy_refuses_an_existing_destination(client, azure_storage, blob_service, container):
    key = uploaded(client)
    blob_service.get_blob_client(container, "cloud/taken.pdf").upload_blob(b"mine")
    with pytest.raises(FileExistsError):
        azure_storage.copy_file(key, "cloud/taken.pdf")
    assert blob_bytes(blob_service, container, "cloud/taken.pdf") == b"mine"


def test_rollback_keeps_the_previous_value(client, azure_storage, blob_service, container):
    doc = CloudDocument.objects.create(file=uploaded(client, "first.pdf", PDF_BYTES + b"1"))
    second = uploaded(client, "second.pdf", PDF_BYTES + b"2")
    with pytest.raises(RuntimeError), transaction.atomic():
        doc.file = second
        doc.save()
        raise RuntimeError
    doc.refresh_from_db()
    assert doc.file.name == "cloud/first.pdf"
    assert blob_bytes(blob_service, container, "cloud/first.pdf") == PDF_BYTES + b"1"
    assert second in container_blobs(blob_service, container)


def test_storage_error_keeps_the_record_on_its_temporary_blob(
    client, azure_storage, blob_service, container, monkeypatch
):
    key = uploaded(client)

    def failing_copy(destination, source_url, **options):
        raise HttpResponseError(message="InternalError: boom")

    monkeypatch.setattr(azure_storage, "_start_copy", failing_copy)
    doc = CloudDocument.objects.create(file=key)
    doc.refresh_from_db()
    assert doc.file.name == key
    assert blob_bytes(blob_service, container, key) == PDF_BYTES
    assert "boom" in AsyncTempFile.objects.get(key=key).error


def test_resubmitted_create_form_is_refused(client, azure_storage, blob_service, container):
    key = uploaded(client)
    assert submit(client, file={"key": key, "name": "contract.pdf"}).is_valid()
    again = submit(client, file={"key": key, "name": "contract.pdf"})
    assert again.errors.as_data()["file"][0].code == "already_used"
    assert CloudDocument.objects.count() == 1
    assert container_blobs(blob_service, container) == ["cloud/contract.pdf"]


def test_location_prefix_is_honoured_everywhere(client, azurite, container, blob_service, monkeypatch):
    storage = make_storage(azurite, container, location="tenant-a")
    use_storage(monkeypatch, storage)
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES))
    assert urlsplit(upload_plan["uploadUrl"]["url"]).path.endswith(f"/{container}/tenant-a/{upload_plan['key']}")
    assert put_upload(upload_plan, PDF_BYTES).status_code == 201
    promoted = CloudDocument.objects.create(file=upload_plan["key"])
    abandoned = uploaded(client, "abandoned.pdf")
    assert container_blobs(blob_service, container) == sorted(["tenant-a/cloud/contract.pdf", f"tenant-a/{abandoned}"])
    assert promoted.file.name == "cloud/contract.pdf"
    download = requests.get(client.get(promoted.file.url)["Location"], timeout=30)
    assert download.content == PDF_BYTES
    AsyncTempFile.objects.update(created_at="2000-01-01T00:00:00Z")
    cleanup.cleanup_expired(1)
    assert container_blobs(blob_service, container) == ["tenant-a/cloud/contract.pdf"]


def test_cleanup_deletes_in_batches(client, azure_storage, blob_service, container, monkeypatch):
    keys = [uploaded(client, f"file-{i}.pdf") for i in range(7)]
    AsyncTempFile.objects.update(created_at="2000-01-01T00:00:00Z")
    monkeypatch.setattr(azure_storage, "delete_batch_size", 3)
    log = AzureRequestLog(monkeypatch)
    report = cleanup.cleanup_expired(1)
    assert report.deleted_rows == 7
    assert log.count("POST", "batch") == 3
    assert log.count("DELETE") == 0
    assert container_blobs(blob_service, container) == []
    assert not AsyncTempFile.objects.filter(key__in=keys).exists()


def test_batch_delete_reports_real_failures_but_not_missing_blobs(azure_storage, blob_service, container, monkeypatch):
    blob_service.get_blob_client(container, "a.pdf").upload_blob(b"a")
    assert azure_storage.delete_many(["a.pdf", "missing.pdf"]) == {}
    assert container_blobs(blob_service, container) == []


def test_blob_properties_from_the_settings_are_applied_on_upload(client, azurite, container, blob_service, monkeypatch):
    storage = make_storage(
        azurite, container, cache_control="private, max-age=0", object_parameters={"content_language": "en"}
    )
    use_storage(monkeypatch, storage)
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    assert upload_plan["uploadUrl"]["headers"] == {
        "x-ms-blob-type": "BlockBlob",
        "Content-Type": "application/pdf",
        "x-ms-blob-cache-control": "private, max-age=0",
        "x-ms-blob-content-language": "en",
    }
    assert put_upload(upload_plan, PDF_BYTES).status_code == 201
    doc = CloudDocument.objects.create(file=upload_plan["key"])
    settings = blob_service.get_blob_client(container, doc.file.name).get_blob_properties().content_settings
    assert (settings.content_type, settings.cache_control, settings.content_language) == (
        "application/pdf",
        "private, max-age=0",
        "en",
    ), "set on upload and kept by the promotion copy"


def test_a_field_that_allows_overwriting_replaces_the_blob(client, azure_storage, blob_service, container, monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "allow_overwrite", True)
    first = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"one"))
    second = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"two"))
    assert first.file.name == second.file.name == "cloud/contract.pdf"
    assert blob_bytes(blob_service, container, "cloud/contract.pdf") == PDF_BYTES + b"two"
    assert container_blobs(blob_service, container) == ["cloud/contract.pdf"]


def test_azure_overwrite_files_setting_makes_promotion_replace(client, azurite, container, blob_service, monkeypatch):
    use_storage(monkeypatch, make_storage(azurite, container, overwrite_files=True))
    first = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"one"))
    second = CloudDocument.objects.create(file=uploaded(client, content=PDF_BYTES + b"two"))
    assert first.file.name == second.file.name == "cloud/contract.pdf"
    assert blob_bytes(blob_service, container, "cloud/contract.pdf") == PDF_BYTES + b"two"
