"""The API flow against Google Cloud Storage (fake-gcs-server): signed POST policies and uploads in parts, create and
update through the API, server-side promotion, and a download through the url the API returns (tests in
cloud_api.py)."""

from __future__ import annotations

import pytest

from tests.gcs.conftest import bucket_names, object_bytes

from .cloud_api import MIB, Cloud, CloudApiFlow


@pytest.fixture
def cloud(settings, gcs_storage, gcs_client, gcs_bucket) -> Cloud:
    # Parts above 6 MiB, of the backend's smallest size (5 MiB): 11 MiB go up in three parts.
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"GCS_MULTIPART_THRESHOLD": 6 * MIB, "GCS_MULTIPART_PART_SIZE": 5 * MIB}}
    return Cloud(
        provider="gcs",
        single_method="POST",
        stored=lambda: bucket_names(gcs_client, gcs_bucket),
        read=lambda key: object_bytes(gcs_client, gcs_bucket, key),
        large_size=11 * MIB,
        part_count=3,
        serves_signed_headers=False,
    )


class TestGcsApi(CloudApiFlow):
    pass
