"""Fixtures for tests against Azurite, the Azure Blob Storage emulator (started by ``pytest --services=azure``), which checks
SAS signatures, permissions, blob scope and expiry.

``AP_TEST_AZURE_CONNECTION_STRING`` points at it. Without it the tests are skipped, unless
``AP_TEST_REQUIRE_SERVICES`` is set (as in CI), where a missing server is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
import secrets
from urllib.parse import parse_qs, urlsplit

from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobServiceClient
import pytest
import requests

from alliance_platform.storage.async_uploads.storage.azure import AzureAsyncUploadStorage
from tests.conftest import service_variable
from tests.testapp.models import CloudDocument


@pytest.fixture(scope="session")
def azurite() -> str:
    return service_variable("AP_TEST_AZURE_CONNECTION_STRING", "azure")


@pytest.fixture(scope="session")
def blob_service(azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite)


@pytest.fixture
def container(blob_service) -> Iterator[str]:
    """A fresh container per test, removed (with its blobs and uncommitted blocks) afterwards."""
    name = f"ap-test-{secrets.token_hex(6)}"
    blob_service.create_container(name)
    yield name
    blob_service.delete_container(name)


def make_storage(connection_string: str, container: str, **options) -> AzureAsyncUploadStorage:
    return AzureAsyncUploadStorage(connection_string=connection_string, azure_container=container, **options)


@pytest.fixture
def azure_storage(azurite, container, monkeypatch) -> AzureAsyncUploadStorage:
    """The Azure storage, installed on CloudDocument's fields for this test."""
    storage = make_storage(azurite, container)
    use_storage(monkeypatch, storage)
    return storage


def use_storage(monkeypatch, storage: AzureAsyncUploadStorage) -> None:
    for name in ("file", "image"):
        monkeypatch.setattr(CloudDocument._meta.get_field(name), "storage", storage)


def container_blobs(blob_service: BlobServiceClient, container: str) -> list[str]:
    """Names of the committed blobs in ``container``."""
    return sorted(blob.name for blob in blob_service.get_container_client(container).list_blobs())


def uncommitted_blocks(blob_service: BlobServiceClient, container: str, name: str) -> list[str]:
    """Ids of the blocks uploaded to ``name`` but not committed (empty when neither blob nor blocks exist)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        _committed, uncommitted = blob_service.get_blob_client(container, name).get_block_list("uncommitted")
    except ResourceNotFoundError:
        return []
    return [block.id for block in uncommitted]


def blob_bytes(blob_service: BlobServiceClient, container: str, name: str) -> bytes:
    return blob_service.get_blob_client(container, name).download_blob().readall()


def put_upload(plan: dict, content: bytes, url: str | None = None, **header_overrides) -> requests.Response:
    """Send a file the way the widget does with a single-PUT plan."""
    upload_url = plan["uploadUrl"]
    headers = {**upload_url.get("headers", {}), **header_overrides}
    return requests.put(url or upload_url["url"], data=content, headers=headers, timeout=30)


class AzureRequestLog:
    """Every HTTP request the Azure SDK sends while it is active, as (method, query comp) pairs, to prove which
    calls verification and promotion make. Counts all SDK clients: use no helper while measuring."""

    def __init__(self, monkeypatch):
        self.requests: list[tuple[str, str]] = []
        self.ranged_gets = 0
        self.copies = 0
        original = RequestsTransport.send

        def send(transport, request, **kwargs):
            query = parse_qs(urlsplit(request.url).query)
            self.requests.append((request.method, query.get("comp", [""])[0]))
            headers = {name.lower() for name in request.headers}
            if request.method == "GET" and headers & {"range", "x-ms-range"}:
                self.ranged_gets += 1
            if "x-ms-copy-source" in headers:
                self.copies += 1
            return original(transport, request, **kwargs)

        monkeypatch.setattr(RequestsTransport, "send", send)

    def count(self, method: str, comp: str = "") -> int:
        return sum(1 for entry in self.requests if entry == (method, comp))
