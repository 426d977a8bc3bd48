"""Planning and submitting uploads for the test model ``CloudDocument``, whose storage each backend's tests choose
(tests/s3, tests/azure): the same form and steps whatever the backend."""

from __future__ import annotations

import json

from django import forms
from django.test import Client

from alliance_platform.storage.async_uploads.requester import bind_request
from tests.conftest import request_for
from tests.testapp.models import CloudDocument

PLAN_URL = "/async-uploads/generate-upload-url/"


class CloudDocumentForm(forms.ModelForm):
    class Meta:
        model = CloudDocument
        fields = ["title", "file", "image"]


def plan(client: Client, filename: str, size: int, field: str = "file", **extra) -> dict:
    field_id = CloudDocument._meta.get_field(field).async_field_id
    response = client.post(PLAN_URL, {"fieldId": field_id, "filename": filename, "size": size, **extra})
    assert response.status_code == 200, response.content
    return response.json()


def submit(client: Client, instance=None, **values) -> CloudDocumentForm:
    """Validate and save the form as ``client``'s user would submit it."""
    data = {"title": "t", **{name: json.dumps(value) for name, value in values.items()}}
    with bind_request(request_for(client)):
        form = CloudDocumentForm(data=data, instance=instance)
        if form.is_valid():
            form.save()
    return form
