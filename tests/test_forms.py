"""The form field and widget: what they render and how the admin picks them up."""

from __future__ import annotations

import json

from django.contrib import admin
import pytest

from alliance_platform.storage.async_uploads.forms import AsyncFileInput
from gallery.models import Document
from tests.conftest import PDF_BYTES

pytestmark = pytest.mark.django_db(transaction=True)


def test_rerender_after_an_error_keeps_the_upload_with_its_original_name(logged_in, upload):
    result = upload(logged_in, Document, "file", "résumé 2024.pdf", PDF_BYTES)
    response = logged_in.post("/documents/new/", {"title": "", "file": result.value("ignored.pdf")})
    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    bound = response.context["form"]["file"]
    rendered = json.loads(bound.field.widget.format_value(bound.value()))
    html = response.content.decode()
    assert rendered == {"key": result.key, "name": "résumé 2024.pdf"}
    assert "résumé 2024.pdf" in html


def test_edit_form_tells_the_widget_which_record_it_edits(logged_in, upload):
    doc = Document.objects.create(title="t", file=upload(logged_in, Document, "file", "a.pdf", PDF_BYTES).key)
    html = logged_in.get(f"/documents/{doc.pk}/edit/").content.decode()
    assert f'data-instance-id="{doc.pk}"' in html
    assert f"instance_id={doc.pk}" in html, "the existing file is shown with its download link"


def test_create_form_sends_no_instance_id(logged_in):
    html = logged_in.get("/documents/new/").content.decode()
    assert 'data-instance-id=""' in html
    assert Document._meta.get_field("file").async_field_id in html


def test_admin_uses_the_async_widget_instead_of_its_file_widget(rf, user):
    model_admin = admin.site._registry[Document]
    request = rf.get("/")
    request.user = user
    form_class = model_admin.get_form(request)
    assert isinstance(form_class.base_fields["file"].widget, AsyncFileInput)
    assert isinstance(form_class.base_fields["image"].widget, AsyncFileInput)


def test_form_is_not_multipart():
    from gallery.forms import DocumentForm

    assert not DocumentForm().is_multipart()


def test_widget_carries_the_fields_label_for_pages_without_a_label_element():
    from gallery.forms import DocumentForm

    form = DocumentForm()
    assert 'data-label="File"' in str(form["file"])
    assert 'data-label="Image"' in str(form["image"])

    class Renamed(DocumentForm):
        class Meta(DocumentForm.Meta):
            labels = {"file": "Contract <signed>"}

    assert 'data-label="Contract &lt;signed&gt;"' in str(Renamed()["file"])
    # Rendered on its own, outside a form, the widget still gives the input a name.
    assert 'data-label="File"' in AsyncFileInput().render("attachment", None)
