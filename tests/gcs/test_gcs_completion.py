"""Completing an upload in parts on GCS takes exactly the plan's parts, adding up to the planned size: otherwise 400
and no object, so nothing shorter than planned can be saved."""

from __future__ import annotations

import pytest

from tests.cloud_document import submit
from tests.gcs.conftest import object_bytes
from tests.gcs.test_gcs_multipart import (  # noqa: F401 - small_parts is an autouse fixture
    CONTENT,
    MIB,
    complete,
    etag_of,
    objects,
    plan,
    small_parts,
    upload_parts,
)
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("left_out", [1, 2, 3])
def test_a_completion_that_leaves_out_a_part_is_refused(client, gcs_storage, gcs_client, gcs_bucket, left_out):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    etags = upload_parts(client, multipart, [1, 2, 3])
    response = complete(client, multipart, {n: etag for n, etag in etags.items() if n != left_out})
    assert response.status_code == 400
    assert response.json() == {"parts": ["Give every part of the plan, 1 to 3."]}
    assert objects(gcs_client, gcs_bucket) == []
    form = submit(client, file={"key": upload_plan["key"], "name": "big.pdf"})
    assert not form.is_valid() and not CloudDocument.objects.exists(), "nothing was stored to save"
    assert complete(client, multipart, etags).status_code == 200
    assert object_bytes(gcs_client, gcs_bucket, upload_plan["key"]) == CONTENT


def test_parts_that_do_not_add_up_to_the_planned_size_are_refused(client, gcs_storage, gcs_client, gcs_bucket):
    multipart = plan(client, size=len(CONTENT) + 1000)["uploadUrl"]["multipart"]
    response = complete(client, multipart, upload_parts(client, multipart, [1, 2, 3]))
    assert response.status_code == 400
    assert response.json() == {
        "parts": [f"The parts add up to {len(CONTENT)} bytes; the upload was planned as {len(CONTENT) + 1000} bytes."]
    }
    assert objects(gcs_client, gcs_bucket) == []


def test_a_part_sent_again_shorter_is_refused_until_it_is_whole(client, gcs_storage, gcs_client, gcs_bucket):
    upload_plan = plan(client)
    multipart = upload_plan["uploadUrl"]["multipart"]
    etags = upload_parts(client, multipart, [1, 2, 3])
    upload_parts(client, multipart, [3], content=CONTENT[: 10 * MIB] + b"%PDF-1.4 short")
    response = complete(client, multipart, {**etags, 3: etag_of(b"%PDF-1.4 short")})
    assert response.status_code == 400
    assert "the upload was planned as" in response.json()["parts"][0]
    assert objects(gcs_client, gcs_bucket) == []
    etags.update(upload_parts(client, multipart, [3]))
    assert complete(client, multipart, etags).status_code == 200
    assert object_bytes(gcs_client, gcs_bucket, upload_plan["key"]) == CONTENT
