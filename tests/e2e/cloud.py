"""The demo's storage switched to S3 (SeaweedFS), Azure (Azurite) or GCS (fake-gcs-server) for the browser tests, with the CORS rules that
let the live server's pages upload, and small thresholds so that a few MiB go up in parts.

Fixtures, made available to every browser test by conftest.py.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from alliance_platform.storage.async_uploads.storage import gcs as gcs_backend
from alliance_platform.storage.async_uploads.storage.azure import AzureAsyncUploadStorage
from gallery.models import Document
from tests.gcs.conftest import SigningCredentials

MiB = 1024 * 1024
S3_PART_SIZE = 5 * MiB  # S3's smallest
AZURE_BLOCK_SIZE = MiB  # this backend's smallest
# Four parts: three of 5 MiB and one of 1 MiB.
S3_LARGE_SIZE = 16 * MiB
# Four blocks: three of 1 MiB and one of half a MiB.
AZURE_LARGE_SIZE = 7 * MiB // 2
GCS_PART_SIZE = MiB  # below the backend's 5 MiB minimum, lowered for these tests
# Four parts: three of 1 MiB and one of half a MiB.
GCS_LARGE_SIZE = 7 * MiB // 2
_GCS_PART = re.compile(r"/\.parts/.+/[0-9a-f]{16}/(\d{5})$")


def part_number(url: str) -> int | None:
    """The part number of an S3 UploadPart URL, or ``None`` for any other request."""
    values = parse_qs(urlsplit(url).query).get("partNumber")
    return int(values[0]) if values else None


def is_part_upload(url: str) -> bool:
    return part_number(url) is not None


def block_number(url: str) -> int | None:
    """The part number of a Put Block URL (its block id is base64 of "<upload id>-<5-digit number>")."""
    query = parse_qs(urlsplit(url).query)
    if query.get("comp") != ["block"] or "blockid" not in query:
        return None
    return int(base64.b64decode(query["blockid"][0]).decode().rsplit("-", 1)[1])


def is_block_upload(url: str) -> bool:
    return block_number(url) is not None


def gcs_part_number(url: str) -> int | None:
    """The part number of a signed GCS part URL (``.../.parts/<key>/<upload id>/<5-digit number>``), or ``None``."""
    found = _GCS_PART.search(urlsplit(url).path)
    return int(found.group(1)) if found else None


def is_gcs_part_upload(url: str) -> bool:
    return gcs_part_number(url) is not None


def endpoint_of(connection_string: str) -> str:
    return dict(item.split("=", 1) for item in connection_string.split(";") if item)["BlobEndpoint"]


@pytest.fixture
def s3_bucket(settings, s3_server, s3_client, bucket, live_server):
    """The default storage (which the demo's Document uses) switched to S3, on a bucket whose CORS rules let the
    live server's pages upload to it and read the ETag of each part."""
    s3_client.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [live_server.url],
                    "AllowedMethods": ["GET", "PUT", "POST", "HEAD"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 600,
                }
            ]
        },
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "alliance_platform.storage.async_uploads.storage.s3.S3AsyncUploadStorage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server["endpoint_url"],
                "access_key": s3_server["access_key"],
                "secret_key": s3_server["secret_key"],
                "region_name": "us-east-1",
                "signature_version": "s3v4",
                "addressing_style": "path",
            },
        },
    }
    yield bucket
    # Parts of unfinished uploads are not objects: the bucket could not be removed with them still there.
    for upload in s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3_client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])


@pytest.fixture
def r2_bucket(settings, s3_bucket, r2_proxy, monkeypatch):
    """``s3_bucket`` reached through the R2-style proxy (presigned POSTs answered ``501``), in PUT mode, with
    multipart above 6 MiB in 5 MiB parts (and the demo's 10 MB limit on Document.file raised to 64 MB)."""
    options = settings.STORAGES["default"]["OPTIONS"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**options, "endpoint_url": r2_proxy.endpoint_url, "upload_method": "put"},
        },
    }
    settings.ALLIANCE_PLATFORM = {
        **settings.ALLIANCE_PLATFORM,
        "STORAGE": {
            **settings.ALLIANCE_PLATFORM.get("STORAGE", {}),
            "S3_MULTIPART_THRESHOLD": 6 * MiB,
            "S3_MULTIPART_PART_SIZE": S3_PART_SIZE,
        },
    }
    monkeypatch.setattr(Document._meta.get_field("file"), "max_size", 64)
    r2_proxy.refused.clear()
    r2_proxy.forwarded.clear()
    return s3_bucket


@pytest.fixture
def multipart(settings, s3_bucket, monkeypatch):
    """Multipart above 6 MiB, in 5 MiB parts; the demo's 10 MB limit on Document.file raised to 64 MB."""
    settings.ALLIANCE_PLATFORM = {
        **settings.ALLIANCE_PLATFORM,
        "STORAGE": {
            **settings.ALLIANCE_PLATFORM.get("STORAGE", {}),
            "S3_MULTIPART_THRESHOLD": 6 * MiB,
            "S3_MULTIPART_PART_SIZE": S3_PART_SIZE,
        },
    }
    monkeypatch.setattr(Document._meta.get_field("file"), "max_size", 64)
    return s3_bucket


@pytest.fixture
def azure_container(settings, azurite, blob_service, container, live_server):
    """The default storage (which the demo's Document uses) switched to Azurite, with the Blob service CORS rules
    the backend prints and applies for the live server's origin (Azurite refuses every preflight until then)."""
    options = {"connection_string": azurite, "azure_container": container}
    cors_before = blob_service.get_service_properties()["cors"]
    AzureAsyncUploadStorage(**options).apply_cors_rules([live_server.url])
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "alliance_platform.storage.async_uploads.storage.azure.AzureAsyncUploadStorage",
            "OPTIONS": options,
        },
    }
    yield container
    blob_service.set_service_properties(cors=cors_before)


@pytest.fixture
def blocks(settings, azure_container):
    """Block lists above 2 MiB, in 1 MiB blocks."""
    settings.ALLIANCE_PLATFORM = {
        **settings.ALLIANCE_PLATFORM,
        "STORAGE": {
            **settings.ALLIANCE_PLATFORM.get("STORAGE", {}),
            "AZURE_BLOCK_THRESHOLD": 2 * MiB,
            "AZURE_BLOCK_SIZE": AZURE_BLOCK_SIZE,
        },
    }
    return azure_container


@pytest.fixture
def gcs_upload_bucket(settings, gcs_server, gcs_bucket, live_server):
    """The default storage (which the demo's Document uses) switched to the GCS emulator. (It answers every origin,
    whatever the bucket's CORS rules say, and shows the page no ETag: the widget lists the parts to complete.)"""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "alliance_platform.storage.async_uploads.storage.gcs.GoogleCloudAsyncUploadStorage",
            "OPTIONS": {"bucket_name": gcs_bucket, "credentials": SigningCredentials(), **gcs_server},
        },
    }
    return gcs_bucket


@pytest.fixture
def gcs_parts(settings, gcs_upload_bucket, monkeypatch):
    """Uploads in parts above 2 MiB, in 1 MiB parts."""
    monkeypatch.setattr(gcs_backend, "MIN_PART_SIZE", GCS_PART_SIZE)
    settings.ALLIANCE_PLATFORM = {
        **settings.ALLIANCE_PLATFORM,
        "STORAGE": {
            **settings.ALLIANCE_PLATFORM.get("STORAGE", {}),
            "GCS_MULTIPART_THRESHOLD": 2 * MiB,
            "GCS_MULTIPART_PART_SIZE": GCS_PART_SIZE,
        },
    }
    return gcs_upload_bucket
