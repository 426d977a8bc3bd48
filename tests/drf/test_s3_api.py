"""The API flow against a real S3 server (SeaweedFS): presigned POST and multipart uploads, create and update
through the API, server-side promotion, and a download through the url the API returns (tests in cloud_api.py)."""

from __future__ import annotations

import pytest

from tests.s3.conftest import bucket_keys, object_bytes

from .cloud_api import MIB, Cloud, CloudApiFlow


@pytest.fixture
def cloud(settings, s3_storage, s3_client, bucket) -> Cloud:
    # Multipart above 6 MiB, in S3's smallest parts (5 MiB): 11 MiB go up in three parts.
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"S3_MULTIPART_THRESHOLD": 6 * MIB, "S3_MULTIPART_PART_SIZE": 5 * MIB}}
    return Cloud(
        provider="s3",
        single_method="POST",
        stored=lambda: bucket_keys(s3_client, bucket),
        read=lambda key: object_bytes(s3_client, bucket, key),
        large_size=11 * MIB,
        part_count=3,
    )


class TestS3Api(CloudApiFlow):
    pass
