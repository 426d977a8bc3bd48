"""Every filename is either refused when planning, or stored and promoted: the names that broke the filesystem
backend (too long in bytes, nothing usable, a leading dot once cleaned), end to end on every backend."""

from __future__ import annotations

import os

from django import forms
from django.core.exceptions import SuspiciousFileOperation
import pytest

from alliance_platform.storage.async_uploads.keys import final_filename, final_key, is_temporary_path
from alliance_platform.storage.async_uploads.requester import bind_request
from gallery.models import Document
from tests.conftest import PDF_BYTES, read, request_for
from tests.testapp.models import Attachment

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = {
    "emoji": "😀",
    "brackets": "().pdf",
    "cjk": "文" * 94 + ".pdf",
    "accents": "é" * 130 + ".pdf",
    "ascii": "a" * 240 + ".pdf",
    "hash": "#.txt",
    "long extension": "report." + "x" * 300,
}


def components_fit(key: str) -> bool:
    return all(len(part.encode()) <= 255 for part in key.split("/"))


class AnyFileForm(forms.ModelForm):
    class Meta:
        model = Attachment
        fields = ["other"]  # no type restrictions


def submit(client, value: str) -> Attachment:
    with bind_request(request_for(client)):
        form = AnyFileForm(data={"other": value})
        assert form.is_valid(), form.errors
        saved = form.save()
    saved.refresh_from_db()
    return saved


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_a_difficult_name_is_planned_uploaded_and_promoted(client, upload, name):
    planned = upload(client, Attachment, "other", name, PDF_BYTES)
    assert planned.put_status == 201
    assert components_fit(planned.key)

    saved = submit(client, planned.value("x.pdf")).other
    assert not is_temporary_path(saved.name), "promoted"
    assert components_fit(saved.name)
    assert not os.path.basename(saved.name).startswith(".")
    assert read(saved.name) == PDF_BYTES


def test_a_long_name_on_a_pdf_field_is_promoted_too(logged_in, upload):
    planned = upload(logged_in, Document, "file", "é" * 130 + ".pdf", PDF_BYTES)
    response = logged_in.post("/documents/new/", {"title": "t", "file": planned.value()})
    assert response.status_code == 302, response.context["form"].errors
    saved = Document.objects.get()
    assert not is_temporary_path(saved.file.name), "promoted"
    assert components_fit(saved.file.name)
    assert not os.path.basename(saved.file.name).startswith(".")
    assert read(saved.file.name) == PDF_BYTES


def test_two_files_with_the_longest_name_both_fit(logged_in, upload):
    name = "é" * 130 + ".pdf"
    for _ in range(2):
        planned = upload(logged_in, Document, "file", name, PDF_BYTES)
        assert logged_in.post("/documents/new/", {"title": "t", "file": planned.value()}).status_code == 302
    first, second = (doc.file.name for doc in Document.objects.all())
    assert first != second and components_fit(first) and components_fit(second)


@pytest.mark.parametrize("name", ["..", " . ", "\u202e", "/"])
def test_a_name_with_nothing_left_is_refused_when_planning(logged_in, name):
    response = logged_in.post(
        "/async-uploads/generate-upload-url/",
        {"fieldId": Document._meta.get_field("file").async_field_id, "filename": name, "size": 10},
    )
    assert response.status_code == 400
    assert list(response.json()) == ["filename"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("😀", "file"),
        ("#.txt", "file.txt"),
        ("résumé 2024.pdf", "résumé_2024.pdf"),
        (".env", "env"),
        ("a.b.c", "a.b.c"),
    ],
)
def test_final_names(name, expected):
    assert final_filename(name) == expected


def test_final_names_keep_room_for_a_taken_names_suffix():
    name = final_filename("é" * 200 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= 255 - 8


def test_a_final_key_made_by_a_callable_upload_to_is_made_safe_too():
    # A callable upload_to may return any basename: a hidden one, or one longer than the filesystem allows.
    assert final_key("docs/.hidden") == "docs/hidden"
    long_key = final_key("docs/" + "é" * 300 + ".pdf")
    assert long_key.startswith("docs/") and long_key.endswith(".pdf")
    assert components_fit(long_key)


def test_a_final_key_fits_the_fields_max_length_with_room_for_a_suffix():
    key = final_key("documents/" + "a" * 200 + ".pdf", max_length=100)
    assert key.startswith("documents/") and key.endswith(".pdf")
    assert len(key) <= 100 - 8


def test_a_final_key_with_no_room_for_a_name_is_refused():
    with pytest.raises(SuspiciousFileOperation):
        final_key("d" * 95 + "/report.pdf", max_length=100)
