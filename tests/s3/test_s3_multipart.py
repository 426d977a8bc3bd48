"""Multipart uploads to S3: plan, parts signed on demand, resume from stored parts, size limit, abort, cleanup."""

from __future__ import annotations

import hashlib
import json

from django.test import Client
import pytest
import requests

from alliance_platform.storage.async_uploads import cleanup
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from tests.s3.conftest import bucket_keys, object_bytes
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
PLAN_URL = "/async-uploads/generate-upload-url/"
CONTENT = b"%PDF-1.4\n" + hashlib.sha256(b"seed").digest() * (12 * MIB // 32)  # 12 MiB: three 5 MiB parts


@pytest.fixture(autouse=True)
def small_parts(settings, monkeypatch):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"S3_MULTIPART_THRESHOLD": 6 * MIB, "S3_MULTIPART_PART_SIZE": 5 * MIB}}
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 30)


def plan(client: Client, size: int = len(CONTENT), filename: str = "big.pdf") -> dict:
    field_id = CloudDocument._meta.get_field("file").async_field_id
    response = client.post(
        PLAN_URL, {"fieldId": field_id, "filename": filename, "size": size, "contentType": "application/pdf"}
    )
    assert response.status_code == 200, response.content
    return response.json()


def call(client: Client, multipart: dict, endpoint: str, **data) -> requests.Response:
    return client.post(multipart[f"{endpoint}Url"], {"token": multipart["token"], **data})


def upload_parts(client: Client, multipart: dict, numbers: list[int], content: bytes = CONTENT) -> dict[int, str]:
    signed = call(client, multipart, "sign", partNumbers=",".join(map(str, numbers)))
    assert signed.status_code == 200, signed.content
    etags = {}
    size = multipart["partSize"]
    for part in signed.json()["parts"]:
        number = part["partNumber"]
        response = requests.put(part["url"], data=content[(number - 1) * size : number * size], timeout=60)
        assert response.status_code == 200, response.text
        etags[number] = response.headers["ETag"]
    return etags


def complete(client: Client, multipart: dict, etags: dict[int, str]):
    parts = [{"partNumber": number, "etag": etag} for number, etag in sorted(etags.items())]
    return call(client, multipart, "complete", parts=json.dumps(parts))


def test_large_files_get_a_multipart_plan(client, s3_storage):
    upload_plan = plan(client)
    upload_url = upload_plan["uploadUrl"]
    assert (upload_url["method"], upload_url["provider"]) == ("MULTIPART", "s3")
    multipart = upload_url["multipart"]
    assert (multipart["partSize"], multipart["partCount"]) == (5 * MIB, 3)
    assert AsyncTempFile.objects.get(key=upload_plan["key"]).upload_id == multipart["uploadId"]


def test_small_files_keep_the_single_post(client, s3_storage):
    assert plan(client, size=6 * MIB)["uploadUrl"]["method"] == "POST"


def test_parts_upload_complete_and_promote(client, s3_storage, s3_client, bucket):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    etags = upload_parts(client, multipart, [1, 2, 3])
    response = complete(client, multipart, etags)
    assert response.status_code == 200, response.content
    assert response.json() == {"key": upload_plan["key"]}
    doc = CloudDocument.objects.create(file=upload_plan["key"])
    assert doc.file.name == "cloud/big.pdf"
    assert object_bytes(s3_client, bucket, "cloud/big.pdf") == CONTENT
    assert bucket_keys(s3_client, bucket) == ["cloud/big.pdf"]


def test_stored_parts_are_listed_for_resuming(client, s3_storage, s3_client, bucket):
    multipart = plan(client)["uploadUrl"]["multipart"]
    first = upload_parts(client, multipart, [1, 3])
    listed = call(client, multipart, "list").json()["parts"]
    assert [(p["partNumber"], p["etag"], p["size"]) for p in listed] == [
        (1, first[1], 5 * MIB),
        (3, first[3], 2 * MIB + len(CONTENT) - 12 * MIB),
    ]
    rest = upload_parts(client, multipart, [2])
    assert complete(client, multipart, {**first, **rest}).status_code == 200


def test_real_size_over_max_size_is_refused_before_the_object_exists(
    client, s3_storage, s3_client, bucket, monkeypatch
):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 8)
    upload_plan = plan(client, size=7 * MIB)  # declared within the limit, then more is sent
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert multipart["partCount"] == 2
    etags = upload_parts(client, multipart, [1, 2])
    response = complete(client, multipart, etags)
    assert response.status_code == 413
    assert bucket_keys(s3_client, bucket) == []
    assert not AsyncTempFile.objects.filter(key=upload_plan["key"]).exists()
    assert call(client, multipart, "list").status_code == 409


def test_abort_discards_the_parts(client, s3_storage, s3_client, bucket):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    upload_parts(client, multipart, [1])
    assert call(client, multipart, "abort").status_code == 204
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.parametrize(
    ("endpoint", "data", "status"),
    [
        ("sign", {"partNumbers": "0"}, 400),
        ("sign", {"partNumbers": "4"}, 400),
        ("sign", {"partNumbers": "one"}, 400),
        ("sign", {"partNumbers": ",".join(map(str, range(1, 60)))}, 400),
        ("sign", {"partNumbers": ""}, 400),
        ("complete", {"parts": "not json"}, 400),
        ("complete", {"parts": "[]"}, 400),
        ("complete", {"parts": '[{"partNumber": 1}]'}, 400),
        ("complete", {"parts": '[{"partNumber": 9, "etag": "x"}]'}, 400),
        ("complete", {"parts": '[{"partNumber": 1, "etag": "x", "evil": 1}]'}, 400),
        ("complete", {"parts": '[{"partNumber": 1, "etag": "\\"never-uploaded\\""}]'}, 400),
    ],
)
def test_malformed_requests_are_refused(client, s3_storage, endpoint, data, status):
    multipart = plan(client)["uploadUrl"]["multipart"]
    assert call(client, multipart, endpoint, **data).status_code == status


def test_wrong_etags_are_refused_without_completing(client, s3_storage, s3_client, bucket):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    etags = upload_parts(client, multipart, [1, 2, 3])
    response = complete(client, multipart, {**etags, 2: '"00000000000000000000000000000000"'})
    assert response.status_code == 400
    assert bucket_keys(s3_client, bucket) == []
    assert complete(client, multipart, etags).status_code == 200, "the upload can still be completed correctly"


def test_tampered_or_missing_token_is_refused(client, s3_storage):
    multipart = plan(client)["uploadUrl"]["multipart"]
    for token in ("", "nonsense", multipart["token"][:-2] + "xx"):
        response = client.post(multipart["signUrl"], {"token": token, "partNumbers": "1"})
        assert response.status_code == 403


def test_token_of_a_promoted_upload_is_refused(client, s3_storage):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert complete(client, multipart, upload_parts(client, multipart, [1, 2, 3])).status_code == 200
    CloudDocument.objects.create(file=upload_plan["key"])
    assert call(client, multipart, "sign", partNumbers="1").status_code == 409


def test_cleanup_aborts_incomplete_multipart_uploads(client, s3_storage, s3_client, bucket):
    upload_plan = plan(client)
    upload_parts(client, upload_plan["uploadUrl"]["multipart"], [1])
    AsyncTempFile.objects.update(created_at="2000-01-01T00:00:00Z")
    cleanup.cleanup_expired(1)
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert not AsyncTempFile.objects.exists()


def test_stale_multipart_uploads_are_aborted_and_fresh_ones_kept(client, s3_storage, s3_client, bucket):
    """``abort_stale_multipart_uploads`` (the periodic task's work): an upload past its window loses its parts and
    its upload id, its row stays for cleanup; one still within its window is untouched and can be completed."""
    stale = plan(client, filename="stale.pdf")
    upload_parts(client, stale["uploadUrl"]["multipart"], [1])
    AsyncTempFile.objects.filter(key=stale["key"]).update(created_at="2000-01-01T00:00:00Z")
    fresh = plan(client, filename="fresh.pdf")
    fresh_parts = upload_parts(client, fresh["uploadUrl"]["multipart"], [1, 2, 3])

    report = cleanup.abort_stale_multipart_uploads()

    assert report.uploads_aborted == 1
    assert [upload["Key"] for upload in s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == [
        fresh["key"]
    ]
    assert AsyncTempFile.objects.get(key=stale["key"]).upload_id == ""
    assert complete(client, fresh["uploadUrl"]["multipart"], fresh_parts).status_code == 200
