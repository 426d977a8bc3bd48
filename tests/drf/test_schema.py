"""drf-spectacular describes the fields as the object they exchange."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from drf_spectacular.validation import validate_schema
import pytest


@pytest.fixture
def schema(settings):
    settings.REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    from gallery.api import router

    with patched_settings({"COMPONENT_SPLIT_REQUEST": True}):
        generator = SchemaGenerator(patterns=[path("api/", include(router.urls))])
        generated = generator.get_schema(request=None, public=True)
    validate_schema(generated)
    return generated["components"]["schemas"]


def test_response_schema_is_key_name_url(schema):
    document = schema["Document"]["properties"]
    assert document["file"]["type"] == "object"
    assert set(document["file"]["properties"]) == {"key", "name", "url"}
    assert document["file"]["required"] == ["key", "name", "url"]
    assert document["image"]["nullable"] is True, "a blank image is null"
    assert document["image_width"]["readOnly"] is True


def test_request_schema_is_key_name_and_image_hints(schema):
    request = schema["DocumentRequest"]
    assert "file" in request["required"] and "image" not in request["required"]
    file_schema, image_schema = request["properties"]["file"], request["properties"]["image"]
    assert file_schema["required"] == ["key", "name"]
    assert file_schema["additionalProperties"] is False
    assert set(file_schema["properties"]) == {"key", "name", "url"}
    assert set(image_schema["properties"]) == {"key", "name", "url", "width", "height"}


def test_a_list_of_uploads_is_an_array_of_the_upload_object(settings):
    settings.REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    from .api import AlbumUpload

    with patched_settings({"COMPONENT_SPLIT_REQUEST": True}):
        generator = SchemaGenerator(patterns=[path("albums/", AlbumUpload.as_view())])
        generated = generator.get_schema(request=None, public=True)
    validate_schema(generated)
    schemas = generated["components"]["schemas"]

    request = schemas["AlbumUploadRequest"]["properties"]["photos"]
    assert request["type"] == "array" and request["maxItems"] == 3
    assert request["items"]["required"] == ["key", "name"]
    assert set(request["items"]["properties"]) == {"key", "name", "url", "width", "height"}
    response = schemas["AlbumUpload"]["properties"]["photos"]
    assert response["type"] == "array"
    assert response["items"]["required"] == ["key", "name", "url"]
