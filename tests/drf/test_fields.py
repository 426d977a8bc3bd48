"""The serializer fields as DRF sees them: mapping, configuration, representation, no state between calls."""

from __future__ import annotations

import copy
import hashlib
import json

from django.core.exceptions import ImproperlyConfigured
import pytest
from rest_framework import serializers
from rest_framework.serializers import ModelSerializer

from alliance_platform.storage.async_uploads.input_data import AsyncFileInputData
from alliance_platform.storage.async_uploads.requester import bind_request
from alliance_platform.storage.async_uploads.rest_framework import AsyncFileField, AsyncImageField
from gallery.api import DocumentSerializer
from gallery.models import Document, Photo
from tests.conftest import PDF_BYTES, png_bytes, request_for
from tests.drf.api import PhotoSerializer

pytestmark = pytest.mark.django_db


# The example from the documentation our users follow, character for character.
DOCUMENTED_EXAMPLE = """
from alliance_platform.storage.async_uploads.rest_framework import AsyncFileField
from alliance_platform.storage.async_uploads.rest_framework import AsyncImageField
import alliance_platform.storage.async_uploads.models as async_file_fields

class XenopusFrogAppModelSerializer(ModelSerializer):
    serializer_field_mapping = {
        **ModelSerializer.serializer_field_mapping,
        async_file_fields.AsyncFileField: AsyncFileField,
        async_file_fields.AsyncImageField: AsyncImageField,
    }
"""


def test_the_documented_base_serializer_maps_the_model_fields():
    namespace = {"ModelSerializer": ModelSerializer}
    exec(DOCUMENTED_EXAMPLE, namespace)  # noqa: S102 - a fixed snippet, run to prove it works unchanged
    XenopusFrogAppModelSerializer = namespace["XenopusFrogAppModelSerializer"]  # noqa: N806

    class DocumentFrogSerializer(XenopusFrogAppModelSerializer):
        class Meta:
            model = Document
            fields = ["title", "file", "image"]

    fields = DocumentFrogSerializer().fields
    assert type(fields["file"]) is AsyncFileField
    assert type(fields["image"]) is AsyncImageField
    assert fields["file"].required and not fields["file"].allow_null
    assert not fields["image"].required and fields["image"].allow_null, "blank=True: null clears the image"
    assert fields["file"].max_length == 500


def test_a_plain_serializer_takes_the_model_field_explicitly(logged_in, upload, django_capture_on_commit_callbacks):
    model_field = Document._meta.get_field("file")

    class ReplaceFileSerializer(serializers.Serializer):
        file = AsyncFileField(async_field=model_field)

    key = upload(logged_in, Document, "file", "report.pdf", PDF_BYTES).key
    serializer = ReplaceFileSerializer(
        data={"file": {"key": key, "name": "report.pdf"}}, context={"request": request_for(logged_in)}
    )
    assert serializer.fields["file"].model_field is model_field
    assert serializer.is_valid(), serializer.errors
    doc = Document(title="T")
    model_field.save_form_data(doc, serializer.validated_data["file"])
    with django_capture_on_commit_callbacks(execute=True):
        doc.save()
    doc.refresh_from_db()
    assert doc.file.name.startswith("documents/report")


def test_a_field_without_a_model_field_is_a_configuration_error():
    class Broken(serializers.Serializer):
        file = AsyncFileField()

    with pytest.raises(ImproperlyConfigured, match="async_field="):
        Broken().fields  # noqa: B018 - binding happens when the fields are built


def test_representation_of_missing_and_unsaved_values():
    field = DocumentSerializer().fields["file"]
    assert field.to_representation(Document().file) is None
    assert field.to_representation(AsyncFileInputData(key="async-temp-files/x-a.pdf", name="a.pdf")) == {
        "key": "async-temp-files/x-a.pdf",
        "name": "a.pdf",
        "url": None,
    }


def test_the_browsable_api_form_shows_the_value_as_json(logged_in):
    doc = Document.objects.create(title="T", file="documents/a.pdf")
    bound = DocumentSerializer(doc)["file"].as_form_field()
    assert json.loads(str(bound.value)) == {
        "key": "documents/a.pdf",
        "name": "a.pdf",
        "url": f"/async-uploads/download-file/?field_id={doc._meta.get_field('file').async_field_id}&instance_id={doc.pk}&_={hashlib.shake_256(b'documents/a.pdf').hexdigest(8)}",
    }


def test_validation_leaves_no_state_on_the_shared_field(logged_in, upload):
    """One field object serves every item of a list; after validating, it must be exactly as before."""
    wide = upload(logged_in, Photo, "image", "wide.png", png_bytes(80, 20)).key
    tall = upload(logged_in, Photo, "image", "tall.png", png_bytes(15, 60)).key
    serializer = PhotoSerializer(
        data=[{"image": {"key": wide, "name": "w.png"}}, {"image": {"key": tall, "name": "t.png"}}],
        many=True,
        context={"request": request_for(logged_in)},
    )
    shared_field = serializer.child.fields["image"]
    shared_field.validators  # noqa: B018 - DRF builds this list on first use; it is configuration, not state
    before = copy.copy(vars(shared_field))

    assert serializer.is_valid(), serializer.errors

    assert vars(shared_field) == before
    assert [(item["image"].width, item["image"].height) for item in serializer.validated_data] == [(80, 20), (15, 60)]


def test_without_a_request_in_the_context_the_middleware_bound_request_is_used(logged_in, upload):
    key = upload(logged_in, Document, "file", "report.pdf", PDF_BYTES).key
    with bind_request(request_for(logged_in)):
        serializer = DocumentSerializer(data={"title": "T", "file": {"key": key, "name": "report.pdf"}})
        assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["file"] == AsyncFileInputData(key=key, name="report.pdf")


def test_the_validated_value_is_the_servers_reading(logged_in, upload):
    key = upload(logged_in, Document, "image", "pic.png", png_bytes(7, 9)).key
    field = DocumentSerializer(context={"request": request_for(logged_in)}).fields["image"]
    value = field.run_validation({"key": key, "name": "renamed-by-client.png", "width": 1, "height": 2})
    assert value == AsyncFileInputData(key=key, name="pic.png", width=7, height=9)


def test_assigning_the_validated_value_to_a_new_record_keeps_name_and_dimensions(logged_in, upload):
    key = upload(logged_in, Document, "image", "pic.png", png_bytes(7, 9)).key
    value = AsyncFileInputData(key=key, name="pic.png", width=7, height=9)
    doc = Document(title="T", file="documents/x.pdf", image=value)
    assert doc.image.name == key
    assert (doc.image_width, doc.image_height) == (7, 9)


def test_data_of_an_invalid_serializer_renders_the_submitted_values(logged_in):
    """Browsable API forms and error pages show ``serializer.data`` after errors; it must stay plain data."""
    from rest_framework.renderers import JSONRenderer

    submitted = {"key": "async-temp-files/2020/01/01/x-a.pdf", "name": "a.pdf"}
    serializer = DocumentSerializer(data={"title": "T", "file": submitted}, context={"request": request_for(logged_in)})
    assert not serializer.is_valid()
    assert json.loads(JSONRenderer().render(serializer.data))["file"] == submitted
