"""Nested and many=True payloads: every item is validated against its own record, and nothing learnt from one item
(dimensions, the record it edits) reaches another, although DRF uses one field object for all of them."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
import pytest

from gallery.models import Album, Photo
from tests.conftest import png_bytes, read

pytestmark = pytest.mark.django_db(transaction=True)

ALBUMS = "/test-api/albums/"


def photos_url(album: Album) -> str:
    return f"{ALBUMS}{album.pk}/photos/"


def item_errors(errors, index: int) -> dict:
    """One item's errors, whether DRF lists them per item or (newer setting) keys them by index."""
    if isinstance(errors, dict):
        return errors.get(str(index), errors.get(index, {}))
    return errors[index]


def image_value(uploaded, name: str = "p.png") -> dict:
    return {"key": uploaded.key, "name": name}


@pytest.fixture
def album() -> Album:
    album = Album.objects.create(name="Holiday")
    for caption, colour in (("first", "red"), ("second", "blue")):
        key = default_storage.save(f"photos/{caption}.png", ContentFile(png_bytes(10, 10, colour)))
        Photo.objects.create(album=album, caption=caption, image=key)
    return album


def photo(album: Album, caption: str) -> Photo:
    return album.photos.get(caption=caption)


def test_nested_create_gives_each_photo_its_own_dimensions(api, upload):
    wide = upload(api, Photo, "image", "wide.png", png_bytes(80, 20))
    tall = upload(api, Photo, "image", "tall.png", png_bytes(15, 60))
    payload = {
        "name": "New",
        "photos": [
            {"caption": "wide", "image": {**image_value(wide, "wide.png"), "width": 1, "height": 1}},
            {"caption": "tall", "image": image_value(tall, "tall.png")},
        ],
    }

    response = api.post(ALBUMS, payload, format="json")

    assert response.status_code == 201, response.content
    album = Album.objects.get()
    assert {(p.caption, p.width, p.height) for p in album.photos.all()} == {("wide", 80, 20), ("tall", 15, 60)}
    assert read(photo(album, "wide").image.name) == png_bytes(80, 20)
    assert read(photo(album, "tall").image.name) == png_bytes(15, 60)
    by_caption = {p["caption"]: p for p in response.json()["photos"]}
    assert by_caption["wide"]["image"]["key"] == photo(album, "wide").image.name


def test_nested_create_reusing_one_upload_for_two_items_is_400(api, upload):
    shared = upload(api, Photo, "image", "shared.png", png_bytes(30, 30))
    payload = {
        "name": "Twice",
        "photos": [
            {"caption": "a", "image": image_value(shared)},
            {"caption": "b", "image": image_value(shared)},
        ],
    }

    response = api.post(ALBUMS, payload, format="json")

    assert response.status_code == 400, response.content
    for index in (0, 1):
        assert response.data["photos"][index]["image"][0].code == "duplicate"
    assert not Album.objects.exists() and not Photo.objects.exists()
    assert default_storage.exists(shared.key), "the upload stays usable for a corrected request"


def test_nested_update_checks_each_item_against_its_own_photo(api, album):
    first, second = photo(album, "first"), photo(album, "second")
    payload = {
        "photos": [
            {"id": first.pk, "image": {"key": first.image.name, "name": "first.png"}},
            {"id": second.pk, "image": {"key": first.image.name, "name": "first.png"}},  # the first photo's file
        ]
    }

    response = api.patch(f"{ALBUMS}{album.pk}/", payload, format="json")

    assert response.status_code == 400, response.content
    assert item_errors(response.data["photos"], 0) == {}
    assert item_errors(response.data["photos"], 1)["image"][0].code == "not_current"
    second.refresh_from_db()
    assert second.image.name == "photos/second.png"


def test_nested_update_replaces_one_photo_and_keeps_the_other(api, album, upload):
    first, second = photo(album, "first"), photo(album, "second")
    new = upload(api, Photo, "image", "new.png", png_bytes(44, 33), instanceId=str(second.pk))
    payload = {
        "photos": [
            {"id": first.pk, "image": {"key": first.image.name, "name": "first.png"}},
            {"id": second.pk, "image": image_value(new, "new.png")},
        ]
    }

    response = api.patch(f"{ALBUMS}{album.pk}/", payload, format="json")

    assert response.status_code == 200, response.content
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.image.name == "photos/first.png" and first.width is None, "unchanged, nothing re-read"
    assert second.image.name.startswith("photos/new") and (second.width, second.height) == (44, 33)
    assert read(second.image.name) == png_bytes(44, 33)


def test_nested_item_for_a_photo_of_another_album_is_treated_as_new(api, album):
    elsewhere = Album.objects.create(name="Other")
    stranger = Photo.objects.create(album=elsewhere, image=default_storage.save("photos/x.png", ContentFile(b"x")))
    payload = {"photos": [{"id": stranger.pk, "image": {"key": stranger.image.name, "name": "x.png"}}]}
    response = api.patch(f"{ALBUMS}{album.pk}/", payload, format="json")
    assert response.status_code == 400, response.content
    assert item_errors(response.data["photos"], 0)["image"][0].code == "not_current"


def test_many_create_gives_each_item_its_own_dimensions(api, album, upload):
    small = upload(api, Photo, "image", "small.png", png_bytes(3, 4))
    large = upload(api, Photo, "image", "large.png", png_bytes(90, 70))
    payload = [{"caption": "small", "image": image_value(small)}, {"caption": "large", "image": image_value(large)}]

    response = api.post(photos_url(album), payload, format="json")

    assert response.status_code == 201, response.content
    assert (photo(album, "small").width, photo(album, "small").height) == (3, 4)
    assert (photo(album, "large").width, photo(album, "large").height) == (90, 70)
    assert [item["image"]["key"] for item in response.json()] == [
        photo(album, "small").image.name,
        photo(album, "large").image.name,
    ]


def test_many_create_reusing_a_key_is_400(api, album, upload):
    shared = upload(api, Photo, "image", "shared.png", png_bytes())
    payload = [{"caption": "a", "image": image_value(shared)}, {"caption": "b", "image": image_value(shared)}]
    response = api.post(photos_url(album), payload, format="json")
    assert response.status_code == 400, response.content
    assert item_errors(response.data, 1)["image"][0].code == "duplicate"
    assert album.photos.count() == 2


def test_bulk_update_matches_each_item_with_its_own_record(api, album, upload):
    first, second = photo(album, "first"), photo(album, "second")
    new = upload(api, Photo, "image", "new.png", png_bytes(21, 12), instanceId=str(first.pk))
    stolen = [
        {"id": first.pk, "image": image_value(new, "new.png")},
        {"id": second.pk, "image": {"key": first.image.name, "name": "first.png"}},
    ]

    refused = api.patch(photos_url(album), stolen, format="json")

    assert refused.status_code == 400, refused.content
    assert item_errors(refused.data, 0) == {}
    assert item_errors(refused.data, 1)["image"][0].code == "not_current"

    kept = [
        {"id": first.pk, "image": image_value(new, "new.png")},
        {"id": second.pk, "image": {"key": second.image.name, "name": "second.png"}},
    ]
    accepted = api.patch(photos_url(album), kept, format="json")

    assert accepted.status_code == 200, accepted.content
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.image.name.startswith("photos/new") and (first.width, first.height) == (21, 12)
    assert second.image.name == "photos/second.png" and second.width is None
