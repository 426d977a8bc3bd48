"""The demo's plain-fetch API client (/api-client/, gallery/static/gallery/api-client.js) in headless Chromium.

It plans each upload, sends the file where the plan says, then creates or updates the record through the REST API.
Against the filesystem backend that is one PUT; against S3 and Azure a file above the threshold goes up in parts
(S3 multipart upload, Azure block list) through the multipart endpoints. The storage switches, CORS rules and small
part sizes are those of the widget's browser tests.
"""

from __future__ import annotations

from collections import Counter

from playwright.sync_api import Page, Request, expect
import pytest

from gallery.models import Document
from tests.azure.conftest import blob_bytes, container_blobs
from tests.s3.conftest import bucket_keys, object_bytes

from .cloud import AZURE_LARGE_SIZE, S3_LARGE_SIZE, block_number, endpoint_of, part_number
from .helpers import PDF_BYTES, eventually, large_pdf, payload, sha256

pytestmark = pytest.mark.browser


class Traffic:
    """Every request the page sends, as the browser issues it."""

    def __init__(self, page: Page):
        self.requests: list[Request] = []
        page.on("request", lambda request: self.requests.append(request))

    def puts_to(self, endpoint: str) -> list[str]:
        prefix = endpoint.rstrip("/") + "/"
        return [r.url for r in self.requests if r.method == "PUT" and r.url.startswith(prefix)]

    def posts_to(self, path: str) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and r.url.split("?")[0].endswith(path))


def create_through_the_page(page: Page, title: str, file) -> Document:
    """Fill in the page's form and wait for the client to report the record created through the API."""
    page.goto("/api-client/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("File", exact=True).set_input_files(file)
    page.get_by_role("button", name="Create through the API").click()
    expect(page.get_by_role("status")).to_have_text(f"Created “{title}”.")
    return Document.objects.get(title=title)


def download_from_the_list(page: Page, name: str) -> bytes:
    """The file link the page renders from the API's url: a permission check, then a redirect to storage."""
    link = page.get_by_role("link", name=name, exact=True)
    response = page.request.get(link.get_attribute("href"))
    assert response.ok, response.status
    return response.body()


def stored_bytes(document: Document) -> bytes:
    with document.file.storage.open(document.file.name, "rb") as stored:
        return stored.read()


def test_small_file_is_created_then_replaced_on_the_filesystem(logged_in_page: Page, live_server):
    page = logged_in_page
    traffic = Traffic(page)

    document = create_through_the_page(page, "Report", payload("report.pdf", "application/pdf", PDF_BYTES))

    assert document.file.name == "documents/report.pdf"
    assert stored_bytes(document) == PDF_BYTES
    assert len(traffic.puts_to(live_server.url)) == 1, "one PUT to the filesystem backend's upload view"
    assert download_from_the_list(page, "report.pdf") == PDF_BYTES

    replacement = PDF_BYTES.replace(b"padding", b"PADDING")
    page.get_by_label("Replace the file of Report").set_input_files(
        payload("report-v2.pdf", "application/pdf", replacement)
    )
    expect(page.get_by_role("status")).to_have_text("Replaced the file of “Report”.")
    document.refresh_from_db()
    assert document.file.name == "documents/report-v2.pdf"
    assert stored_bytes(document) == replacement
    assert download_from_the_list(page, "report-v2.pdf") == replacement


@pytest.mark.parametrize("expose_etag", [True, False], ids=["etag-exposed", "etag-hidden"])
def test_large_file_goes_up_in_parts_on_s3(
    logged_in_page: Page, live_server, multipart, s3_client, s3_server, tmp_path, expose_etag
):
    if not expose_etag:
        # CORS rules without ExposeHeaders: the page may upload parts but cannot read their ETags.
        rule = {"AllowedOrigins": [live_server.url], "AllowedMethods": ["GET", "PUT", "POST"], "AllowedHeaders": ["*"]}
        s3_client.put_bucket_cors(Bucket=multipart, CORSConfiguration={"CORSRules": [rule]})
    page = logged_in_page
    traffic = Traffic(page)
    path, data = large_pdf(tmp_path, "big.pdf", seed=13, size=S3_LARGE_SIZE)  # four parts of at most 5 MiB

    document = create_through_the_page(page, "Big on S3", path)

    assert Counter(part_number(url) for url in traffic.puts_to(s3_server["endpoint_url"])) == {1: 1, 2: 1, 3: 1, 4: 1}
    assert traffic.posts_to("/multipart/sign/") == 1
    assert traffic.posts_to("/multipart/complete/") == 1
    # The stored parts' ETags are asked for only when the page could not read them.
    assert traffic.posts_to("/multipart/list/") == (0 if expose_etag else 1)
    assert traffic.posts_to("/multipart/abort/") == 0
    assert document.file.name == "documents/big.pdf"
    assert sha256(object_bytes(s3_client, multipart, "documents/big.pdf")) == sha256(data)
    eventually(page, lambda: bucket_keys(s3_client, multipart) == ["documents/big.pdf"])
    assert s3_client.list_multipart_uploads(Bucket=multipart).get("Uploads", []) == []
    assert sha256(download_from_the_list(page, "big.pdf")) == sha256(data)


def test_large_file_goes_up_in_blocks_on_azure(
    logged_in_page: Page, live_server, blocks, azurite, blob_service, tmp_path
):
    page = logged_in_page
    traffic = Traffic(page)
    path, data = large_pdf(tmp_path, "big.pdf", seed=17, size=AZURE_LARGE_SIZE)  # four blocks of at most 1 MiB

    document = create_through_the_page(page, "Big on Azure", path)

    block_puts = Counter(block_number(url) for url in traffic.puts_to(endpoint_of(azurite)))
    assert block_puts == {1: 1, 2: 1, 3: 1, 4: 1}
    assert traffic.posts_to("/multipart/sign/") == 1
    assert traffic.posts_to("/multipart/complete/") == 1
    # The block ids came with the signed URLs: nothing to list.
    assert traffic.posts_to("/multipart/list/") == 0
    assert document.file.name == "documents/big.pdf"
    assert sha256(blob_bytes(blob_service, blocks, "documents/big.pdf")) == sha256(data)
    eventually(page, lambda: container_blobs(blob_service, blocks) == ["documents/big.pdf"])
    assert sha256(download_from_the_list(page, "big.pdf")) == sha256(data)
