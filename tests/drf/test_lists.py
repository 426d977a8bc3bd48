"""A list of uploads in one serializer field (``AsyncFileListField``): one new Photo per file, each item checked as a
single upload would be, failures reported by position, the list's length capped before any upload is read."""

from __future__ import annotations

import json

from django.contrib.auth.models import Permission
import pytest
from rest_framework import serializers

from alliance_platform.storage.async_uploads.rest_framework import AsyncFileListField
from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile
from gallery.models import Album, Photo
from tests.conftest import PDF_BYTES, png_bytes, read, request_for

from .api import PhotoSerializer

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/test-api/albums/from-uploads/"


def value(uploaded, name: str) -> dict:
    return {"key": uploaded.key, "name": name}


@pytest.fixture
def three(api, upload) -> list:
    sizes = [(10, 20), (30, 40), (50, 60)]
    return [
        value(upload(api, Photo, "image", f"p{index}.png", png_bytes(*size)), f"p{index}.png")
        for index, size in enumerate(sizes)
    ]


def test_creates_one_photo_per_upload_with_its_bytes_and_dimensions(api, three):
    response = api.post(URL, {"name": "Trip", "photos": three}, format="json")

    assert response.status_code == 201, response.content
    album = Album.objects.get(name="Trip")
    photos = list(album.photos.order_by("pk"))
    assert [(p.width, p.height) for p in photos] == [(10, 20), (30, 40), (50, 60)]
    for photo, size in zip(photos, [(10, 20), (30, 40), (50, 60)], strict=True):
        assert photo.image.name.startswith("photos/")
        assert read(photo.image.name) == png_bytes(*size)
    rendered = response.json()["photos"]
    assert [item["key"] for item in rendered] == [p.image.name for p in photos]
    assert [item["name"] for item in rendered] == ["p0.png", "p1.png", "p2.png"]
    assert not AsyncTempFile.objects.filter(moved_to_location="").exists(), "every upload was promoted"


def test_an_upload_of_another_user_is_refused_at_its_position(api, three, api_client_for, other_user, upload):
    other_user.user_permissions.add(Permission.objects.get(codename="add_photo"))
    theirs = upload(api_client_for(other_user), Photo, "image", "theirs.png", png_bytes())
    payload = {"name": "Mixed", "photos": [three[0], three[1], value(theirs, "theirs.png")]}

    response = api.post(URL, payload, format="json")

    assert response.status_code == 400, response.content
    assert set(response.json()["photos"]) == {"2"}, "only the third item is wrong"
    assert response.data["photos"][2][0].code == "unknown_upload"
    assert not Album.objects.exists() and not Photo.objects.exists()
    assert AsyncTempFile.objects.filter(key=theirs.key).exists(), "still usable by its owner"


def test_an_item_fails_with_the_message_a_single_upload_gets(api, upload):
    alone = upload(api, Photo, "image", "fake.png", PDF_BYTES)
    listed = upload(api, Photo, "image", "fake.png", PDF_BYTES)
    good = upload(api, Photo, "image", "good.png", png_bytes())
    single = PhotoSerializer(data={"image": value(alone, "fake.png")}, context={"request": request_for(api)})
    assert not single.is_valid()

    response = api.post(
        URL, {"name": "x", "photos": [value(good, "good.png"), value(listed, "fake.png")]}, format="json"
    )

    assert response.status_code == 400, response.content
    assert set(response.data["photos"]) == {1}
    [single_error], [list_error] = single.errors["image"], response.data["photos"][1]
    assert (list_error.code, str(list_error)) == (single_error.code, str(single_error))
    assert str(list_error) == "The content of “fake.png” is not a PNG image (it looks like a PDF document)."


def test_more_files_than_max_files_is_400_before_any_upload_is_read(api, three, upload):
    fourth = value(upload(api, Photo, "image", "p3.png", png_bytes()), "p3.png")

    response = api.post(URL, {"name": "Too many", "photos": [*three, fourth]}, format="json")

    assert response.status_code == 400, response.content
    assert response.data["photos"][0].code == "max_length"
    assert str(response.data["photos"][0]) == "Send at most 3 files."
    assert not AsyncTempFile.objects.exclude(verified_at=None).exists(), "no upload was verified"


def test_the_same_upload_twice_is_refused_at_both_positions(api, three):
    response = api.post(URL, {"name": "Twice", "photos": [three[0], three[0]]}, format="json")

    assert response.status_code == 400, response.content
    assert {index: errors[0].code for index, errors in response.data["photos"].items()} == {
        0: "duplicate",
        1: "duplicate",
    }


@pytest.mark.parametrize(
    "photos, code",
    [
        ("not a list", "not_a_list"),
        ({"key": "k", "name": "n"}, "not_a_list"),
        (42, "not_a_list"),
        ([7], "invalid_shape"),
        ([["a"]], "invalid_shape"),
        ([None], "null"),
        (["{not json"], "invalid_json"),
        ([{"name": "a.png"}], "invalid_shape"),
        ([{"key": "", "name": "a.png"}], "invalid_shape"),
        ([{"key": "async-temp-files/x", "name": "a.png", "extra": 1}], "unknown_keys"),
    ],
)
def test_malformed_lists_and_items_are_400(api, photos, code):
    response = api.post(URL, {"name": "Bad", "photos": photos}, format="json")

    assert response.status_code == 400, response.content
    errors = response.data["photos"]
    error = errors[0] if isinstance(errors, list) else errors[0][0]
    assert error.code == code
    assert not Album.objects.exists()


def test_rendering_the_related_records_lists_their_files(api, three):
    created = api.post(URL, {"name": "Shown", "photos": three}, format="json")
    album = Album.objects.get(pk=created.json()["id"])

    class Shown(serializers.Serializer):
        photos = AsyncFileListField(async_field=Photo._meta.get_field("image"))

    rendered = Shown(album).data["photos"]

    assert [item["key"] for item in rendered] == [p.image.name for p in album.photos.order_by("pk")]


def test_max_files_must_be_positive():
    with pytest.raises(ValueError):
        AsyncFileListField(async_field=Photo._meta.get_field("image"), max_files=0)


def test_a_form_encoded_request_sends_each_item_as_a_json_string(api, three):
    response = api.post(URL, {"name": "Form", "photos": [json.dumps(item) for item in three]})

    assert response.status_code == 201, response.content
    assert Album.objects.get(name="Form").photos.count() == 3
