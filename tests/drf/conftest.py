"""Fixtures for the DRF tests: API clients with a session (the upload endpoint and the API see the same user)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

# The S3, Azure and GCS fixtures, for the API flow against a real S3 server, Azurite and fake-gcs-server (skipped
# without them, like tests/s3, tests/azure and tests/gcs).
from tests.azure.conftest import azure_storage, azurite, blob_service, container  # noqa: F401
from tests.gcs.conftest import gcs_bucket, gcs_client, gcs_server, gcs_storage  # noqa: F401
from tests.s3.conftest import bucket, s3_client, s3_server, s3_storage  # noqa: F401


@pytest.fixture
def api_client_for() -> Callable[[object], APIClient]:
    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def api(api_client_for, user) -> APIClient:
    return api_client_for(user)
