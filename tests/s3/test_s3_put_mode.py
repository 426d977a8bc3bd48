"""``upload_method="put"`` on an R2-style store: SeaweedFS behind a proxy that answers presigned POSTs ``501``.

What a presigned PUT signs (the key, ``Content-Length``, ``Content-Type``, the object parameters) is enforced by
SeaweedFS's SigV4 check, so every refusal here comes from the S3 server itself, not from the proxy or the app.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.test import Client
import pytest
import requests

from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.storage.s3 import S3AsyncUploadStorage
from alliance_platform.storage.async_uploads.storage.s3_put import (
    UnsignableHeaders,
    check_signed_headers,
    header_values,
)
from tests.cloud_document import plan, submit
from tests.conftest import PDF_BYTES, png_bytes
from tests.s3.conftest import bucket_keys, object_bytes, post_upload, use_storage
from tests.s3.r2_proxy import R2StyleProxy, is_post_object_upload
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
MULTIPART_CONTENT = b"%PDF-1.4\n" + hashlib.sha256(b"parts").digest() * (12 * MIB // 32)  # 3 parts: 5, 5, 2 MiB


def behind_proxy(s3_server, proxy: R2StyleProxy, bucket: str, **options) -> S3AsyncUploadStorage:
    return S3AsyncUploadStorage(
        bucket_name=bucket,
        region_name="us-east-1",
        signature_version="s3v4",
        addressing_style="path",
        access_key=s3_server["access_key"],
        secret_key=s3_server["secret_key"],
        endpoint_url=proxy.endpoint_url,
        **options,
    )


@pytest.fixture
def put_storage(s3_server, r2_proxy, bucket, monkeypatch) -> S3AsyncUploadStorage:
    storage = behind_proxy(s3_server, r2_proxy, bucket, upload_method="put")
    use_storage(monkeypatch, storage)
    r2_proxy.refused.clear()
    r2_proxy.forwarded.clear()
    return storage


def put(upload_plan: dict, content: bytes, **header_overrides: str) -> requests.Response:
    """Send the file as the widget does with a PUT plan: the raw bytes with the plan's headers."""
    upload_url = upload_plan["uploadUrl"]
    headers = {**upload_url["headers"], **header_overrides}
    return requests.put(upload_url["url"], data=content, headers=headers, timeout=60)


def signed_headers(url: str) -> list[str]:
    return parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0].split(";")


def test_proxy_tells_post_uploads_from_multipart_calls():
    assert is_post_object_upload("POST", "/bucket", "multipart/form-data; boundary=x")
    assert not is_post_object_upload("POST", "/bucket/key?uploads", "multipart/form-data; boundary=x")
    assert not is_post_object_upload("POST", "/bucket/key?uploadId=abc", "application/xml")
    assert not is_post_object_upload("POST", "/bucket?delete", "application/xml")
    assert not is_post_object_upload("PUT", "/bucket/key", "multipart/form-data; boundary=x")


def test_post_mode_fails_on_the_r2_style_store_and_put_mode_works(
    client, s3_server, r2_proxy, bucket, monkeypatch, s3_client
):
    post_storage = behind_proxy(s3_server, r2_proxy, bucket)
    use_storage(monkeypatch, post_storage)
    r2_proxy.refused.clear()
    post_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    assert post_plan["uploadUrl"]["method"] == "POST"
    refused = post_upload(post_plan, PDF_BYTES, "contract.pdf")
    assert refused.status_code == 501
    assert "NotImplemented" in refused.text
    assert len(r2_proxy.refused) == 1
    assert bucket_keys(s3_client, bucket) == []

    use_storage(monkeypatch, behind_proxy(s3_server, r2_proxy, bucket, upload_method="put"))
    put_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    assert put(put_plan, PDF_BYTES).status_code == 200
    assert len(r2_proxy.refused) == 1, "the PUT went through"
    assert bucket_keys(s3_client, bucket) == [put_plan["key"]]


def test_put_plan_signs_length_and_type_in_the_shape_the_widget_sends(client, put_storage):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    upload_url = upload_plan["uploadUrl"]
    assert (upload_url["method"], upload_url["provider"], upload_url["fields"]) == ("PUT", "s3", {})
    assert upload_url["headers"] == {"Content-Type": "application/pdf"}
    assert signed_headers(upload_url["url"]) == ["content-length", "content-type", "host"]
    assert urlsplit(upload_url["url"]).path.endswith("/" + upload_plan["key"])


def test_put_upload_is_verified_promoted_and_downloadable(client, put_storage, s3_client, bucket, r2_proxy):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    response = put(upload_plan, PDF_BYTES)
    assert response.status_code == 200, response.text
    head = s3_client.head_object(Bucket=bucket, Key=upload_plan["key"])
    assert (head["ContentLength"], head["ContentType"]) == (len(PDF_BYTES), "application/pdf")
    form = submit(client, file={"key": upload_plan["key"], "name": "contract.pdf"})
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get()
    assert object_bytes(s3_client, bucket, doc.file.name) == PDF_BYTES
    assert bucket_keys(s3_client, bucket) == [doc.file.name]
    download = requests.get(client.get(doc.file.url)["Location"], timeout=30)
    assert download.content == PDF_BYTES
    assert ("PUT", urlsplit(upload_plan["uploadUrl"]["url"]).path) in [
        (method, urlsplit(path).path) for method, path, _length in r2_proxy.forwarded
    ]


@pytest.mark.parametrize("delta", [1, -1, 4096])
def test_a_body_of_another_length_than_signed_is_refused_by_the_store(client, put_storage, s3_client, bucket, delta):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    body = PDF_BYTES + b"x" * delta if delta > 0 else PDF_BYTES[:delta]
    response = put(upload_plan, body)
    assert response.status_code == 403, response.text
    assert "SignatureDoesNotMatch" in response.text
    assert bucket_keys(s3_client, bucket) == []
    assert put(upload_plan, PDF_BYTES).status_code == 200, "the same URL takes the signed length"


def test_a_declared_size_over_the_limit_gets_no_plan(client, put_storage):
    field_id = CloudDocument._meta.get_field("file").async_field_id
    response = client.post(
        "/async-uploads/generate-upload-url/", {"fieldId": field_id, "filename": "big.pdf", "size": MIB + 1}
    )
    assert response.status_code == 400
    assert "size" in response.json()


def test_without_a_declared_size_an_oversized_upload_is_refused_at_verification(client, put_storage, s3_client, bucket):
    field_id = CloudDocument._meta.get_field("file").async_field_id
    response = client.post("/async-uploads/generate-upload-url/", {"fieldId": field_id, "filename": "big.pdf"})
    upload_plan = response.json()
    assert signed_headers(upload_plan["uploadUrl"]["url"]) == ["content-type", "host"], "no length to sign"
    big = PDF_BYTES + b"0" * MIB
    assert put(upload_plan, big).status_code == 200
    form = submit(client, file={"key": upload_plan["key"], "name": "big.pdf"})
    assert not form.is_valid()
    assert "too large" in str(form.errors["file"])
    assert bucket_keys(s3_client, bucket) == [], "the oversized object is deleted"
    assert not AsyncTempFile.objects.exists()


@pytest.mark.parametrize("sent_type", ["text/html", "application/octet-stream", "application/pdf; charset=utf-8"])
def test_a_content_type_other_than_signed_is_refused_by_the_store(client, put_storage, s3_client, bucket, sent_type):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES), contentType="application/pdf")
    response = put(upload_plan, PDF_BYTES, **{"Content-Type": sent_type})
    assert response.status_code == 403, response.text
    assert bucket_keys(s3_client, bucket) == []
    assert put(upload_plan, PDF_BYTES).status_code == 200, "the same URL takes the signed type"


def test_without_a_declared_type_the_neutral_type_is_signed(client, put_storage, s3_client, bucket):
    upload_plan = plan(client, "contract.pdf", len(PDF_BYTES))
    assert upload_plan["uploadUrl"]["headers"] == {"Content-Type": "application/octet-stream"}
    assert put(upload_plan, PDF_BYTES, **{"Content-Type": "text/html"}).status_code == 403
    assert put(upload_plan, PDF_BYTES).status_code == 200
    # (SeaweedFS stores an application/octet-stream object with the type its extension suggests, here
    # application/pdf; AWS keeps the signed type. Either way it is not one the browser chose.)
    assert bucket_keys(s3_client, bucket) == [upload_plan["key"]]


def test_content_that_does_not_match_the_restrictions_is_refused_at_verification(
    client, put_storage, s3_client, bucket
):
    # The store accepts what was signed; the real type is the server's to check, from the first bytes.
    html = b"<!doctype html><script>alert(1)</script>" + b" " * 100
    upload_plan = plan(client, "contract.pdf", len(html), contentType="application/pdf")
    assert put(upload_plan, html).status_code == 200
    form = submit(client, file={"key": upload_plan["key"], "name": "contract.pdf"})
    assert not form.is_valid()
    assert bucket_keys(s3_client, bucket) == []


def test_object_parameters_are_signed_as_headers_the_plan_lists(
    client, s3_server, r2_proxy, bucket, monkeypatch, s3_client
):
    storage = behind_proxy(
        s3_server,
        r2_proxy,
        bucket,
        upload_method="put",
        object_parameters={"CacheControl": "max-age=60", "Metadata": {"origin": "tests"}},
    )
    use_storage(monkeypatch, storage)
    image = png_bytes(12, 7)
    upload_plan = plan(client, "photo.png", len(image), field="image", contentType="image/png")
    headers = upload_plan["uploadUrl"]["headers"]
    assert headers == {"Content-Type": "image/png", "Cache-Control": "max-age=60", "x-amz-meta-origin": "tests"}
    assert put(upload_plan, image, **{"Cache-Control": "no-store"}).status_code == 403, "the value is signed"
    assert put(upload_plan, image).status_code == 200
    head = s3_client.head_object(Bucket=bucket, Key=upload_plan["key"])
    assert (head["CacheControl"], head["Metadata"]) == ("max-age=60", {"origin": "tests"})


def test_upload_method_is_case_insensitive_and_unknown_methods_are_refused(s3_server, r2_proxy, bucket):
    upper = behind_proxy(s3_server, r2_proxy, bucket, upload_method="PUT")
    assert upper.generate_upload_url("async-temp-files/x.pdf", "f", size=3)["method"] == "PUT"
    assert not [problem for problem in upper.check_configuration() if problem.id.endswith("W014")]
    bogus = behind_proxy(s3_server, r2_proxy, bucket, upload_method="form")
    assert [problem.id for problem in bogus.check_configuration()] == ["alliance_platform_storage.W014"]
    with pytest.raises(ImproperlyConfigured, match="upload_method"):
        bogus.generate_upload_url("async-temp-files/x.pdf", "f", size=3)


def test_upload_method_is_read_from_the_storages_options(settings, s3_server, bucket):
    from django.core.files.storage import storages

    settings.STORAGES = {
        **settings.STORAGES,
        "r2": {
            "BACKEND": "alliance_platform.storage.async_uploads.storage.s3.S3AsyncUploadStorage",
            "OPTIONS": {"bucket_name": bucket, "upload_method": "put", **s3_server},
        },
    }
    assert storages["r2"].upload_method == "put"


def test_a_signed_header_the_plan_does_not_list_is_an_error(put_storage):
    client = put_storage.client
    url = client.generate_presigned_url(
        "put_object",
        Params={"Bucket": "b", "Key": "k", "ContentType": "a/b", "ContentLength": 3, "CacheControl": "x"},
        HttpMethod="PUT",
    )
    check_signed_headers(url, {"Content-Type": "a/b", "Cache-Control": "x"}, length_signed=True)
    with pytest.raises(UnsignableHeaders, match="cache-control"):
        check_signed_headers(url, {"Content-Type": "a/b"}, length_signed=True)
    with pytest.raises(UnsignableHeaders, match="content-length"):
        check_signed_headers(url, {"Content-Type": "a/b", "Cache-Control": "x"}, length_signed=False)
    assert header_values(client, "PutObject", {"ACL": "private", "Metadata": {"a": "1"}}) == {
        "x-amz-acl": "private",
        "x-amz-meta-a": "1",
    }


# Multipart in PUT mode: parts of equal sizes, each URL signed for its part's exact length.


@pytest.fixture
def small_parts(settings, monkeypatch):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"S3_MULTIPART_THRESHOLD": 6 * MIB, "S3_MULTIPART_PART_SIZE": 5 * MIB}}
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "max_size", 30)


def call(client: Client, multipart: dict, endpoint: str, **data):
    return client.post(multipart[f"{endpoint}Url"], {"token": multipart["token"], **data})


def sign(client: Client, multipart: dict, numbers: list[int]) -> dict[int, str]:
    signed = call(client, multipart, "sign", partNumbers=",".join(map(str, numbers)))
    assert signed.status_code == 200, signed.content
    return {part["partNumber"]: part["url"] for part in signed.json()["parts"]}


def test_multipart_parts_are_signed_for_equal_lengths_and_assembled(
    client, put_storage, small_parts, s3_client, bucket, r2_proxy
):
    upload_plan = plan(client, "big.pdf", len(MULTIPART_CONTENT), contentType="application/pdf")
    multipart = upload_plan["uploadUrl"]["multipart"]
    assert (multipart["partSize"], multipart["partCount"]) == (5 * MIB, 3)
    urls = sign(client, multipart, [1, 2, 3])
    assert all("content-length" in signed_headers(url) for url in urls.values())
    size = multipart["partSize"]
    etags = {}
    for number, url in urls.items():
        response = requests.put(url, data=MULTIPART_CONTENT[(number - 1) * size : number * size], timeout=60)
        assert response.status_code == 200, response.text
        etags[number] = response.headers["ETag"]
    parts = [{"partNumber": number, "etag": etag} for number, etag in sorted(etags.items())]
    completed = call(client, multipart, "complete", parts=json.dumps(parts))
    assert completed.status_code == 200, completed.content
    assert object_bytes(s3_client, bucket, upload_plan["key"]) == MULTIPART_CONTENT
    assert r2_proxy.refused == [], "create, parts and completion all passed the POST-refusing proxy"
    assert any("uploadId=" in path and method == "POST" for method, path, _length in r2_proxy.forwarded)
    form = submit(client, file={"key": upload_plan["key"], "name": "big.pdf"})
    assert form.is_valid(), form.errors


LAST_PART = len(MULTIPART_CONTENT) - 10 * MIB


@pytest.mark.parametrize(
    ("number", "length"), [(1, 5 * MIB - 1), (1, 5 * MIB + 1), (3, LAST_PART - 1), (3, LAST_PART + 1)]
)
def test_a_part_of_another_length_than_planned_is_refused_by_the_store(
    client, put_storage, small_parts, number, length
):
    upload_plan = plan(client, "big.pdf", len(MULTIPART_CONTENT), contentType="application/pdf")
    multipart = upload_plan["uploadUrl"]["multipart"]
    url = sign(client, multipart, [number])[number]
    planned = 5 * MIB if number < 3 else LAST_PART
    assert requests.put(url, data=b"x" * length, timeout=60).status_code == 403
    # The same URL takes the planned length: the refusal was the length, nothing else.
    assert requests.put(url, data=b"x" * planned, timeout=60).status_code == 200
    stored = put_storage.list_upload_parts(upload_plan["key"], multipart["uploadId"])
    assert [(part["partNumber"], part["size"]) for part in stored] == [(number, planned)]


def test_completion_refuses_unequal_parts_before_the_store_sees_them(
    client, put_storage, small_parts, s3_client, bucket
):
    # Parts written past the signed URLs (with the bucket's own credentials), 6 + 4 + 2 MiB: the right total, but a
    # layout R2 would refuse to assemble.
    upload_plan = plan(client, "big.pdf", len(MULTIPART_CONTENT), contentType="application/pdf")
    multipart = upload_plan["uploadUrl"]["multipart"]
    bounds = [(0, 6 * MIB), (6 * MIB, 10 * MIB), (10 * MIB, len(MULTIPART_CONTENT))]
    parts = []
    for number, (start, end) in enumerate(bounds, 1):
        stored = s3_client.upload_part(
            Bucket=bucket,
            Key=upload_plan["key"],
            UploadId=multipart["uploadId"],
            PartNumber=number,
            Body=MULTIPART_CONTENT[start:end],
        )
        parts.append({"partNumber": number, "etag": stored["ETag"]})
    completed = call(client, multipart, "complete", parts=json.dumps(parts))
    assert completed.status_code == 400
    assert "Every part but the last" in completed.json()["parts"][0]
    assert bucket_keys(s3_client, bucket) == []
