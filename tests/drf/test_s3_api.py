"""The API flow against a real S3 server (SeaweedFS): presigned POST upload, create and update through the API,
server-side promotion, and a download through the url the API returns."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import PDF_BYTES, field_id, png_bytes
from tests.s3.conftest import bucket_keys, object_bytes, post_upload
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)

API = "/test-api/cloud-documents/"
PLAN_URL = "/async-uploads/generate-upload-url/"


def uploaded(client, field: str, filename: str, content: bytes, **extra) -> str:
    data = {"fieldId": field_id(CloudDocument, field), "filename": filename, "size": len(content), **extra}
    plan = client.post(PLAN_URL, data)
    assert plan.status_code == 200, plan.content
    sent = post_upload(plan.json(), content, filename)
    assert sent.status_code in (200, 201, 204), sent.text
    return plan.json()["key"]


def download(client, url: str) -> bytes:
    redirect = client.get(url)
    assert redirect.status_code == 302, redirect.content
    response = requests.get(redirect["Location"], timeout=30)
    assert response.status_code == 200
    return response.content


def test_create_and_update_through_the_api_on_s3(api, s3_storage, s3_client, bucket):
    pdf_key = uploaded(api, "file", "contract.pdf", PDF_BYTES, contentType="application/pdf")
    image_key = uploaded(api, "image", "photo.png", png_bytes(53, 19), contentType="image/png")
    payload = {
        "title": "Contract",
        "file": {"key": pdf_key, "name": "contract.pdf"},
        "image": {"key": image_key, "name": "photo.png", "width": 1, "height": 1},
    }

    created = api.post(API, payload, format="json")

    assert created.status_code == 201, created.content
    doc = CloudDocument.objects.get()
    assert doc.file.name == "cloud/contract.pdf"
    assert (doc.width, doc.height) == (53, 19), "read by the server from the object's header"
    assert bucket_keys(s3_client, bucket) == ["cloud-images/photo.png", "cloud/contract.pdf"]
    body = created.json()
    assert body["file"]["key"] == "cloud/contract.pdf" and body["file"]["name"] == "contract.pdf"
    assert download(api, body["file"]["url"]) == PDF_BYTES
    assert download(api, body["image"]["url"]) == png_bytes(53, 19)

    new_pdf = PDF_BYTES.replace(b"0", b"7")
    replacement = uploaded(api, "file", "contract-v2.pdf", new_pdf, instanceId=str(doc.pk))
    updated = api.patch(f"{API}{doc.pk}/", {"file": {"key": replacement, "name": "contract-v2.pdf"}}, format="json")

    assert updated.status_code == 200, updated.content
    doc.refresh_from_db()
    assert doc.file.name == "cloud/contract-v2.pdf"
    assert object_bytes(s3_client, bucket, "cloud/contract-v2.pdf") == new_pdf
    assert download(api, updated.json()["file"]["url"]) == new_pdf
    assert replacement not in bucket_keys(s3_client, bucket), "the temporary object is removed"


def test_verification_failures_on_s3_are_400(api, s3_storage, s3_client, bucket):
    never_sent = api.post(PLAN_URL, {"fieldId": field_id(CloudDocument, "file"), "filename": "a.pdf"}).json()["key"]
    not_a_pdf = uploaded(api, "file", "archive.pdf", b"PK\x03\x04" + b"\x00" * 300)

    missing = api.post(API, {"title": "t", "file": {"key": never_sent, "name": "a.pdf"}}, format="json")
    wrong_type = api.post(API, {"title": "t", "file": {"key": not_a_pdf, "name": "archive.pdf"}}, format="json")

    assert missing.status_code == 400 and missing.data["file"][0].code == "missing"
    assert wrong_type.status_code == 400 and wrong_type.data["file"][0].code == "invalid_type"
    assert not_a_pdf not in bucket_keys(s3_client, bucket), "a refused object is deleted"
    assert not CloudDocument.objects.exists()
