"""Uploads in parts to GCS: plan, parts signed on demand, resume from stored parts, compose on completion (in rounds
above 32 parts), exactly the plan's parts, size limit, abort, cleanup."""

from __future__ import annotations

import hashlib
import json

from django.test import Client
import pytest
import requests

from alliance_platform.storage.async_uploads import cleanup
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.storage import gcs as gcs_module
from tests.gcs.conftest import bucket_names, object_bytes
from tests.gcs.request_log import GcsRequestLog
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
PLAN_URL = "/async-uploads/generate-upload-url/"
CONTENT = b"%PDF-1.4\n" + hashlib.sha256(b"seed").digest() * (12 * MIB // 32)  # 12 MiB: three 5 MiB parts


@pytest.fixture(autouse=True)
def small_parts(settings, monkeypatch):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"GCS_MULTIPART_THRESHOLD": 6 * MIB, "GCS_MULTIPART_PART_SIZE": 5 * MIB}}
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 30)


def objects(gcs_client, bucket: str) -> list[str]:
    """The bucket's objects that are not parts of an upload in progress."""
    return [name for name in bucket_names(gcs_client, bucket) if "/.parts/" not in f"/{name}"]


def parts_left(gcs_client, bucket: str) -> list[str]:
    return [name for name in bucket_names(gcs_client, bucket) if "/.parts/" in f"/{name}"]


def plan(client: Client, size: int = len(CONTENT), filename: str = "big.pdf") -> dict:
    field_id = CloudDocument._meta.get_field("file").async_field_id
    response = client.post(
        PLAN_URL, {"fieldId": field_id, "filename": filename, "size": size, "contentType": "application/pdf"}
    )
    assert response.status_code == 200, response.content
    return response.json()


def call(client: Client, multipart: dict, endpoint: str, **data) -> requests.Response:
    return client.post(multipart[f"{endpoint}Url"], {"token": multipart["token"], **data})


def etag_of(data: bytes) -> str:
    """The ETag GCS answers a part's PUT with: the part's MD5 in hex, quoted (the emulator sends none)."""
    return f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324 - GCS's ETag, not a security digest


def upload_parts(client: Client, multipart: dict, numbers: list[int], content: bytes = CONTENT) -> dict[int, str]:
    signed = call(client, multipart, "sign", partNumbers=",".join(map(str, numbers)))
    assert signed.status_code == 200, signed.content
    etags = {}
    size = multipart["partSize"]
    for part in signed.json()["parts"]:
        number = part["partNumber"]
        data = content[(number - 1) * size : number * size]
        response = requests.put(part["url"], data=data, headers=part["headers"], timeout=60)
        assert response.status_code == 200, response.text
        etags[number] = etag_of(data)
    return etags


def complete(client: Client, multipart: dict, etags: dict[int, str]):
    parts = [{"partNumber": number, "etag": etag} for number, etag in sorted(etags.items())]
    return call(client, multipart, "complete", parts=json.dumps(parts))


def test_large_files_get_a_multipart_plan(client, gcs_storage):
    upload_plan = plan(client)
    upload_url = upload_plan["uploadUrl"]
    assert (upload_url["method"], upload_url["provider"]) == ("MULTIPART", "gcs")
    multipart = upload_url["multipart"]
    assert (multipart["partSize"], multipart["partCount"]) == (5 * MIB, 3)
    assert AsyncTempFile.objects.get(key=upload_plan["key"]).upload_id == multipart["uploadId"]


def test_small_files_keep_the_single_post(client, gcs_storage):
    assert plan(client, size=6 * MIB)["uploadUrl"]["method"] == "POST"


def test_parts_are_signed_puts_of_objects_of_their_own(client, gcs_storage, gcs_bucket):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    signed = call(client, multipart, "sign", partNumbers="1,3").json()["parts"]
    assert [part["partNumber"] for part in signed] == [1, 3]
    relative = upload_plan["key"].removeprefix("async-temp-files/")
    for part in signed:
        assert (
            f"/{gcs_bucket}/async-temp-files/.parts/{relative}/{multipart['uploadId']}/0000{part['partNumber']}?"
            in (part["url"])
        )
        assert "X-Goog-Signature=" in part["url"]


def test_parts_upload_complete_and_promote(client, gcs_storage, gcs_client, gcs_bucket):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    etags = upload_parts(client, multipart, [1, 2, 3])
    log = GcsRequestLog(gcs_storage)
    response = complete(client, multipart, etags)
    assert response.status_code == 200, response.content
    assert response.json() == {"key": upload_plan["key"]}
    assert log.counts()["compose"] == 1
    assert gcs_client.bucket(gcs_bucket).get_blob(upload_plan["key"]).content_type == "application/pdf"
    assert parts_left(gcs_client, gcs_bucket) == [], "the parts are deleted once composed"
    doc = CloudDocument.objects.create(file=upload_plan["key"])
    assert doc.file.name == "cloud/big.pdf"
    assert object_bytes(gcs_client, gcs_bucket, "cloud/big.pdf") == CONTENT
    assert bucket_names(gcs_client, gcs_bucket) == ["cloud/big.pdf"]


def test_more_parts_than_one_compose_takes_are_composed_in_rounds(
    client, gcs_storage, gcs_client, gcs_bucket, settings, monkeypatch
):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"GCS_MULTIPART_THRESHOLD": 1024, "GCS_MULTIPART_PART_SIZE": MIB}}
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 50)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gcs_module, "MIN_PART_SIZE", MIB)
        content = (CONTENT * 4)[: 40 * MIB - 1000]  # 40 parts: two groups (32 and 8), then the object
        upload_plan = plan(client, size=len(content))
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert multipart["partCount"] == 40
    etags = upload_parts(client, multipart, list(range(1, 41)), content)
    log = GcsRequestLog(gcs_storage)
    assert complete(client, multipart, etags).status_code == 200
    assert [len(request.body["sourceObjects"]) for request in log.of("compose")] == [32, 8, 2]
    assert object_bytes(gcs_client, gcs_bucket, upload_plan["key"]) == content
    assert bucket_names(gcs_client, gcs_bucket) == [upload_plan["key"]], "parts and groups are gone"


def test_stored_parts_are_listed_for_resuming(client, gcs_storage):
    multipart = plan(client)["uploadUrl"]["multipart"]
    first = upload_parts(client, multipart, [1, 3])
    listed = call(client, multipart, "list").json()["parts"]
    assert [(p["partNumber"], p["etag"], p["size"]) for p in listed] == [
        (1, first[1], 5 * MIB),
        (3, first[3], len(CONTENT) - 10 * MIB),
    ]
    rest = upload_parts(client, multipart, [2])
    assert complete(client, multipart, {**first, **rest}).status_code == 200
    assert call(client, multipart, "list").status_code == 409, "a completed upload is no longer listed"


def test_real_size_over_max_size_is_refused_before_the_object_exists(
    client, gcs_storage, gcs_client, gcs_bucket, monkeypatch
):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 8)
    upload_plan = plan(client, size=7 * MIB)  # declared within the limit, then more is sent
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert multipart["partCount"] == 2
    etags = upload_parts(client, multipart, [1, 2])
    response = complete(client, multipart, etags)
    assert response.status_code == 413
    assert bucket_names(gcs_client, gcs_bucket) == [], "the parts are discarded with the upload"
    assert not AsyncTempFile.objects.filter(key=upload_plan["key"]).exists()
    assert call(client, multipart, "list").status_code == 409


def test_abort_discards_the_parts(client, gcs_storage, gcs_client, gcs_bucket):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    upload_parts(client, multipart, [1, 2])
    assert len(parts_left(gcs_client, gcs_bucket)) == 2
    assert call(client, multipart, "abort").status_code == 204
    assert bucket_names(gcs_client, gcs_bucket) == []
    assert call(client, multipart, "abort").status_code == 204, "aborting again is no error"


@pytest.mark.parametrize(
    ("endpoint", "data", "status"),
    [
        ("sign", {"partNumbers": "0"}, 400),
        ("sign", {"partNumbers": "4"}, 400),
        ("sign", {"partNumbers": "one"}, 400),
        ("sign", {"partNumbers": ",".join(map(str, range(1, 60)))}, 400),
        ("complete", {"parts": "not json"}, 400),
        ("complete", {"parts": '[{"partNumber": 1, "etag": "\\"never-uploaded\\""}]'}, 400),
    ],
)
def test_malformed_requests_are_refused(client, gcs_storage, endpoint, data, status):
    multipart = plan(client)["uploadUrl"]["multipart"]
    assert call(client, multipart, endpoint, **data).status_code == status


def test_wrong_etags_are_refused_without_completing(client, gcs_storage, gcs_client, gcs_bucket):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    etags = upload_parts(client, multipart, [1, 2, 3])
    response = complete(client, multipart, {**etags, 2: '"00000000000000000000000000000000"'})
    assert response.status_code == 400
    assert objects(gcs_client, gcs_bucket) == []
    assert complete(client, multipart, etags).status_code == 200, "the upload can still be completed correctly"


def test_a_part_sent_again_after_the_listing_is_not_what_is_composed(client, gcs_storage, gcs_client, gcs_bucket):
    """Completion composes each part in the generation it listed and checked: a part rewritten in between makes the
    compose fail on GCS rather than store other bytes. The emulator ignores source generations, so here the check
    is on the compose request the storage sends."""
    multipart = plan(client)["uploadUrl"]["multipart"]
    etags = upload_parts(client, multipart, [1, 2, 3])
    listed = {blob.name.rsplit("/", 1)[-1]: blob.generation for blob in gcs_client.bucket(gcs_bucket).list_blobs()}
    log = GcsRequestLog(gcs_storage)
    assert complete(client, multipart, etags).status_code == 200
    (compose,) = log.of("compose")
    assert [source["generation"] for source in compose.body["sourceObjects"]] == [listed[f"{n:05d}"] for n in (1, 2, 3)]
    assert compose.query["ifGenerationMatch"] == ["0"], "a completion never replaces an existing object"


def test_tampered_or_missing_token_is_refused(client, gcs_storage):
    multipart = plan(client)["uploadUrl"]["multipart"]
    for token in ("", "nonsense", multipart["token"][:-2] + "xx"):
        response = client.post(multipart["signUrl"], {"token": token, "partNumbers": "1"})
        assert response.status_code == 403


def test_token_of_a_promoted_upload_is_refused(client, gcs_storage):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert complete(client, multipart, upload_parts(client, multipart, [1, 2, 3])).status_code == 200
    CloudDocument.objects.create(file=upload_plan["key"])
    assert call(client, multipart, "sign", partNumbers="1").status_code == 409


def test_cleanup_aborts_incomplete_uploads(client, gcs_storage, gcs_client, gcs_bucket):
    upload_plan = plan(client)
    upload_parts(client, upload_plan["uploadUrl"]["multipart"], [1])
    AsyncTempFile.objects.update(created_at="2000-01-01T00:00:00Z")
    cleanup.cleanup_expired(1)
    assert bucket_names(gcs_client, gcs_bucket) == []
    assert not AsyncTempFile.objects.exists()


def test_stale_uploads_are_aborted_and_fresh_ones_kept(client, gcs_storage, gcs_client, gcs_bucket):
    stale = plan(client, filename="stale.pdf")
    upload_parts(client, stale["uploadUrl"]["multipart"], [1])
    AsyncTempFile.objects.filter(key=stale["key"]).update(created_at="2000-01-01T00:00:00Z")
    fresh = plan(client, filename="fresh.pdf")
    fresh_parts = upload_parts(client, fresh["uploadUrl"]["multipart"], [1, 2, 3])

    report = cleanup.abort_stale_multipart_uploads()

    assert report.uploads_aborted == 1
    assert all(stale["uploadUrl"]["multipart"]["uploadId"] not in name for name in parts_left(gcs_client, gcs_bucket))
    assert len(parts_left(gcs_client, gcs_bucket)) == 3
    assert AsyncTempFile.objects.get(key=stale["key"]).upload_id == ""
    assert complete(client, fresh["uploadUrl"]["multipart"], fresh_parts).status_code == 200
