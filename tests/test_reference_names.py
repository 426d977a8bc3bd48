"""The names, messages and conventions a project written for the reference package relies on."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import textwrap
from typing import get_type_hints

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.functional import Promise
import pytest

from alliance_platform.storage import settings as storage_settings_module
from alliance_platform.storage.async_uploads import fields as fields_module
from alliance_platform.storage.async_uploads.input_data import INPUT_MESSAGES, AsyncFileInputData
from alliance_platform.storage.async_uploads.verification import MESSAGES
from gallery.models import Document
from tests.testapp.models import Attachment, Avatar

DOCUMENTED_NAMES = [
    ("alliance_platform.storage.async_uploads.storage.base", "AsyncUploadStorage"),
    ("alliance_platform.storage.async_uploads.storage.s3", "S3AsyncUploadStorage"),
    ("alliance_platform.storage.async_uploads.storage.azure", "AzureAsyncUploadStorage"),
    ("alliance_platform.storage.async_uploads.storage.filesystem", "FileSystemAsyncUploadStorage"),
    ("alliance_platform.storage.staticfiles.storage", "ExcludingManifestStaticFilesStorage"),
    ("alliance_platform.storage.async_uploads.models", "AsyncTempFile"),
    ("alliance_platform.storage.async_uploads.models", "AsyncFileMixin"),
    ("alliance_platform.storage.async_uploads.models", "AsyncFileField"),
    ("alliance_platform.storage.async_uploads.models", "AsyncImageField"),
    ("alliance_platform.storage.async_uploads.rest_framework", "AsyncFileField"),
    ("alliance_platform.storage.async_uploads.rest_framework", "AsyncImageField"),
    ("alliance_platform.storage.async_uploads.forms", "AsyncFileField"),
    ("alliance_platform.storage.async_uploads.forms", "AsyncFileInput"),
    ("alliance_platform.storage.async_uploads.forms", "AsyncFileInputData"),
    ("alliance_platform.storage.async_uploads.forms", "AsyncImageField"),
    ("alliance_platform.storage.async_uploads.forms", "AsyncFileInputDataValidator"),
    ("alliance_platform.storage.async_uploads.forms", "AsyncFileInputDataLengthValidator"),
    ("alliance_platform.storage.async_uploads.views", "GenerateUploadUrlView"),
    ("alliance_platform.storage.async_uploads.views", "DownloadRedirectView"),
    ("alliance_platform.storage.async_uploads.views.filesystem", "FileSystemAsyncStorageUploadView"),
    ("alliance_platform.storage.async_uploads.views.filesystem", "FileSystemAsyncStorageDownloadView"),
    ("alliance_platform.storage.async_uploads.registry", "AsyncFieldRegistry"),
    ("alliance_platform.storage.async_uploads.registry", "default_async_field_registry"),
    ("alliance_platform.storage.settings", "AlliancePlatformStorageSettingsType"),
]


@pytest.mark.parametrize(("module", "name"), DOCUMENTED_NAMES, ids=[f"{m}.{n}" for m, n in DOCUMENTED_NAMES])
def test_documented_name_is_importable(module, name):
    assert getattr(importlib.import_module(module), name) is not None


def test_filesystem_view_names_are_our_views():
    from alliance_platform.storage.async_uploads.views import filesystem

    assert filesystem.FileSystemAsyncStorageUploadView is filesystem.FileSystemUploadView
    assert filesystem.FileSystemAsyncStorageDownloadView is filesystem.FileSystemDownloadView


# AsyncFileMixin


def test_both_model_fields_share_the_mixin():
    from alliance_platform.storage.async_uploads.models import AsyncFileMixin

    assert isinstance(Document._meta.get_field("file"), AsyncFileMixin)
    assert isinstance(Avatar._meta.get_field("image"), AsyncFileMixin)
    assert isinstance(Avatar._meta.get_field("image"), models.ImageField)
    assert not isinstance(Document._meta.get_field("title"), AsyncFileMixin)


def test_non_async_storage_message_keeps_the_reference_text():
    with pytest.raises(ValueError, match="file storage class must extend AsyncUploadStorage"):
        fields_module.AsyncFileField(storage=FileSystemStorage())
    with pytest.raises(ValueError, match="file storage class must extend AsyncUploadStorage"):
        fields_module.AsyncImageField(storage=FileSystemStorage())


# The validators


def test_input_data_validator_refuses_what_is_not_input_data():
    from alliance_platform.storage.async_uploads.forms import AsyncFileInputDataValidator

    with pytest.raises(ValidationError, match="Bad input for file field") as caught:
        AsyncFileInputDataValidator()("whatever.png")
    assert caught.value.code == "invalid_shape"


def test_input_data_validator_reports_the_browsers_error():
    from alliance_platform.storage.async_uploads.forms import AsyncFileInputDataValidator

    with pytest.raises(ValidationError) as caught:
        AsyncFileInputDataValidator()(AsyncFileInputData(key="k", name="n", error="Network down"))
    assert caught.value.messages == ["There was an unexpected error: Network down"]
    assert AsyncFileInputDataValidator()(AsyncFileInputData(key="k", name="n")) is None
    assert AsyncFileInputDataValidator() == AsyncFileInputDataValidator()


def test_length_validator_measures_the_key_against_max_length():
    from alliance_platform.storage.async_uploads.forms import AsyncFileInputDataLengthValidator

    validator = AsyncFileInputDataLengthValidator(10)
    validator(AsyncFileInputData(key="k" * 10, name="n" * 50))
    with pytest.raises(ValidationError, match="Ensure this value has at most 10 characters") as caught:
        validator(AsyncFileInputData(key="k" * 11, name="n"))
    assert caught.value.code == "too_long"
    with pytest.raises(ValidationError):
        validator("s" * 11)
    custom = AsyncFileInputDataLengthValidator(3, message="Too long!")
    with pytest.raises(ValidationError, match="Too long!"):
        custom(AsyncFileInputData(key="abcd", name="n"))


# Messages through forms, DRF and assignment


class AvatarForm(forms.ModelForm):
    class Meta:
        model = Avatar
        fields = ["image"]


def form_error(data: str) -> str:
    form = AvatarForm(data={"image": data})
    assert not form.is_valid()
    return form.errors["image"][0]


@pytest.mark.django_db
def test_form_messages_keep_the_reference_texts(caplog):
    assert form_error("whatever.png").startswith("Bad input for file field")
    assert form_error("[1]").startswith("Bad input for file field")
    assert form_error(json.dumps({"key": "k", "name": "n", "bogus": 1})) == "Invalid input keys received: bogus"
    reported = json.dumps({"key": "k", "name": "n", "error": "Network down"})
    assert form_error(reported) == "There was an unexpected error: Network down"
    with caplog.at_level(logging.WARNING, logger="alliance_platform.storage"):
        refused = form_error(json.dumps({"key": "/storage/test.png", "name": "test.png"}))
    assert refused.startswith("Invalid upload received")
    assert any("/storage/test.png" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_form_refuses_a_key_longer_than_the_field_with_the_length_message():
    long_key = "async-temp-files/" + "a" * 500
    message = form_error(json.dumps({"key": long_key, "name": "a.png"}))
    assert message.startswith("Ensure this value has at most 500 characters")


@pytest.mark.django_db
def test_drf_messages_keep_the_reference_texts():
    from tests.drf.api import AvatarSerializer

    def error(value) -> str:
        serializer = AvatarSerializer(data={"image": value})
        assert not serializer.is_valid()
        return str(serializer.errors["image"][0])

    assert error("whatever.png").startswith("Bad input for file field")
    assert error({"key": "k", "name": "n", "bogus": 1}) == "Invalid input keys received: bogus"
    assert error({"key": "k", "name": "n", "error": "Network down"}) == "There was an unexpected error: Network down"
    assert error({"key": "/storage/test.png", "name": "test.png"}).startswith("Invalid upload received")
    assert error({"key": "async-temp-files/" + "a" * 500, "name": "a.png"}).startswith(
        "Ensure this value has at most 500 characters"
    )


@pytest.mark.django_db
def test_assigning_input_data_with_a_foreign_key_is_refused():
    record = Attachment.objects.create(file="attachments/test.pdf")
    record.file = AsyncFileInputData(key="attachments/test.pdf", name="test.pdf")  # its own key: fine
    record.save()
    with pytest.raises(ValidationError, match="Invalid upload received") as caught:
        record.file = AsyncFileInputData(key="attachments/someone-elses.pdf", name="test.pdf")
    assert "file" in caught.value.message_dict
    with pytest.raises(ValidationError, match="Invalid upload received"):
        Attachment(file=AsyncFileInputData(key="attachments/test.pdf", name="test.pdf"))
    record.file = AsyncFileInputData(key="async-temp-files/2026/01/01/abc-new.pdf", name="new.pdf")
    assert record.file.name == "async-temp-files/2026/01/01/abc-new.pdf"


def test_messages_are_translatable():
    for messages in (MESSAGES, INPUT_MESSAGES):
        for code, message in messages.items():
            assert isinstance(message, Promise), code


# Settings


def test_settings_typed_dict_covers_every_setting():
    from alliance_platform.storage.settings import AlliancePlatformStorageSettingsType

    hints = get_type_hints(AlliancePlatformStorageSettingsType)
    assert set(hints) == set(storage_settings_module.DEFAULTS)
    assert AlliancePlatformStorageSettingsType.__total__ is False
    assert hints["UPLOAD_URL_EXPIRY"] == int | None
    assert hints["DOWNLOAD_URL_EXPIRY"] == int | None


PROJECT_SETTINGS = """
from typing import TypedDict

from alliance_platform.storage.settings import AlliancePlatformStorageSettingsType


class AlliancePlatformSettings(TypedDict):
    CORE: dict
    STORAGE: AlliancePlatformStorageSettingsType


ALLIANCE_PLATFORM: AlliancePlatformSettings = {"CORE": {}, "STORAGE": {"UPLOAD_URL_EXPIRY": 60}}
"""


def test_project_settings_can_declare_the_platform_settings_type(tmp_path, monkeypatch):
    from alliance_platform.storage.settings import AlliancePlatformStorageSettingsType

    (tmp_path / "project_settings_example.py").write_text(PROJECT_SETTINGS)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("project_settings_example")
    try:
        assert get_type_hints(module.AlliancePlatformSettings)["STORAGE"] is AlliancePlatformStorageSettingsType
        assert module.ALLIANCE_PLATFORM["STORAGE"] == {"UPLOAD_URL_EXPIRY": 60}
    finally:
        sys.modules.pop("project_settings_example", None)


# Permission names

FAKE_CORE_AUTH = """
from django.core.exceptions import ImproperlyConfigured

calls = []
configured = True


def default_resolve_perm_name(app_config, model, action, is_global):
    return f"{app_config.label}.{model._meta.model_name}_{action}"


def resolve_perm_name(entity, action, is_global):
    calls.append((entity, action, is_global))
    if not configured:
        raise ImproperlyConfigured("Missing ALLIANCE_PLATFORM settings dict")
    return f"{entity._meta.app_label}.{entity._meta.model_name}_{action}"
"""


@pytest.fixture
def fake_core(tmp_path, monkeypatch):
    """A stand-in for alliance-platform-core's ``alliance_platform.core.auth`` (the package is not a test
    dependency: installed, it would change the default permission names of the whole suite)."""
    package = tmp_path / "alliance_platform" / "core"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "auth.py").write_text(textwrap.dedent(FAKE_CORE_AUTH))
    saved = {
        name: sys.modules.pop(name)
        for name in ("alliance_platform.core", "alliance_platform.core.auth")
        if name in sys.modules
    }
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("alliance_platform.core.auth")
    for name in ("alliance_platform.core", "alliance_platform.core.auth"):
        sys.modules.pop(name, None)
    sys.modules.update(saved)


@pytest.fixture
def no_core(monkeypatch):
    monkeypatch.setitem(sys.modules, "alliance_platform.core", None)
    monkeypatch.setitem(sys.modules, "alliance_platform.core.auth", None)


def test_default_permission_names_come_from_core_when_it_is_installed(fake_core):
    field = Document._meta.get_field("file")
    assert (field.perm_create, field.perm_update, field.perm_detail) == (
        "gallery.document_create",
        "gallery.document_update",
        "gallery.document_detail",
    )
    assert fake_core.calls == [(Document, "create", True), (Document, "update", False), (Document, "detail", False)]


def test_core_without_platform_settings_uses_its_default_naming(fake_core):
    fake_core.configured = False
    assert Document._meta.get_field("file").perm_update == "gallery.document_update"


def test_default_permission_names_are_djangos_without_core(no_core):
    field = Document._meta.get_field("file")
    assert (field.perm_create, field.perm_update, field.perm_detail) == (
        "gallery.add_document",
        "gallery.change_document",
        "gallery.view_document",
    )


def test_django_names_can_be_chosen_even_with_core(fake_core, settings):
    settings.ALLIANCE_PLATFORM = {
        "STORAGE": {"RESOLVE_PERM_NAME": "alliance_platform.storage.auth.django_resolve_perm_name"}
    }
    assert Document._meta.get_field("file").perm_create == "gallery.add_document"
    assert fake_core.calls == []


def test_a_settings_error_other_than_the_missing_dict_is_not_hidden(fake_core, monkeypatch):
    def broken(entity, action, is_global):
        raise ImproperlyConfigured("RESOLVE_PERM_NAME could not be imported")

    monkeypatch.setattr(fake_core, "resolve_perm_name", broken)
    monkeypatch.delattr(fake_core, "default_resolve_perm_name")
    with pytest.raises(ImproperlyConfigured):
        _ = Document._meta.get_field("file").perm_create
