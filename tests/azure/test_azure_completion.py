"""Committing an Azure block upload takes exactly the plan's blocks, adding up to the planned size."""

from __future__ import annotations

import pytest

from tests.azure.conftest import container_blobs
from tests.azure.test_azure_blocks import CONTENT, complete, plan, small_blocks, upload_blocks  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_commit_that_leaves_out_a_block_is_refused(client, azure_storage, blob_service, container):
    multipart = plan(client)["uploadUrl"]["multipart"]
    count = multipart["partCount"]
    ids = upload_blocks(client, multipart, list(range(1, count + 1)))
    response = complete(client, multipart, {n: block for n, block in ids.items() if n != 2})
    assert response.status_code == 400
    assert response.json() == {"parts": [f"Give every part of the plan, 1 to {count}."]}
    assert container_blobs(blob_service, container) == []
    assert complete(client, multipart, ids).status_code == 200, "the upload can still be committed correctly"


def test_blocks_that_do_not_add_up_to_the_planned_size_are_refused(client, azure_storage, blob_service, container):
    multipart = plan(client, size=len(CONTENT) + 1000)["uploadUrl"]["multipart"]
    ids = upload_blocks(client, multipart, list(range(1, multipart["partCount"] + 1)))
    response = complete(client, multipart, ids)
    assert response.status_code == 400
    assert "the upload was planned as" in response.json()["parts"][0]
    assert container_blobs(blob_service, container) == []
