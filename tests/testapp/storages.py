"""Storages for the test models whose backend the tests choose per test (see tests/s3/conftest.py)."""

from alliance_platform.storage.async_uploads.storage.s3 import S3AsyncUploadStorage


def cloud_storage() -> S3AsyncUploadStorage:
    # Replaced on the field by the S3 fixtures; this instance is never used to reach a server.
    return S3AsyncUploadStorage(bucket_name="unconfigured", region_name="us-east-1")
