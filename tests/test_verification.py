"""Verification through a plain ModelForm: real type by content, server-read dimensions, who may submit."""

from __future__ import annotations

import json

from django import forms
from django.core.files.storage import default_storage
import pytest

from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.requester import bind_request
from alliance_platform.storage.async_uploads.temp_files import PLANNED_BEFORE_UPGRADE
from tests.conftest import PDF_BYTES, png_bytes, request_for
from tests.testapp.models import Attachment, Avatar

pytestmark = pytest.mark.django_db(transaction=True)


class AttachmentForm(forms.ModelForm):
    class Meta:
        model = Attachment
        fields = ["file"]


class AvatarForm(forms.ModelForm):
    class Meta:
        model = Avatar
        fields = ["image"]


def anonymous_upload(client, model, field, filename, content):
    registry_url = model._meta.get_field(field).async_field_registry.reverse("generate_upload_url")
    plan = client.post(
        registry_url,
        {"fieldId": model._meta.get_field(field).async_field_id, "filename": filename, "size": len(content)},
    ).json()
    put = client.put(plan["uploadUrl"]["url"], content, content_type="application/octet-stream")
    assert put.status_code == 201
    return plan["key"]


def submit(form_class, client, key, name, **extra):
    data = {"file" if form_class is AttachmentForm else "image": json.dumps({"key": key, "name": name, **extra})}
    with bind_request(request_for(client)):
        form = form_class(data=data)
        valid = form.is_valid()
        instance = form.save() if valid else None
    return form, instance


def test_png_renamed_pdf_is_refused_where_only_pdfs_are_allowed(client):
    key = anonymous_upload(client, Attachment, "file", "invoice.pdf", png_bytes())
    form, _ = submit(AttachmentForm, client, key, "invoice.pdf")
    assert form.errors.as_data()["file"][0].code == "content_mismatch"
    assert not default_storage.exists(key), "a refused upload is deleted"
    assert not AsyncTempFile.objects.filter(key=key).exists()


def test_a_real_pdf_is_accepted_and_promoted(client):
    key = anonymous_upload(client, Attachment, "file", "invoice.pdf", PDF_BYTES)
    form, instance = submit(AttachmentForm, client, key, "invoice.pdf")
    assert form.is_valid(), form.errors
    assert instance.file.name == "attachments/invoice.pdf"


def test_image_dimensions_come_from_the_server_not_the_client(client):
    key = anonymous_upload(client, Avatar, "image", "me.png", png_bytes(41, 29))
    form, instance = submit(AvatarForm, client, key, "me.png", width=9999, height=1)
    assert form.is_valid(), form.errors
    instance.refresh_from_db()
    assert (instance.width, instance.height) == (41, 29)
    assert instance.image.name == "avatars/me.png"


def test_a_pdf_renamed_png_is_not_an_image(client):
    key = anonymous_upload(client, Avatar, "image", "me.png", PDF_BYTES)
    form, _ = submit(AvatarForm, client, key, "me.png")
    assert form.errors.as_data()["image"][0].code == "content_mismatch"
    assert form.errors["image"] == ["The content of “me.png” is not a PNG image (it looks like a PDF document)."]


def test_an_image_pillow_cannot_read_is_refused(client):
    broken = png_bytes()[:40]
    key = anonymous_upload(client, Avatar, "image", "me.png", broken)
    form, _ = submit(AvatarForm, client, key, "me.png")
    assert form.errors.as_data()["image"][0].code == "invalid_image"


def test_another_sessions_upload_is_refused(client):
    from django.test import Client

    key = anonymous_upload(client, Attachment, "file", "invoice.pdf", PDF_BYTES)
    stranger = Client()
    assert stranger.session.session_key != client.session.session_key
    form, _ = submit(AttachmentForm, stranger, key, "invoice.pdf")
    assert form.errors.as_data()["file"][0].code == "unknown_upload"
    assert default_storage.exists(key), "someone else's upload is left alone"


def test_an_upload_planned_before_the_upgrade_goes_to_its_first_submitter_only(client):
    """Converted from 0.0.5, which recorded no owner: the first browser to submit it becomes its owner; after it
    is promoted, nobody else can submit the key (not even to get a copy of the promoted file)."""
    from django.test import Client

    key = anonymous_upload(client, Attachment, "file", "invoice.pdf", PDF_BYTES)
    AsyncTempFile.objects.filter(key=key).update(session_fingerprint=PLANNED_BEFORE_UPGRADE)
    first, second = Client(), Client()
    for each in (first, second):
        each.get("/")  # a session of its own
    form, instance = submit(AttachmentForm, first, key, "invoice.pdf")
    assert form.is_valid(), form.errors
    row = AsyncTempFile.objects.get(key=key)
    assert row.session_fingerprint not in ("", PLANNED_BEFORE_UPGRADE) and row.moved_to_location
    form, _ = submit(AttachmentForm, second, key, "invoice.pdf")
    assert form.errors.as_data()["file"][0].code == "unknown_upload"
    # A converted row promoted by code (never verified, so never adopted) is not submittable by anyone.
    AsyncTempFile.objects.filter(key=key).update(session_fingerprint=PLANNED_BEFORE_UPGRADE)
    form, _ = submit(AttachmentForm, second, key, "invoice.pdf")
    assert form.errors.as_data()["file"][0].code == "unknown_upload"
    instance.refresh_from_db()
    with instance.file.open("rb") as f:
        assert f.read() == PDF_BYTES


def test_without_a_bound_request_new_uploads_are_refused(client):
    key = anonymous_upload(client, Attachment, "file", "invoice.pdf", PDF_BYTES)
    form = AttachmentForm(data={"file": json.dumps({"key": key, "name": "invoice.pdf"})})
    assert form.errors.as_data()["file"][0].code == "no_requester"


def test_oversized_object_is_refused_at_verification_and_deleted(client, settings):
    key = anonymous_upload(client, Attachment, "file", "invoice.pdf", PDF_BYTES)
    with default_storage.open(key, "ab") as f:  # the object grew after the upload endpoint checked it
        f.write(b"0" * (1024 * 1024))
    form, _ = submit(AttachmentForm, client, key, "invoice.pdf")
    assert form.errors.as_data()["file"][0].code == "too_large"
    assert not default_storage.exists(key)
