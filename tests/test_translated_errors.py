"""Upload errors in the language of the request (LocaleMiddleware and Accept-Language): form fields, the API's
serializer fields and the upload endpoints.

The expected texts are written out, not looked up: the test fails if a catalog is missing from the package, or a
message is not translated where it is raised.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from gallery.models import Document
from tests.conftest import PDF_BYTES, field_id
from tests.testapp.models import Attachment

pytestmark = pytest.mark.django_db

ZIP_BYTES = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 200
NEVER_PLANNED = "async-temp-files/2020/01/01/abcdef-report.pdf"
NBSP = "\u00a0"

UNKNOWN_UPLOAD = {
    "de": "Dieser Upload wurde nicht gefunden oder ist abgelaufen. Bitte laden Sie die Datei erneut hoch.",
    "fr": "Ce téléversement est introuvable ou a expiré. Veuillez téléverser le fichier à nouveau.",
}
TYPE_REFUSED = {
    "de": "Dieser Dateityp ist nicht erlaubt. Erlaubte Typen: ",
    "fr": f"Ce type de fichier n’est pas autorisé. Types autorisés{NBSP}: ",
}
# A ZIP archive called report.pdf: its content contradicts its name.
CONTENT_MISMATCH = {
    "de": "Der Inhalt von „report.pdf“ passt nicht zum Dateinamen: erwartet wird ein PDF-Dokument, erkannt wurde ein "
    "ZIP-Archiv.",
    "fr": f"Le contenu de «{NBSP}report.pdf{NBSP}» ne correspond pas à son nom{NBSP}: attendu un document PDF, détecté "
    "une archive ZIP.",
}
# The sizes come from Django's own filesizeformat, in its translation for the language.
TOO_LARGE = {
    "de": f"Die Datei ist zu groß (2,0{NBSP}KB). Die maximale Größe beträgt 1,0{NBSP}KB.",
    "fr": f"Le fichier est trop volumineux (2,0{NBSP}Kio). La taille maximale est de 1,0{NBSP}Kio.",
}
UNKNOWN_FIELD = {"de": "Unbekannte fieldId", "fr": "fieldId inconnu"}

LANGUAGES = pytest.mark.parametrize("language", ["de", "fr"])


def upload_key(client, model, field: str, filename: str, content: bytes) -> str:
    """Planned and uploaded in English: only the submission is in the language under test."""
    plan = client.post(
        model._meta.get_field(field).async_field_registry.reverse("generate_upload_url"),
        {"fieldId": field_id(model, field), "filename": filename, "size": len(content)},
    )
    assert plan.status_code == 200, plan.content
    body = plan.json()
    sent = client.generic(
        body["uploadUrl"]["method"], body["uploadUrl"]["url"], content, content_type="application/octet-stream"
    )
    assert sent.status_code == 201
    return body["key"]


def form_errors(client, language: str, key: str) -> list[str]:
    value = json.dumps({"key": key, "name": "report.pdf"})
    response = client.post("/documents/new/", {"title": "T", "file": value}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content[:500]
    assert not Document.objects.exists()
    return list(response.context["form"].errors["file"])


@LANGUAGES
def test_form_error_for_an_unknown_upload_is_translated(logged_in, language):
    assert form_errors(logged_in, language, NEVER_PLANNED) == [UNKNOWN_UPLOAD[language]]


@LANGUAGES
def test_form_error_for_a_refused_content_is_translated_and_shown_on_the_page(logged_in, language):
    key = upload_key(logged_in, Document, "file", "report.pdf", ZIP_BYTES)
    [message] = form_errors(logged_in, language, key)
    assert message == CONTENT_MISMATCH[language]


@LANGUAGES
def test_form_error_for_a_file_too_large_is_translated(logged_in, language, monkeypatch):
    key = upload_key(logged_in, Document, "file", "report.pdf", PDF_BYTES)
    monkeypatch.setattr(Document._meta.get_field("file"), "max_size", 0.001)  # 1048 bytes, less than the PDF
    assert form_errors(logged_in, language, key) == [TOO_LARGE[language]]


@LANGUAGES
def test_page_is_rendered_in_the_language_of_the_request(logged_in, language):
    html = logged_in.get("/documents/new/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<html lang="{language}">' in html
    assert {"de": "Datei auswählen", "fr": "choisissez un fichier"}[language] in html
    assert "choose a file" not in html


def api_errors(client: APIClient, language: str, key: str) -> list[str]:
    response = client.post(
        "/test-api/attachments/",
        {"file": {"key": key, "name": "report.pdf"}},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 400, response.content
    return response.json()["file"]


@LANGUAGES
def test_api_error_for_an_unknown_upload_is_translated(language):
    assert api_errors(APIClient(), language, NEVER_PLANNED) == [UNKNOWN_UPLOAD[language]]


@LANGUAGES
def test_api_error_for_a_refused_content_is_translated(language):
    client = APIClient()
    key = upload_key(client, Attachment, "file", "report.pdf", ZIP_BYTES)
    [message] = api_errors(client, language, key)
    assert message == CONTENT_MISMATCH[language]


@LANGUAGES
def test_api_error_for_a_file_too_large_is_translated(language, monkeypatch):
    client = APIClient()
    key = upload_key(client, Attachment, "file", "report.pdf", PDF_BYTES)
    monkeypatch.setattr(Attachment._meta.get_field("file"), "max_size", 0.001)
    assert api_errors(client, language, key) == [TOO_LARGE[language]]


@LANGUAGES
def test_upload_endpoint_errors_are_translated(logged_in, language):
    url = Document._meta.get_field("file").async_field_registry.reverse("generate_upload_url")
    unknown = logged_in.post(url, {"fieldId": "nope", "filename": "a.pdf", "size": 10}, HTTP_ACCEPT_LANGUAGE=language)
    assert unknown.status_code == 400
    assert unknown.json()["fieldId"] == [UNKNOWN_FIELD[language]]

    refused = logged_in.post(
        url,
        {"fieldId": field_id(Document, "file"), "filename": "tool.exe", "size": 10},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert refused.status_code == 400
    [message] = refused.json()["filename"]
    assert message.startswith(TYPE_REFUSED[language])
