"""The API flow against real cloud storage, shared by the S3 (SeaweedFS), Azure (Azurite) and GCS (fake-gcs-server)
tests.

A client with no browser plans each upload, sends the file where the plan says (one request, or in parts through the
multipart endpoints), creates and updates the record through the API, and downloads through the url the API returns.
Each backend's test module subclasses ``CloudApiFlow`` and provides the ``cloud`` fixture (a ``Cloud``) with that
backend's storage installed on ``CloudDocument``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from rest_framework.test import APIClient

from tests.conftest import PDF_BYTES, field_id, png_bytes
from tests.testapp.models import CloudDocument

API = "/test-api/cloud-documents/"
BATCH = f"{API}batch/"
PLAN_URL = "/async-uploads/generate-upload-url/"
MIB = 1024 * 1024


@dataclass
class Cloud:
    """One backend as the shared tests see it."""

    provider: str
    single_method: str  # how a small file goes up: "POST" (S3's presigned POST) or "PUT"
    stored: Callable[[], list[str]]  # the names of the stored objects, sorted
    read: Callable[[str], bytes]  # one object's bytes
    large_size: int  # a file size above the backend's threshold for uploads in parts
    part_count: int  # how many parts a file of ``large_size`` is split into
    #: Whether the server answers a download with the headers its signed URL names (the GCS emulator ignores
    #: ``response-content-disposition``; GCS itself honours it): otherwise the signed URL is what is checked.
    serves_signed_headers: bool = True


def large_pdf(size: int) -> bytes:
    """A PDF by its first bytes, with content that differs along the file so that misplaced parts would show."""
    head = b"%PDF-1.4\n"
    block = hashlib.sha256(b"drf-parts").digest()
    body = b"".join(hashlib.sha256(block + index.to_bytes(4, "big")).digest() for index in range(size // 32 + 1))
    return (head + body)[:size]


def send_in_parts(client: APIClient, multipart: dict, content: bytes) -> None:
    """The multipart steps of the wire format: sign the parts, PUT each slice, then complete with the ETags."""
    size, count, token = multipart["partSize"], multipart["partCount"], multipart["token"]
    assert count <= 50, "one signing request is enough for the files of these tests"
    signed = client.post(multipart["signUrl"], {"token": token, "partNumbers": ",".join(map(str, range(1, count + 1)))})
    assert signed.status_code == 200, signed.content
    completed = []
    for part in signed.json()["parts"]:
        number = part["partNumber"]
        chunk = content[(number - 1) * size : number * size]
        stored = requests.put(part["url"], data=chunk, headers=part.get("headers", {}), timeout=60)
        assert stored.status_code in (200, 201), stored.text
        # Azure's block ids come with the signed URL; S3 and GCS answer each part with its ETag, where the page may
        # read it (the GCS emulator sends none).
        completed.append({"partNumber": number, "etag": part.get("etag") or stored.headers.get("ETag")})
    if any(not part["etag"] for part in completed):
        # As the widget does: the stored parts, listed by the server, name the ETags storage did not show.
        listed = client.post(multipart["listUrl"], {"token": token})
        assert listed.status_code == 200, listed.content
        etags = {part["partNumber"]: part["etag"] for part in listed.json()["parts"]}
        completed = [{**part, "etag": part["etag"] or etags[part["partNumber"]]} for part in completed]
    done = client.post(multipart["completeUrl"], {"token": token, "parts": json.dumps(completed)})
    assert done.status_code == 200, done.content


def send(client: APIClient, upload_url: dict, content: bytes, filename: str) -> None:
    """Send a file the way ``uploadUrl`` says: a presigned POST, a single PUT, or in parts."""
    if upload_url["method"] == "MULTIPART":
        send_in_parts(client, upload_url["multipart"], content)
        return
    if upload_url["method"] == "POST":
        files = {upload_url.get("fileFieldName", "file"): (filename, content)}
        sent = requests.post(upload_url["url"], data=upload_url["fields"], files=files, timeout=30)
    else:
        sent = requests.request(
            upload_url["method"], upload_url["url"], data=content, headers=upload_url.get("headers", {}), timeout=30
        )
    assert sent.status_code in (200, 201, 204), sent.text


def plan(client: APIClient, field: str, filename: str, size: int | None = None, **extra) -> dict:
    data = {"fieldId": field_id(CloudDocument, field), "filename": filename, **extra}
    if size is not None:
        data["size"] = size
    planned = client.post(PLAN_URL, data)
    assert planned.status_code == 200, planned.content
    return planned.json()


def uploaded(client: APIClient, field: str, filename: str, content: bytes, **extra) -> tuple[str, str]:
    """Plan and send a file; returns its temporary key and the plan's method."""
    planned = plan(client, field, filename, len(content), **extra)
    send(client, planned["uploadUrl"], content, filename)
    return planned["key"], planned["uploadUrl"]["method"]


def download(client: APIClient, url: str, filename: str, cloud: Cloud) -> bytes:
    """Follow the API's url (a permission check, then a redirect to storage); the download names ``filename``."""
    redirect = client.get(url)
    assert redirect.status_code == 302, redirect.content
    response = requests.get(redirect["Location"], timeout=30)
    assert response.status_code == 200
    disposition = f'attachment; filename="{filename}"'
    if cloud.serves_signed_headers:
        assert response.headers["Content-Disposition"] == disposition
    else:
        query = parse_qs(urlsplit(redirect["Location"]).query)
        assert query["response-content-disposition"] == [disposition]
    return response.content


@pytest.mark.django_db(transaction=True)
class CloudApiFlow:
    def test_create_and_update_through_the_api(self, api, cloud: Cloud):
        pdf_key, method = uploaded(api, "file", "contract.pdf", PDF_BYTES, contentType="application/pdf")
        image_key, _ = uploaded(api, "image", "photo.png", png_bytes(53, 19), contentType="image/png")
        assert method == cloud.single_method, "small files go up in one request"
        payload = {
            "title": "Contract",
            "file": {"key": pdf_key, "name": "contract.pdf"},
            "image": {"key": image_key, "name": "photo.png", "width": 1, "height": 1},
        }

        created = api.post(API, payload, format="json")

        assert created.status_code == 201, created.content
        doc = CloudDocument.objects.get()
        assert doc.file.name == "cloud/contract.pdf"
        assert (doc.width, doc.height) == (53, 19), "read by the server from the stored image"
        assert cloud.stored() == ["cloud-images/photo.png", "cloud/contract.pdf"], "promoted, temporary objects gone"
        assert cloud.read("cloud/contract.pdf") == PDF_BYTES
        body = created.json()
        assert body["file"]["key"] == "cloud/contract.pdf" and body["file"]["name"] == "contract.pdf"
        assert download(api, body["file"]["url"], "contract.pdf", cloud) == PDF_BYTES
        assert download(api, body["image"]["url"], "photo.png", cloud) == png_bytes(53, 19)

        new_pdf = PDF_BYTES.replace(b"0", b"7")
        replacement, _ = uploaded(api, "file", "contract-v2.pdf", new_pdf, instanceId=str(doc.pk))
        patch = {"file": {"key": replacement, "name": "contract-v2.pdf"}}
        updated = api.patch(f"{API}{doc.pk}/", patch, format="json")

        assert updated.status_code == 200, updated.content
        doc.refresh_from_db()
        assert doc.file.name == "cloud/contract-v2.pdf"
        assert cloud.read("cloud/contract-v2.pdf") == new_pdf
        assert download(api, updated.json()["file"]["url"], "contract-v2.pdf", cloud) == new_pdf
        assert replacement not in cloud.stored(), "the temporary object is removed"

    def test_large_file_sent_in_parts_then_created_through_the_api(self, api, cloud: Cloud, monkeypatch):
        monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 30)
        content = large_pdf(cloud.large_size)
        planned = plan(api, "file", "big.pdf", len(content), contentType="application/pdf")
        upload_url = planned["uploadUrl"]
        assert (upload_url["method"], upload_url["provider"]) == ("MULTIPART", cloud.provider)
        assert upload_url["multipart"]["partCount"] == cloud.part_count

        send(api, upload_url, content, "big.pdf")
        created = api.post(API, {"title": "Big", "file": {"key": planned["key"], "name": "big.pdf"}}, format="json")

        assert created.status_code == 201, created.content
        assert CloudDocument.objects.get().file.name == "cloud/big.pdf"
        assert cloud.stored() == ["cloud/big.pdf"]
        assert cloud.read("cloud/big.pdf") == content
        assert download(api, created.json()["file"]["url"], "big.pdf", cloud) == content

    def test_a_list_of_uploads_creates_one_document_each(self, api, api_client_for, other_user, cloud: Cloud):
        pdf_key, _ = uploaded(api, "file", "one.pdf", PDF_BYTES)
        png_key, _ = uploaded(api, "file", "two.png", png_bytes(12, 8))
        theirs, _ = uploaded(api_client_for(other_user), "file", "theirs.pdf", PDF_BYTES)
        mine = [{"key": pdf_key, "name": "one.pdf"}, {"key": png_key, "name": "two.png"}]

        refused = api.post(
            BATCH, {"title": "t", "files": [*mine, {"key": theirs, "name": "theirs.pdf"}]}, format="json"
        )

        assert refused.status_code == 400, refused.content
        assert set(refused.json()["files"]) == {"2"}
        assert refused.data["files"][2][0].code == "unknown_upload", "uploaded by another user"
        assert not CloudDocument.objects.exists()

        created = api.post(BATCH, {"title": "Pair", "files": mine}, format="json")

        assert created.status_code == 201, created.content
        assert sorted(doc.file.name for doc in CloudDocument.objects.all()) == ["cloud/one.pdf", "cloud/two.png"]
        assert cloud.read("cloud/one.pdf") == PDF_BYTES
        assert cloud.read("cloud/two.png") == png_bytes(12, 8)
        assert sorted(set(cloud.stored()) - {theirs}) == ["cloud/one.pdf", "cloud/two.png"], "temporaries promoted"

    def test_verification_failures_are_400(self, api, cloud: Cloud):
        never_sent = plan(api, "file", "a.pdf")["key"]
        not_a_pdf, _ = uploaded(api, "file", "archive.pdf", b"PK\x03\x04" + b"\x00" * 300)

        missing = api.post(API, {"title": "t", "file": {"key": never_sent, "name": "a.pdf"}}, format="json")
        wrong_type = api.post(API, {"title": "t", "file": {"key": not_a_pdf, "name": "archive.pdf"}}, format="json")

        assert missing.status_code == 400 and missing.data["file"][0].code == "missing"
        assert wrong_type.status_code == 400 and wrong_type.data["file"][0].code == "content_mismatch"
        assert cloud.stored() == [], "refused objects are deleted"
        assert not CloudDocument.objects.exists()
