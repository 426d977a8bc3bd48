"""The installed package carries everything it needs: templates, static files and complete migrations."""

from io import StringIO
import os
from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.template.loader import get_template
import pytest

import alliance_platform.storage


def test_widget_template_and_static_files_are_found():
    get_template("alliance_platform/storage/widgets/async_file_input.html")
    assert finders.find("alliance_platform/storage/async-upload.js")
    assert finders.find("alliance_platform/storage/async-upload.css")


@pytest.mark.django_db
def test_migrations_match_the_models():
    out = StringIO()
    call_command("makemigrations", "alliance_platform_storage", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.skipif(not os.environ.get("AP_TEST_REQUIRE_WHEEL"), reason="only meaningful when testing a built wheel")
def test_package_is_imported_from_the_installed_wheel():
    package_dir = Path(alliance_platform.storage.__file__).parent
    assert "site-packages" in package_dir.parts
    assert (package_dir / "migrations" / "0001_initial.py").exists()
    assert (package_dir / "static" / "alliance_platform" / "storage" / "async-upload.js").exists()


def test_public_import_paths():
    from alliance_platform.storage.async_uploads.forms import AsyncFileField, AsyncFileInput, AsyncImageField
    from alliance_platform.storage.async_uploads.models import (
        AsyncFieldFile,
        AsyncFileInputData,
        AsyncImageFieldFile,
        AsyncTempFile,
        default_max_length,
        default_max_size,
    )
    from alliance_platform.storage.async_uploads.registry import AsyncFieldRegistry, default_async_field_registry
    from alliance_platform.storage.async_uploads.rest_framework import (
        AsyncFileField as SerializerFileField,
        AsyncImageField as SerializerImageField,
    )
    from alliance_platform.storage.async_uploads.storage.azure import AzureAsyncUploadStorage
    from alliance_platform.storage.async_uploads.storage.base import AsyncUploadStorage, GenerateUploadUrlResponse
    from alliance_platform.storage.async_uploads.storage.filesystem import FileSystemAsyncUploadStorage
    from alliance_platform.storage.async_uploads.storage.s3 import S3AsyncUploadStorage
    from alliance_platform.storage.async_uploads.views import DownloadRedirectView, GenerateUploadUrlView

    assert (default_max_length, default_max_size) == (500, 100)
    assert isinstance(default_async_field_registry, AsyncFieldRegistry)
    assert issubclass(FileSystemAsyncUploadStorage, AsyncUploadStorage)
    assert issubclass(S3AsyncUploadStorage, AsyncUploadStorage) and issubclass(
        AzureAsyncUploadStorage, AsyncUploadStorage
    )
    for name in (AsyncFileField, AsyncFileInput, AsyncImageField, AsyncFieldFile, AsyncFileInputData):
        assert name is not None
    for name in (AsyncImageFieldFile, AsyncTempFile, SerializerFileField, SerializerImageField):
        assert name is not None
    assert GenerateUploadUrlResponse and DownloadRedirectView and GenerateUploadUrlView
