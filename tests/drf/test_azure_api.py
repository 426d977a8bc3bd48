"""The API flow against Azure Blob Storage (Azurite): SAS Put Blob and block uploads, create and update through the
API, server-side promotion, and a download through the url the API returns (tests in cloud_api.py)."""

from __future__ import annotations

import pytest

from tests.azure.conftest import blob_bytes, container_blobs

from .cloud_api import MIB, Cloud, CloudApiFlow


@pytest.fixture
def cloud(settings, azure_storage, blob_service, container) -> Cloud:
    # Block lists above 2 MiB, in the backend's smallest blocks (1 MiB): 3.5 MiB go up in four blocks.
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"AZURE_BLOCK_THRESHOLD": 2 * MIB, "AZURE_BLOCK_SIZE": MIB}}
    return Cloud(
        provider="azure",
        single_method="PUT",
        stored=lambda: container_blobs(blob_service, container),
        read=lambda key: blob_bytes(blob_service, container, key),
        large_size=7 * MIB // 2,
        part_count=4,
    )


class TestAzureApi(CloudApiFlow):
    pass
