"""Fixtures for tests against fake-gcs-server, the Google Cloud Storage emulator (started by ``pytest --services=gcs``).

``AP_TEST_GCS_ENDPOINT`` points at it. Without it the tests are skipped, unless ``AP_TEST_REQUIRE_SERVICES`` is set
(as in CI), where a missing server is a failure.

The emulator checks no signature, so the storage signs with a service account key made for the run
(``SigningCredentials``) and the signing tests verify every signature with its public key.
"""

from __future__ import annotations

from collections.abc import Iterator
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core.client_options import ClientOptions
from google.auth import credentials as google_credentials, crypt
from google.cloud import storage as gcs
import pytest
import requests

from alliance_platform.storage.async_uploads.storage.gcs import GoogleCloudAsyncUploadStorage
from tests.conftest import service_variable
from tests.testapp.models import CloudDocument

SERVICE_ACCOUNT = "uploads@ap-test.iam.gserviceaccount.com"


def _private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


#: One key for the run (2048-bit keys take a moment to make).
PRIVATE_KEY_PEM = _private_key_pem()


class SigningCredentials(google_credentials.Credentials, google_credentials.Signing):
    """A service account's credentials as far as the tests need them: a private key that signs, and a fixed
    access token (the emulator accepts any), so no token endpoint is ever called."""

    def __init__(self, pem: str = PRIVATE_KEY_PEM, email: str = SERVICE_ACCOUNT):
        super().__init__()
        self.token = "test-access-token"
        self._signer = crypt.RSASigner.from_string(pem, "test-key")
        self._email = email

    def refresh(self, request) -> None:
        pass  # the token never expires

    def sign_bytes(self, message: bytes) -> bytes:
        return self._signer.sign(message)

    @property
    def signer_email(self) -> str:
        return self._email

    @property
    def service_account_email(self) -> str:
        return self._email

    @property
    def signer(self):
        return self._signer


def public_key_verifier() -> crypt.RSAVerifier:
    key = serialization.load_pem_private_key(PRIVATE_KEY_PEM.encode(), password=None)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return crypt.RSAVerifier.from_string(public)


@pytest.fixture(scope="session")
def gcs_server() -> dict[str, str]:
    import os

    endpoint = service_variable("AP_TEST_GCS_ENDPOINT", "gcs")
    return {"api_endpoint": endpoint, "project_id": os.environ.get("AP_TEST_GCS_PROJECT", "ap-test")}


@pytest.fixture(scope="session")
def gcs_client(gcs_server) -> gcs.Client:
    return gcs.Client(
        project=gcs_server["project_id"],
        credentials=SigningCredentials(),
        client_options=ClientOptions(api_endpoint=gcs_server["api_endpoint"]),
    )


@pytest.fixture
def gcs_bucket(gcs_client) -> Iterator[str]:
    """A fresh bucket per test, emptied and removed afterwards."""
    name = f"ap-test-{secrets.token_hex(6)}"
    gcs_client.create_bucket(name)
    yield name
    bucket = gcs_client.bucket(name)
    for blob in bucket.list_blobs():
        blob.delete()
    bucket.delete()


def make_storage(gcs_server, bucket: str, **options) -> GoogleCloudAsyncUploadStorage:
    return GoogleCloudAsyncUploadStorage(
        bucket_name=bucket, credentials=options.pop("credentials", SigningCredentials()), **gcs_server, **options
    )


@pytest.fixture
def gcs_storage(gcs_server, gcs_bucket, monkeypatch) -> GoogleCloudAsyncUploadStorage:
    """The GCS storage, installed on CloudDocument's fields for this test."""
    storage = make_storage(gcs_server, gcs_bucket)
    use_storage(monkeypatch, storage)
    return storage


def use_storage(monkeypatch, storage: GoogleCloudAsyncUploadStorage) -> None:
    for name in ("file", "image"):
        monkeypatch.setattr(CloudDocument._meta.get_field(name), "storage", storage)


def bucket_names(gcs_client, bucket: str) -> list[str]:
    return sorted(blob.name for blob in gcs_client.bucket(bucket).list_blobs())


def object_bytes(gcs_client, bucket: str, name: str) -> bytes:
    return gcs_client.bucket(bucket).blob(name).download_as_bytes()


def post_upload(plan: dict, content: bytes, filename: str = "upload.bin", **overrides) -> requests.Response:
    """Send a file the way a browser does with a signed POST policy plan."""
    upload_url = plan["uploadUrl"]
    fields = {**upload_url["fields"], **overrides}
    return requests.post(
        upload_url["url"], data=fields, files={upload_url.get("fileFieldName", "file"): (filename, content)}, timeout=30
    )
