import hashlib

from django.core.files.storage import default_storage
import pytest

from gallery.models import Document
from tests.conftest import PDF_BYTES, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_document_through_form(logged_in, upload):
    file_upload = upload(logged_in, Document, "file", "report.pdf", PDF_BYTES)
    assert file_upload.put_status == 201
    image_upload = upload(logged_in, Document, "image", "pic.png", png_bytes(37, 23))
    response = logged_in.post(
        "/documents/new/",
        {"title": "T", "file": file_upload.value("report.pdf"), "image": image_upload.value("pic.png")},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    doc = Document.objects.get()
    assert doc.file.name.startswith("documents/report")
    assert (doc.image_width, doc.image_height) == (37, 23)
    with default_storage.open(doc.file.name) as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(PDF_BYTES).digest()
    assert not default_storage.exists(file_upload.key)
    download = logged_in.get(doc.file.url)
    assert download.status_code == 302
    served = logged_in.get(download["Location"])
    assert b"".join(served.streaming_content) == PDF_BYTES
