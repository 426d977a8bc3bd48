"""Committing an Azure block upload takes exactly the plan's blocks, adding up to the planned size: otherwise 400
and no blob, so nothing shorter than planned can be saved."""

from __future__ import annotations

import json

import pytest
import requests

from tests.azure.conftest import blob_bytes, container_blobs
from tests.azure.test_azure_blocks import CONTENT, call, complete, plan, signed_parts, small_blocks, upload_blocks  # noqa: F401
from tests.cloud_document import submit
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("left_out", [1, 2, 4])
def test_a_commit_that_leaves_out_a_block_is_refused(client, azure_storage, blob_service, container, left_out):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    count = multipart["partCount"]
    assert count == 4
    ids = upload_blocks(client, multipart, list(range(1, count + 1)))
    response = complete(client, multipart, {n: block for n, block in ids.items() if n != left_out})
    assert response.status_code == 400
    assert response.json() == {"parts": [f"Give every part of the plan, 1 to {count}."]}
    assert container_blobs(blob_service, container) == []
    form = submit(client, file={"key": upload_plan["key"], "name": "big.pdf"})
    assert not form.is_valid() and not CloudDocument.objects.exists(), "nothing was stored to save"
    assert complete(client, multipart, ids).status_code == 200, "the upload can still be committed correctly"
    assert blob_bytes(blob_service, container, upload_plan["key"]) == CONTENT


def test_a_block_named_twice_is_refused(client, azure_storage, blob_service, container):
    multipart = plan(client)["uploadUrl"]["multipart"]
    ids = upload_blocks(client, multipart, [1, 2, 3, 4])
    parts = [{"partNumber": n, "etag": ids[n]} for n in (1, 2, 3, 3)]
    response = call(client, multipart, "complete", parts=json.dumps(parts))
    assert response.status_code == 400
    assert response.json() == {"parts": ["Part 3 is named more than once."]}
    assert container_blobs(blob_service, container) == []


def test_blocks_that_do_not_add_up_to_the_planned_size_are_refused(client, azure_storage, blob_service, container):
    multipart = plan(client, size=len(CONTENT) + 1000)["uploadUrl"]["multipart"]
    ids = upload_blocks(client, multipart, list(range(1, multipart["partCount"] + 1)))
    response = complete(client, multipart, ids)
    assert response.status_code == 400
    assert response.json() == {
        "parts": [f"The parts add up to {len(CONTENT)} bytes; the upload was planned as {len(CONTENT) + 1000} bytes."]
    }
    assert container_blobs(blob_service, container) == []


def test_a_block_sent_again_shorter_is_refused_until_it_is_whole(client, azure_storage, blob_service, container):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    ids = upload_blocks(client, multipart, [1, 2, 3, 4])
    again = signed_parts(client, multipart, [2])[0]
    assert requests.put(again["url"], data=b"short", timeout=60).status_code == 201
    response = complete(client, multipart, ids)
    assert response.status_code == 400
    assert "the upload was planned as" in response.json()["parts"][0]
    assert container_blobs(blob_service, container) == []
    upload_blocks(client, multipart, [2])
    assert complete(client, multipart, ids).status_code == 200
    assert blob_bytes(blob_service, container, upload_plan["key"]) == CONTENT
