"""Completing an S3 multipart upload takes exactly the plan's parts, adding up to the planned size: otherwise 400
and no object, so nothing shorter than planned can be saved."""

from __future__ import annotations

import json

import pytest
import requests

from tests.cloud_document import submit
from tests.s3.conftest import bucket_keys, object_bytes
from tests.s3.test_s3_multipart import CONTENT, call, complete, plan, small_parts, upload_parts  # noqa: F401
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("left_out", [1, 2, 3])
def test_a_completion_that_leaves_out_a_part_is_refused(client, s3_storage, s3_client, bucket, left_out):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert multipart["partCount"] == 3
    etags = upload_parts(client, multipart, [1, 2, 3])
    response = complete(client, multipart, {n: etag for n, etag in etags.items() if n != left_out})
    assert response.status_code == 400
    assert response.json() == {"parts": ["Give every part of the plan, 1 to 3."]}
    assert bucket_keys(s3_client, bucket) == []
    form = submit(client, file={"key": upload_plan["key"], "name": "big.pdf"})
    assert not form.is_valid() and not CloudDocument.objects.exists(), "nothing was stored to save"
    assert complete(client, multipart, etags).status_code == 200, "the upload can still be completed correctly"
    assert object_bytes(s3_client, bucket, upload_plan["key"]) == CONTENT


def test_a_part_named_twice_is_refused(client, s3_storage, s3_client, bucket):
    multipart = plan(client)["uploadUrl"]["multipart"]
    etags = upload_parts(client, multipart, [1, 2, 3])
    parts = [{"partNumber": n, "etag": etags[n]} for n in (1, 2, 2)]
    response = call(client, multipart, "complete", parts=json.dumps(parts))
    assert response.status_code == 400
    assert response.json() == {"parts": ["Part 2 is named more than once."]}
    assert bucket_keys(s3_client, bucket) == []


def test_parts_that_do_not_add_up_to_the_planned_size_are_refused(client, s3_storage, s3_client, bucket):
    multipart = plan(client, size=len(CONTENT) + 1000)["uploadUrl"]["multipart"]
    assert multipart["partCount"] == 3
    response = complete(client, multipart, upload_parts(client, multipart, [1, 2, 3]))
    assert response.status_code == 400
    assert response.json() == {
        "parts": [f"The parts add up to {len(CONTENT)} bytes; the upload was planned as {len(CONTENT) + 1000} bytes."]
    }
    assert bucket_keys(s3_client, bucket) == []


def test_a_part_sent_again_shorter_is_refused_until_it_is_whole(client, s3_storage, s3_client, bucket):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    etags = upload_parts(client, multipart, [1, 2, 3])
    signed = call(client, multipart, "sign", partNumbers="3").json()["parts"][0]
    short = requests.put(signed["url"], data=b"%PDF-1.4 short", timeout=60)
    assert short.status_code == 200, short.text
    response = complete(client, multipart, {**etags, 3: short.headers["ETag"]})
    assert response.status_code == 400
    assert "the upload was planned as" in response.json()["parts"][0]
    assert bucket_keys(s3_client, bucket) == []
    etags.update(upload_parts(client, multipart, [3]))
    assert complete(client, multipart, etags).status_code == 200
    assert object_bytes(s3_client, bucket, upload_plan["key"]) == CONTENT
