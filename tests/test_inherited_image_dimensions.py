"""Image dimensions on models that inherit their image field: a multi-table-inheritance child and a proxy.

Django fills ``width_field``/``height_field`` when a record is built from a ``post_init`` signal it connects for
the model that declares the field only, so a child's (or proxy's) records built with the upload in their
constructor (as DRF's ``ModelSerializer.create`` builds them) used to keep ``None``.
"""

from __future__ import annotations

import json

from django import forms
import pytest

from alliance_platform.storage.async_uploads.forms import AsyncImageField as AsyncImageFormField
from alliance_platform.storage.async_uploads.input_data import AsyncFileInputData
from alliance_platform.storage.async_uploads.requester import bind_request, current_requester
from alliance_platform.storage.async_uploads.verification import VerificationContext, verify_submission
from tests.conftest import png_bytes, request_for
from tests.testapp.models import CaptionedPicture, Picture, PictureProxy

pytestmark = pytest.mark.django_db(transaction=True)


def uploaded_key(client, upload, model, width: int, height: int) -> str:
    done = upload(client, model, "image", "photo.png", png_bytes(width, height))
    assert done.put_status == 201
    return done.key


def verified(client, model, key: str) -> AsyncFileInputData:
    """What a form or serializer field hands to the model: the server's reading of the upload."""
    field = model._meta.get_field("image")
    with bind_request(request_for(client)):
        context = VerificationContext(requester=current_requester(), instance=None, current_key=None)
        return verify_submission(field, AsyncFileInputData(key=key, name="photo.png"), context)


@pytest.mark.parametrize("model", [Picture, CaptionedPicture, PictureProxy], ids=["parent", "mti-child", "proxy"])
def test_dimensions_set_when_the_record_is_built_with_the_upload(client, upload, model):
    data = verified(client, model, uploaded_key(client, upload, model, 41, 29))
    record = model.objects.create(image=data)
    assert (record.width, record.height) == (41, 29)
    stored = Picture.objects.get(pk=record.pk)
    assert stored.image.name == "pictures/photo.png"
    assert (stored.width, stored.height) == (41, 29)


class CaptionedPictureForm(forms.ModelForm):
    class Meta:
        model = CaptionedPicture
        fields = ["caption", "image"]


def test_dimensions_set_through_a_model_form_on_the_child(client, upload):
    key = uploaded_key(client, upload, CaptionedPicture, 33, 17)
    with bind_request(request_for(client)):
        form = CaptionedPictureForm(data={"caption": "c", "image": json.dumps({"key": key, "name": "photo.png"})})
        assert isinstance(form.fields["image"], AsyncImageFormField)
        assert form.is_valid(), form.errors
        record = form.save()
    record.refresh_from_db()
    assert (record.width, record.height) == (33, 17)


def test_replacing_the_image_of_a_child_updates_its_dimensions(client, upload):
    first = verified(client, CaptionedPicture, uploaded_key(client, upload, CaptionedPicture, 10, 20))
    record = CaptionedPicture.objects.create(image=first, caption="c")
    record = CaptionedPicture.objects.get(pk=record.pk)
    second = verified(client, CaptionedPicture, uploaded_key(client, upload, CaptionedPicture, 64, 48))
    record.image = second
    record.save()
    record = CaptionedPicture.objects.get(pk=record.pk)
    assert (record.width, record.height) == (64, 48)


def test_loading_a_child_keeps_its_stored_dimensions(client, upload):
    data = verified(client, CaptionedPicture, uploaded_key(client, upload, CaptionedPicture, 12, 34))
    pk = CaptionedPicture.objects.create(image=data).pk
    assert (CaptionedPicture.objects.get(pk=pk).width, CaptionedPicture.objects.get(pk=pk).height) == (12, 34)
