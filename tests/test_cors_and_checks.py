"""The CORS command's handling of arguments and the offline system checks (no cloud server needed)."""

from __future__ import annotations

import io
import types

from django.core.management import CommandError, call_command
import pytest

from alliance_platform.storage import checks
from alliance_platform.storage.async_uploads.cors import cors_targets, validate_origin
from alliance_platform.storage.async_uploads.storage.azure import AzureAsyncUploadStorage
from alliance_platform.storage.async_uploads.storage.gcs import GoogleCloudAsyncUploadStorage
from alliance_platform.storage.async_uploads.storage.s3 import S3AsyncUploadStorage
from tests.testapp.models import CloudDocument


@pytest.fixture
def filesystem_only(monkeypatch):
    """CloudDocument's fields switched to the filesystem default storage: nothing needs CORS rules."""
    from django.core.files.storage import default_storage

    for name in ("file", "image"):
        monkeypatch.setattr(CloudDocument._meta.get_field(name), "storage", default_storage)


def s3(**options) -> S3AsyncUploadStorage:
    return S3AsyncUploadStorage(**{"bucket_name": "uploads", "region_name": "eu-west-1", **options})


def check_ids() -> list[str]:
    return [message.id for message in checks.check_storage_configuration()]


@pytest.mark.parametrize(
    "origin",
    ["https://www.example.com", "http://127.0.0.1:8000", "http://[::1]:8000", "*"],
)
def test_origins_are_accepted_as_browsers_send_them(origin):
    assert validate_origin(origin) == origin


@pytest.mark.parametrize(
    "origin",
    [
        "www.example.com",
        "https://www.example.com/",
        "https://www.example.com/app",
        "https://www.example.com?x=1",
        "ftp://www.example.com",
        "https://user:pw@www.example.com",
        "https://www.example.com:99999",
        "",
    ],
)
def test_anything_but_an_origin_is_refused(origin):
    with pytest.raises(ValueError):
        validate_origin(origin)


def test_command_without_origin_explains_what_to_pass(settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {}}
    with pytest.raises(CommandError, match="--origin"):
        call_command("async_uploads_cors")


def test_command_refuses_a_url_with_a_path():
    with pytest.raises(CommandError, match="not an origin"):
        call_command("async_uploads_cors", "--origin", "https://www.example.com/app/")


def test_command_says_no_rules_are_needed_on_the_filesystem(filesystem_only):
    out = io.StringIO()
    call_command("async_uploads_cors", "--origin", "https://www.example.com", stdout=out)
    assert "no CORS rules are needed" in out.getvalue()


def test_storages_sharing_a_bucket_are_one_target(monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "storage", s3())
    monkeypatch.setattr(CloudDocument._meta.get_field("image"), "storage", s3())
    assert [target.description for target in cors_targets()] == ["S3 bucket 'uploads' (AWS region eu-west-1)"]
    monkeypatch.setattr(CloudDocument._meta.get_field("image"), "storage", s3(bucket_name="images"))
    assert len(cors_targets()) == 2


def test_cors_warning_until_origins_are_configured(settings, monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "storage", s3())
    settings.ALLIANCE_PLATFORM = {"STORAGE": {}}
    assert "alliance_platform_storage.W010" in check_ids()
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CORS_ORIGINS": ["https://www.example.com"]}}
    assert "alliance_platform_storage.W010" not in check_ids()


def test_no_cors_warning_without_cloud_storage(settings, filesystem_only):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {}}
    assert "alliance_platform_storage.W010" not in check_ids()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"bucket_name": None}, "alliance_platform_storage.W011"),
        ({"region_name": None}, "alliance_platform_storage.W012"),
        ({"signature_version": "s3"}, "alliance_platform_storage.W013"),
    ],
)
def test_incomplete_s3_settings_are_reported_once(settings, monkeypatch, options, expected):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CORS_ORIGINS": ["https://www.example.com"]}}
    shared = s3(**options)
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "storage", shared)
    monkeypatch.setattr(CloudDocument._meta.get_field("image"), "storage", shared)
    assert check_ids() == [expected]


def test_complete_s3_settings_give_no_warning(settings, monkeypatch):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CORS_ORIGINS": ["https://www.example.com"]}}
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "storage", s3())
    monkeypatch.setattr(CloudDocument._meta.get_field("image"), "storage", s3(endpoint_url="http://127.0.0.1:9000"))
    assert check_ids() == []


def gcs(**options) -> GoogleCloudAsyncUploadStorage:
    from tests.gcs.conftest import SigningCredentials

    return GoogleCloudAsyncUploadStorage(**{"bucket_name": "uploads", "credentials": SigningCredentials(), **options})


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"bucket_name": None}, "alliance_platform_storage.W030"),
        ({"credentials": None}, "alliance_platform_storage.W032"),
    ],
)
def test_incomplete_gcs_settings_are_reported_once(settings, monkeypatch, options, expected):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CORS_ORIGINS": ["https://www.example.com"]}}
    shared = gcs(**options)
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "storage", shared)
    monkeypatch.setattr(CloudDocument._meta.get_field("image"), "storage", shared)
    assert check_ids() == [expected]


def test_a_gcs_bucket_is_one_cors_target_for_every_field_on_it(monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "storage", gcs())
    monkeypatch.setattr(CloudDocument._meta.get_field("image"), "storage", gcs())
    assert [target.description for target in cors_targets()] == [
        "GCS bucket 'uploads' (https://storage.googleapis.com)"
    ]


def azure(**options) -> AzureAsyncUploadStorage:
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;"
    )
    return AzureAsyncUploadStorage(**{"connection_string": connection, "azure_container": "uploads", **options})


@pytest.mark.parametrize(
    ("make_storage", "params", "unsupported"),
    [
        (s3, {"ResponseContentType": "application/pdf", "ResponseCacheControl": "no-cache"}, []),
        (s3, {"ResponseContentTypo": "application/pdf"}, ["ResponseContentTypo"]),
        (s3, {"Bucket": "elsewhere"}, ["Bucket"]),
        (azure, {"content_type": "application/pdf", "ResponseCacheControl": "no-cache"}, []),
        (azure, {"content_typo": "application/pdf"}, ["content_typo"]),
        (gcs, {"ResponseContentType": "application/pdf", "response_disposition": "inline"}, []),
        (gcs, {"ResponseCacheControl": "no-cache"}, ["ResponseCacheControl"]),
    ],
)
def test_download_params_a_storage_would_refuse_are_a_startup_error(monkeypatch, make_storage, params, unsupported):
    field = CloudDocument._meta.get_field("file")
    monkeypatch.setattr(field, "storage", make_storage())
    monkeypatch.setattr(field, "download_params", params)
    errors = [error for error in field.check() if error.id == "alliance_platform_storage.E001"]
    assert [name for error in errors for name in unsupported if name in error.msg] == unsupported
    assert len(errors) == (1 if unsupported else 0)


def test_registry_urls_are_checked_only_where_urls_are_served(settings):
    """Without ROOT_URLCONF there are no URLs to include: the check passes instead of raising AttributeError."""
    assert checks.check_registry_urls() == []
    del settings.ROOT_URLCONF
    assert checks.check_registry_urls() == []
    settings.ROOT_URLCONF = "tests.drf.urls"  # serves the API but not the endpoints of the registry
    assert {problem.id for problem in checks.check_registry_urls()} == {"alliance_platform_storage.W001"}


def test_registry_url_hint_is_python_to_paste(settings):
    """The hint names the registry's import and the urlpatterns entry; the entry, pasted, serves the endpoints."""
    from django.urls import include, path

    from alliance_platform.storage.async_uploads.registry import default_async_field_registry
    from tests.testapp.models import other_registry

    settings.ROOT_URLCONF = "tests.drf.urls"
    hints = {problem.hint for problem in checks.check_registry_urls()}
    default_hint = (
        "Add to your URLconf: `from alliance_platform.storage.async_uploads.registry import "
        'default_async_field_registry` and, in urlpatterns, `path("async-uploads/", '
        "include(default_async_field_registry.get_url_patterns())),` (with `from django.urls import include, path`)."
    )
    other_hint = (
        "Add to your URLconf: `from tests.testapp.models import other_registry` and, in urlpatterns, "
        '`path("other-async-uploads/", include(other_registry.get_url_patterns())),` '
        "(with `from django.urls import include, path`)."
    )
    assert hints == {default_hint, other_hint}
    names = {
        "include": include,
        "path": path,
        "default_async_field_registry": default_async_field_registry,
        "other_registry": other_registry,
    }
    pasted = types.ModuleType("pasted_urls")
    pasted.urlpatterns = [eval(hint.split("`")[3].rstrip(","), names) for hint in hints]  # noqa: S307 - our text
    settings.ROOT_URLCONF = pasted
    assert checks.check_registry_urls() == [], "with the pasted entries, the warnings are gone"
    assert other_registry.reverse("generate_upload_url") == "/other-async-uploads/generate-upload-url/"
