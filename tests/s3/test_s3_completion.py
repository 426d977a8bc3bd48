"""Completing an S3 multipart upload takes exactly the plan's parts, adding up to the planned size."""

from __future__ import annotations

import pytest

from tests.s3.conftest import bucket_keys
from tests.s3.test_s3_multipart import CONTENT, complete, plan, small_parts, upload_parts  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("left_out", [1, 2, 3])
def test_a_completion_that_leaves_out_a_part_is_refused(client, s3_storage, s3_client, bucket, left_out):
    multipart = plan(client)["uploadUrl"]["multipart"]
    assert multipart["partCount"] == 3
    etags = upload_parts(client, multipart, [1, 2, 3])
    response = complete(client, multipart, {n: etag for n, etag in etags.items() if n != left_out})
    assert response.status_code == 400
    assert response.json() == {"parts": ["Give every part of the plan, 1 to 3."]}
    assert bucket_keys(s3_client, bucket) == []
    assert complete(client, multipart, etags).status_code == 200, "the upload can still be completed correctly"


def test_parts_that_do_not_add_up_to_the_planned_size_are_refused(client, s3_storage, s3_client, bucket):
    multipart = plan(client, size=len(CONTENT) + 1000)["uploadUrl"]["multipart"]
    assert multipart["partCount"] == 3
    response = complete(client, multipart, upload_parts(client, multipart, [1, 2, 3]))
    assert response.status_code == 400
    assert response.json() == {
        "parts": [f"The parts add up to {len(CONTENT)} bytes; the upload was planned as {len(CONTENT) + 1000} bytes."]
    }
    assert bucket_keys(s3_client, bucket) == []
