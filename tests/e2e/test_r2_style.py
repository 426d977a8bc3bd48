"""The widget on an R2-style store (SeaweedFS behind a proxy that answers presigned POSTs ``501``, as Cloudflare R2
does), with ``upload_method="put"``, in headless Chromium: a small file in one signed PUT, a large one in parts of
equal size, each part URL signed for its length. The widget is the one shipped; nothing in it knows about PUT mode.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page
import pytest

from tests.s3.conftest import bucket_keys, object_bytes

from .cloud import S3_LARGE_SIZE, S3_PART_SIZE, part_number
from .helpers import PDF_BYTES, StorageTraffic, eventually, expect_done, large_pdf, part, payload, save, sha256, widget

pytestmark = pytest.mark.browser


def signed_headers(url: str) -> list[str]:
    return parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0].split(";")


def test_small_pdf_in_one_signed_put_through_the_r2_style_store(
    logged_in_page: Page, live_server, r2_bucket, r2_proxy, s3_client
):
    page = logged_in_page
    traffic = StorageTraffic(page, r2_proxy.endpoint_url, part_number)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    part(file_widget, "file-input").set_input_files(payload("report.pdf", "application/pdf", PDF_BYTES))
    expect_done(file_widget, "report.pdf")

    puts = traffic.to_storage("PUT")
    assert traffic.to_storage("POST") == []
    assert len(puts) == 1
    assert signed_headers(puts[0].url) == ["content-length", "content-type", "host"]
    assert puts[0].headers["content-type"] == "application/pdf"
    assert r2_proxy.refused == []

    document = save(page, live_server, "R2 report")
    assert document.file.name == "documents/report.pdf"
    assert object_bytes(s3_client, r2_bucket, "documents/report.pdf") == PDF_BYTES
    eventually(page, lambda: bucket_keys(s3_client, r2_bucket) == ["documents/report.pdf"])


def test_large_file_in_equal_parts_through_the_r2_style_store(
    logged_in_page: Page, live_server, r2_bucket, r2_proxy, s3_client, tmp_path
):
    page = logged_in_page
    traffic = StorageTraffic(page, r2_proxy.endpoint_url, part_number)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "big.pdf", seed=11, size=S3_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)
    expect_done(file_widget, "big.pdf")

    assert traffic.part_puts() == {1: 1, 2: 1, 3: 1, 4: 1}
    assert traffic.to_storage("POST") == [], "completion goes through our endpoint, never a form POST"
    for request in traffic.to_storage("PUT"):
        assert "content-length" in signed_headers(request.url)
    # What reached the store: every part but the last exactly S3_PART_SIZE long, as signed.
    lengths = {
        part_number(target): length
        for method, target, length in r2_proxy.forwarded
        if method == "PUT" and part_number(target)
    }
    last = S3_LARGE_SIZE - 3 * S3_PART_SIZE
    assert lengths == {1: S3_PART_SIZE, 2: S3_PART_SIZE, 3: S3_PART_SIZE, 4: last}
    assert r2_proxy.refused == []

    document = save(page, live_server, "R2 big one")
    assert document.file.name == "documents/big.pdf"
    assert sha256(object_bytes(s3_client, r2_bucket, "documents/big.pdf")) == sha256(data)
