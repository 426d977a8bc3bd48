"""Model field configuration: kwargs, ids, permissions, deconstruction, storage requirement."""

import hashlib

from django.core.files.storage import FileSystemStorage
from django.db import models
import pytest

from alliance_platform.storage.async_uploads.models import AsyncFileField, AsyncImageField
from alliance_platform.storage.async_uploads.registry import AsyncFieldRegistry, default_async_field_registry
from gallery.models import Document
from tests.testapp.models import Avatar, ShortKey, other_registry


def test_non_async_storage_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="AsyncUploadStorage"):
        AsyncFileField(storage=FileSystemStorage())


def test_field_id_format():
    field = Document._meta.get_field("file")
    label_hash = hashlib.shake_256(b"gallery.Document").hexdigest(8)
    name_hash = hashlib.shake_256(b"file").hexdigest(8)
    assert field.async_field_id == f"{label_hash}.{name_hash}.file"
    assert default_async_field_registry.fields_by_id[field.async_field_id] is field


def test_fields_register_in_their_own_registry():
    field = Avatar._meta.get_field("image")
    assert other_registry.get_field(field.async_field_id) is field
    assert default_async_field_registry.get_field(field.async_field_id) is None
    assert AsyncFieldRegistry.find_field(field.async_field_id) is field


def test_default_permissions_are_djangos_own():
    field = Document._meta.get_field("file")
    assert (field.perm_create, field.perm_update, field.perm_detail) == (
        "gallery.add_document",
        "gallery.change_document",
        "gallery.view_document",
    )


def test_permission_resolver_is_replaceable(settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"RESOLVE_PERM_NAME": lambda model, action, is_global: f"x.{action}"}}
    assert Document._meta.get_field("file").perm_update == "x.update"


def test_none_disables_a_permission():
    assert Avatar._meta.get_field("image").perm_create is None


def test_defaults_and_limits():
    field = Document._meta.get_field("file")
    assert field.max_length == 500
    assert field.max_size_bytes == 10 * 1024 * 1024
    assert ShortKey._meta.get_field("file").max_length == 60
    assert AsyncFileField(max_size=None).max_size_bytes is None
    assert AsyncImageField().file_restrictions == ["image/*"]


def test_deconstruct_uses_the_public_path_and_omits_behaviour_kwargs():
    name, path, args, kwargs = Document._meta.get_field("file").deconstruct()
    assert path == "alliance_platform.storage.async_uploads.models.AsyncFileField"
    assert kwargs == {"upload_to": "documents/"}
    _, path, _, kwargs = ShortKey._meta.get_field("file").deconstruct()
    assert kwargs["max_length"] == 60


def test_abstract_models_register_only_concrete_subclasses():
    class Base(models.Model):
        attachment = AsyncFileField()

        class Meta:
            abstract = True
            app_label = "testapp"

    class Concrete(Base):
        class Meta:
            app_label = "testapp"

    field = Concrete._meta.get_field("attachment")
    assert default_async_field_registry.get_field(field.async_field_id) is field
    assert field.async_field_id.endswith(".attachment")


@pytest.mark.django_db
def test_url_points_at_the_download_endpoint():
    doc = Document.objects.create(title="t", file="documents/a.pdf")
    field_id = Document._meta.get_field("file").async_field_id
    version = hashlib.shake_256(b"documents/a.pdf").hexdigest(8)  # changes when the file does
    assert doc.file.url == f"/async-uploads/download-file/?field_id={field_id}&instance_id={doc.pk}&_={version}"
    doc.file = "documents/b.pdf"
    assert not doc.file.url.endswith(version)


@pytest.mark.django_db
def test_image_dimensions_are_not_read_from_storage_when_loading():
    Document.objects.create(
        title="t", file="documents/a.pdf", image="images/missing.png", image_width=3, image_height=4
    )
    doc = Document.objects.get()
    assert (doc.image_width, doc.image_height) == (3, 4)
