"""Storages for the test models whose backend the tests choose per test (see tests/s3/conftest.py)."""

from django.core.files.storage import default_storage


def cloud_storage():
    # The filesystem default storage until a test's fixtures put a cloud storage on the field, so that no test
    # reaches a cloud server (or the caller's cloud credentials) by accident.
    return default_storage
