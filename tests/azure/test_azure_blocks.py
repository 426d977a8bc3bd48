"""Block-list uploads to Azure through the multipart endpoints: plan, blocks signed on demand, resume from the
uncommitted blocks, size limit, abort, cleanup."""

from __future__ import annotations

import base64
import hashlib
import json

from django.test import Client
import pytest
import requests

from alliance_platform.storage.async_uploads import cleanup
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from tests.azure.conftest import blob_bytes, container_blobs, put_upload, uncommitted_blocks
from tests.conftest import PDF_BYTES, cleanup_after_upload_window
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
PLAN_URL = "/async-uploads/generate-upload-url/"
# 3.5 MiB: three blocks of 1 MiB and one of half a MiB.
CONTENT = b"%PDF-1.4\n" + hashlib.sha256(b"seed").digest() * (7 * MIB // 64)
CONTENT = CONTENT[: 7 * MIB // 2]


@pytest.fixture(autouse=True)
def small_blocks(settings, monkeypatch):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"AZURE_BLOCK_THRESHOLD": 2 * MIB, "AZURE_BLOCK_SIZE": MIB}}
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 30)


def plan(client: Client, size: int = len(CONTENT), filename: str = "big.pdf") -> dict:
    field_id = CloudDocument._meta.get_field("file").async_field_id
    response = client.post(
        PLAN_URL, {"fieldId": field_id, "filename": filename, "size": size, "contentType": "application/pdf"}
    )
    assert response.status_code == 200, response.content
    return response.json()


def uploaded(client: Client) -> str:
    """A small file uploaded in one Put Blob; returns its temporary key."""
    field_id = CloudDocument._meta.get_field("file").async_field_id
    response = client.post(PLAN_URL, {"fieldId": field_id, "filename": "contract.pdf", "size": len(PDF_BYTES)})
    assert response.status_code == 200, response.content
    assert put_upload(response.json(), PDF_BYTES).status_code == 201
    return response.json()["key"]


def call(client: Client, multipart: dict, endpoint: str, **data):
    return client.post(multipart[f"{endpoint}Url"], {"token": multipart["token"], **data})


def signed_parts(client: Client, multipart: dict, numbers: list[int]) -> list[dict]:
    signed = call(client, multipart, "sign", partNumbers=",".join(map(str, numbers)))
    assert signed.status_code == 200, signed.content
    return signed.json()["parts"]


def upload_blocks(
    client: Client, multipart: dict, numbers: list[int], content: bytes = CONTENT, size: int | None = None
) -> dict[int, str]:
    """PUT the given blocks (of ``size`` bytes, the plan's part size by default) to their signed URLs; returns
    part number -> the id the client reports."""
    ids = {}
    size = size or multipart["partSize"]
    for part in signed_parts(client, multipart, numbers):
        number = part["partNumber"]
        response = requests.put(part["url"], data=content[(number - 1) * size : number * size], timeout=60)
        assert response.status_code == 201, response.text
        ids[number] = part["etag"]
    return ids


def complete(client: Client, multipart: dict, ids: dict[int, str]):
    parts = [{"partNumber": number, "etag": etag} for number, etag in sorted(ids.items())]
    return call(client, multipart, "complete", parts=json.dumps(parts))


def test_large_files_get_a_block_plan(client, azure_storage):
    upload_plan = plan(client)
    upload_url = upload_plan["uploadUrl"]
    assert (upload_url["method"], upload_url["provider"]) == ("MULTIPART", "azure")
    multipart = upload_url["multipart"]
    assert (multipart["partSize"], multipart["partCount"]) == (MIB, 4)
    assert AsyncTempFile.objects.get(key=upload_plan["key"]).upload_id == multipart["uploadId"]


def test_small_files_keep_the_single_put(client, azure_storage):
    assert plan(client, size=2 * MIB)["uploadUrl"]["method"] == "PUT"


def test_block_size_grows_so_any_file_fits_in_50000_blocks(client, azure_storage, monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", None)
    multipart = plan(client, size=100_000 * MIB)["uploadUrl"]["multipart"]
    assert multipart["partSize"] == 2 * MIB
    assert multipart["partCount"] == 50_000


def test_block_urls_are_write_only_and_name_their_block(client, azure_storage, container):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    parts = signed_parts(client, multipart, [1, 2])
    ids = {part["etag"] for part in parts}
    assert len(ids) == 2 and len({len(base64.b64decode(block)) for block in ids}) == 1, "ids of one length"
    for part in parts:
        assert f"/{container}/{upload_plan['key']}?" in part["url"]
        assert "sp=w&" in part["url"] and "&comp=block&blockid=" in part["url"]
    assert requests.get(parts[0]["url"].split("&comp=")[0], timeout=30).status_code == 403, "cannot read"


def test_blocks_upload_complete_and_promote(client, azure_storage, blob_service, container):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    ids = upload_blocks(client, multipart, [1, 2, 3, 4])
    assert container_blobs(blob_service, container) == [], "nothing is a blob before the block list is committed"
    response = complete(client, multipart, ids)
    assert response.status_code == 200, response.content
    assert response.json() == {"key": upload_plan["key"]}
    properties = blob_service.get_blob_client(container, upload_plan["key"]).get_blob_properties()
    assert properties.content_settings.content_type == "application/pdf"
    doc = CloudDocument.objects.create(file=upload_plan["key"])
    assert doc.file.name == "cloud/big.pdf"
    assert blob_bytes(blob_service, container, "cloud/big.pdf") == CONTENT
    assert container_blobs(blob_service, container) == ["cloud/big.pdf"]


def test_uncommitted_blocks_are_listed_for_resuming(client, azure_storage):
    multipart = plan(client)["uploadUrl"]["multipart"]
    first = upload_blocks(client, multipart, [1, 4])
    listed = call(client, multipart, "list").json()["parts"]
    assert [(p["partNumber"], p["etag"], p["size"]) for p in listed] == [(1, first[1], MIB), (4, first[4], MIB // 2)]
    rest = upload_blocks(client, multipart, [2, 3])
    assert complete(client, multipart, {**first, **rest}).status_code == 200
    assert call(client, multipart, "list").status_code == 409, "a committed upload cannot be resumed"


def test_real_size_over_max_size_is_refused_before_the_blob_exists(
    client, azure_storage, blob_service, container, monkeypatch
):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 3)
    upload_plan = plan(client, size=5 * MIB // 2)  # declared within the limit, then more is sent
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert multipart["partCount"] == 3
    ids = upload_blocks(client, multipart, [1, 2, 3], content=CONTENT + CONTENT, size=2 * MIB)
    response = complete(client, multipart, ids)
    assert response.status_code == 413
    assert container_blobs(blob_service, container) == []
    assert uncommitted_blocks(blob_service, container, upload_plan["key"]) == []
    assert not AsyncTempFile.objects.filter(key=upload_plan["key"]).exists()


def test_abort_discards_the_uncommitted_blocks(client, azure_storage, blob_service, container):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    upload_blocks(client, multipart, [1, 2])
    assert len(uncommitted_blocks(blob_service, container, upload_plan["key"])) == 2
    assert call(client, multipart, "abort").status_code == 204
    assert uncommitted_blocks(blob_service, container, upload_plan["key"]) == []
    assert container_blobs(blob_service, container) == []


def test_abort_leaves_a_committed_upload_alone(client, azure_storage, blob_service, container):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert complete(client, multipart, upload_blocks(client, multipart, [1, 2, 3, 4])).status_code == 200
    azure_storage.abort_multipart_upload(upload_plan["key"], multipart["uploadId"])
    assert blob_bytes(blob_service, container, upload_plan["key"]) == CONTENT


def test_ids_of_other_blocks_are_refused_without_completing(client, azure_storage, blob_service, container):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    ids = upload_blocks(client, multipart, [1, 2, 3, 4])
    response = complete(client, multipart, {**ids, 2: ids[3]})
    assert response.status_code == 400
    assert container_blobs(blob_service, container) == []
    assert complete(client, multipart, ids).status_code == 200, "the upload can still be completed correctly"


def test_missing_blocks_are_refused(client, azure_storage, blob_service, container):
    multipart = plan(client)["uploadUrl"]["multipart"]
    ids = upload_blocks(client, multipart, [1, 2, 3])
    forged = {**ids, 4: signed_parts(client, multipart, [4])[0]["etag"]}
    assert complete(client, multipart, forged).status_code == 400
    assert container_blobs(blob_service, container) == []


def test_block_url_for_another_blob_or_tampered_is_refused(client, azure_storage, blob_service, container):
    upload_plan = plan(client)
    part = signed_parts(client, plan(client)["uploadUrl"]["multipart"], [1])[0]
    other_key = upload_plan["key"]
    base, query = part["url"].split("?", 1)
    moved = base.rsplit("/async-temp-files/", 1)[0] + "/" + other_key + "?" + query
    assert requests.put(moved, data=b"x" * 10, timeout=30).status_code == 403
    forged = part["url"].replace("sig=", "sig=AA", 1)
    assert requests.put(forged, data=b"x" * 10, timeout=30).status_code == 403
    assert uncommitted_blocks(blob_service, container, other_key) == []


def test_expired_block_url_is_refused(client, azure_storage, settings, blob_service, container):
    multipart_plan = plan(client)
    settings.ALLIANCE_PLATFORM = {"STORAGE": {**settings.ALLIANCE_PLATFORM["STORAGE"], "UPLOAD_URL_EXPIRY": -60}}
    part = signed_parts(client, multipart_plan["uploadUrl"]["multipart"], [1])[0]
    assert requests.put(part["url"], data=b"x" * 10, timeout=30).status_code == 403
    assert uncommitted_blocks(blob_service, container, multipart_plan["key"]) == []


def test_token_of_a_promoted_upload_is_refused(client, azure_storage):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert complete(client, multipart, upload_blocks(client, multipart, [1, 2, 3, 4])).status_code == 200
    CloudDocument.objects.create(file=upload_plan["key"])
    assert call(client, multipart, "sign", partNumbers="1").status_code == 409


def test_cleanup_discards_the_blocks_of_abandoned_uploads(client, azure_storage, blob_service, container):
    upload_plan = plan(client)
    upload_blocks(client, upload_plan["uploadUrl"]["multipart"], [1, 3])
    finished = plan(client, filename="finished.pdf")
    multipart = finished["uploadUrl"]["multipart"]
    assert complete(client, multipart, upload_blocks(client, multipart, [1, 2, 3, 4])).status_code == 200
    AsyncTempFile.objects.update(created_at="2000-01-01T00:00:00Z")
    report = cleanup.cleanup_expired(1)
    assert report.deleted_rows == 2
    assert uncommitted_blocks(blob_service, container, upload_plan["key"]) == []
    assert container_blobs(blob_service, container) == []
    assert not AsyncTempFile.objects.exists()


def test_cleanup_sweeps_orphaned_blobs_and_block_uploads(client, azure_storage, blob_service, container):
    """Blobs and block uploads in the temporary area that no row names (a row lost with a restored database, a
    plan whose row was never written) are found by listing and removed too."""
    orphan = "async-temp-files/2000/01/01/0123456789abcdef0123-orphan.pdf"
    blob_service.get_blob_client(container, orphan).upload_blob(PDF_BYTES)
    abandoned = "async-temp-files/2000/01/01/fedcba9876543210fedc-abandoned.pdf"
    blob_service.get_blob_client(container, abandoned).stage_block("0123456789abcdef-00001", b"x" * 100)
    kept = CloudDocument.objects.create(file=uploaded(client))
    assert kept.file.name == "cloud/contract.pdf"

    report = cleanup_after_upload_window(-1)  # everything counts as old
    assert report.orphans_deleted == 1
    assert report.uploads_aborted == 1
    assert container_blobs(blob_service, container) == ["cloud/contract.pdf"]
    assert uncommitted_blocks(blob_service, container, abandoned) == []


def test_files_too_large_for_one_put_blob_always_go_in_blocks(client, azure_storage, settings, monkeypatch):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"AZURE_BLOCK_THRESHOLD": 10**13}}
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", None)
    assert plan(client, size=5000 * MIB)["uploadUrl"]["method"] == "PUT"
    assert plan(client, size=5000 * MIB + 1)["uploadUrl"]["method"] == "MULTIPART"


def test_stale_block_uploads_are_discarded_and_fresh_ones_kept(client, azure_storage, blob_service, container):
    """``abort_stale_multipart_uploads``: the uncommitted blocks of an upload past its window are discarded and
    its row keeps no upload id; an upload within its window keeps its blocks and can still be completed."""
    stale = plan(client, filename="stale.pdf")
    upload_blocks(client, stale["uploadUrl"]["multipart"], [1, 2])
    AsyncTempFile.objects.filter(key=stale["key"]).update(created_at="2000-01-01T00:00:00Z")
    fresh = plan(client, filename="fresh.pdf")
    fresh_blocks = upload_blocks(client, fresh["uploadUrl"]["multipart"], [1, 2, 3, 4])

    report = cleanup.abort_stale_multipart_uploads()

    assert report.uploads_aborted == 1
    assert uncommitted_blocks(blob_service, container, stale["key"]) == []
    assert len(uncommitted_blocks(blob_service, container, fresh["key"])) == 4
    assert AsyncTempFile.objects.get(key=stale["key"]).upload_id == ""
    assert complete(client, fresh["uploadUrl"]["multipart"], fresh_blocks).status_code == 200
