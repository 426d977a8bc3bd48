"""Fixtures for tests against a real S3 server (SeaweedFS, started by ``pytest --services=s3``, with credentials so that
signatures and POST policies are enforced).

``AP_TEST_S3_ENDPOINT``, ``AP_TEST_S3_ACCESS_KEY`` and ``AP_TEST_S3_SECRET_KEY`` point at it. Without them the
tests are skipped, unless ``AP_TEST_REQUIRE_SERVICES`` is set (as in CI), where a missing server is a failure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
import os
import secrets

import boto3
from botocore.config import Config
import pytest
import requests

from alliance_platform.storage.async_uploads.storage.s3 import S3AsyncUploadStorage
from tests.conftest import service_variable
from tests.s3.r2_proxy import R2StyleProxy
from tests.testapp.models import CloudDocument


@pytest.fixture(scope="session")
def s3_server() -> dict[str, str]:
    endpoint = service_variable("AP_TEST_S3_ENDPOINT", "s3")
    return {
        "endpoint_url": endpoint,
        "access_key": os.environ["AP_TEST_S3_ACCESS_KEY"],
        "secret_key": os.environ["AP_TEST_S3_SECRET_KEY"],
    }


@pytest.fixture(scope="session")
def s3_client(s3_server):
    return boto3.client(
        "s3",
        endpoint_url=s3_server["endpoint_url"],
        aws_access_key_id=s3_server["access_key"],
        aws_secret_access_key=s3_server["secret_key"],
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="session")
def r2_proxy(s3_server) -> Iterator[R2StyleProxy]:
    """The suite's SeaweedFS behind a loopback proxy that refuses presigned POSTs as Cloudflare R2 does."""
    with R2StyleProxy(s3_server["endpoint_url"]) as proxy:
        yield proxy


@pytest.fixture
def bucket(s3_client) -> Iterator[str]:
    """A fresh bucket per test, emptied and removed afterwards."""
    name = f"ap-test-{secrets.token_hex(6)}"
    s3_client.create_bucket(Bucket=name)
    yield name
    paginator = s3_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3_client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    s3_client.delete_bucket(Bucket=name)


def make_storage(s3_server, bucket: str, **options) -> S3AsyncUploadStorage:
    return S3AsyncUploadStorage(
        bucket_name=bucket,
        region_name="us-east-1",
        signature_version="s3v4",
        addressing_style="path",
        **s3_server,
        **options,
    )


@pytest.fixture
def s3_storage(s3_server, bucket, monkeypatch) -> S3AsyncUploadStorage:
    """The S3 storage, installed on CloudDocument's fields for this test."""
    storage = make_storage(s3_server, bucket)
    use_storage(monkeypatch, storage)
    return storage


def use_storage(monkeypatch, storage: S3AsyncUploadStorage) -> None:
    for name in ("file", "image"):
        monkeypatch.setattr(CloudDocument._meta.get_field(name), "storage", storage)


def bucket_keys(s3_client, bucket: str) -> list[str]:
    response = s3_client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in response.get("Contents", []))


def object_bytes(s3_client, bucket: str, key: str) -> bytes:
    return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()


def post_upload(plan: dict, content: bytes, filename: str = "upload.bin", **overrides) -> requests.Response:
    """Send a file the way a browser does with a presigned POST plan."""
    upload_url = plan["uploadUrl"]
    fields = {**upload_url["fields"], **overrides}
    return requests.post(
        upload_url["url"], data=fields, files={upload_url.get("fileFieldName", "file"): (filename, content)}, timeout=30
    )


class OperationLog:
    """Every S3 API call a storage's client makes (botocore events), to prove what promotion does and does not do."""

    def __init__(self, storage: S3AsyncUploadStorage):
        self.operations: list[str] = []
        storage.client.meta.events.register("before-call.s3", self._record)

    def _record(self, model, **kwargs) -> None:
        self.operations.append(model.name)

    def counts(self) -> Counter:
        return Counter(self.operations)
