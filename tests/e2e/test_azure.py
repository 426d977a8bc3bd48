"""The demo's document form uploading straight to Azure Blob Storage (Azurite), in headless Chromium.

Small files go up in one SAS Put Blob; files above ``AZURE_BLOCK_THRESHOLD`` as blocks, several at a time, committed
by the server; an interrupted block upload resumes without sending the blocks Azure already holds. Requests are
counted at the browser (``page.on("request")``) and interrupted with ``page.route``; nothing here sleeps.
"""

from __future__ import annotations

from collections import Counter
import re
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect
import pytest

from gallery.models import Document
from tests.azure.conftest import blob_bytes, container_blobs, uncommitted_blocks

from .cloud import AZURE_LARGE_SIZE, block_number, endpoint_of, is_block_upload
from .helpers import (
    PDF_BYTES,
    StorageTraffic,
    eventually,
    expect_done,
    hidden_value,
    large_pdf,
    part,
    payload,
    route_part_uploads,
    save,
    sha256,
    stored_sessions,
    widget,
)

pytestmark = pytest.mark.browser


def assert_promoted(page: Page, blob_service, container: str, document: Document, name: str, data: bytes) -> None:
    """The record holds its final blob, with the uploaded bytes, and the temporary blob is gone."""
    assert document.file.name == f"documents/{name}"
    assert sha256(blob_bytes(blob_service, container, f"documents/{name}")) == sha256(data)
    eventually(page, lambda: container_blobs(blob_service, container) == [f"documents/{name}"])


def test_small_pdf_single_put_promoted_and_downloadable(
    logged_in_page: Page, live_server, azure_container, azurite, blob_service
):
    page = logged_in_page
    traffic = StorageTraffic(page, endpoint_of(azurite), block_number)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    part(file_widget, "file-input").set_input_files(payload("report.pdf", "application/pdf", PDF_BYTES))
    value = expect_done(file_widget, "report.pdf")
    assert value["key"].startswith("async-temp-files/")
    # One Put Blob straight to the container, no blocks.
    puts = traffic.to_storage("PUT")
    assert [urlsplit(r.url).path.split("/", 3)[-1] for r in puts] == [value["key"]]
    assert puts[0].headers["x-ms-blob-type"] == "BlockBlob"
    assert traffic.part_puts() == Counter()
    properties = blob_service.get_blob_client(azure_container, value["key"]).get_blob_properties()
    assert properties.content_settings.content_type == "application/pdf"

    document = save(page, live_server, "Azure report")
    assert_promoted(page, blob_service, azure_container, document, "report.pdf", PDF_BYTES)

    redirect = page.request.get(document.file.url, max_redirects=0)
    assert redirect.status == 302, redirect.status
    location = redirect.headers["location"]
    assert location.startswith(endpoint_of(azurite))
    download = page.request.get(location)
    assert download.ok, download.status
    assert download.body() == PDF_BYTES
    assert download.headers["content-disposition"] == 'attachment; filename="report.pdf"'


def test_large_file_uploads_in_parallel_blocks(
    logged_in_page: Page, live_server, blocks, azurite, blob_service, tmp_path
):
    page = logged_in_page
    traffic = StorageTraffic(page, endpoint_of(azurite), block_number)
    held: list[Route] = []
    route_part_uploads(page, is_block_upload, lambda route: held.append(route))
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "big.pdf", seed=7, size=AZURE_LARGE_SIZE)

    part(file_widget, "file-input").set_input_files(path)
    # All four blocks are on the wire at once: none of them has been let through yet.
    eventually(page, lambda: len(held) >= 4)
    assert sorted(block_number(route.request.url) for route in held) == [1, 2, 3, 4]
    expect(file_widget).to_have_attribute("data-state", "uploading")
    assert len(stored_sessions(page)) == 1
    for route in held:
        route.continue_()
    page.unroute(is_block_upload)

    value = expect_done(file_widget, "big.pdf")
    assert traffic.part_puts() == {1: 1, 2: 1, 3: 1, 4: 1}
    # The block ids came with the signed URLs: no list of stored blocks was needed to complete.
    assert traffic.to_endpoint("listUrl") == []
    assert len(traffic.to_endpoint("completeUrl")) == 1
    assert len(traffic.plans()) == 1
    assert stored_sessions(page) == []
    properties = blob_service.get_blob_client(blocks, value["key"]).get_blob_properties()
    assert properties.content_settings.content_type == "application/pdf"

    document = save(page, live_server, "Big one")
    assert_promoted(page, blob_service, blocks, document, "big.pdf", data)


def test_retry_after_dropped_connection_sends_only_missing_blocks(
    logged_in_page: Page, live_server, blocks, azurite, blob_service, tmp_path
):
    page = logged_in_page
    traffic = StorageTraffic(page, endpoint_of(azurite), block_number)

    def drop_block_3(route: Route) -> None:
        if block_number(route.request.url) == 3:
            route.abort("connectionreset")
        else:
            route.continue_()

    route_part_uploads(page, is_block_upload, drop_block_3)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "flaky.pdf", seed=23, size=AZURE_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)

    # The widget retries the block four times, with growing pauses, then gives up and offers "Try again".
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "retry")).to_be_visible()
    assert traffic.part_puts() == {1: 1, 2: 1, 3: 5, 4: 1}
    assert hidden_value(file_widget) is None
    assert len(stored_sessions(page)) == 1

    page.unroute(is_block_upload)
    traffic.reset()
    part(file_widget, "retry").click()
    expect_done(file_widget, "flaky.pdf")
    # Resumed: the server listed the uncommitted blocks, only the missing one went up again, nothing was re-planned.
    assert traffic.part_puts() == {3: 1}
    assert len(traffic.to_endpoint("listUrl")) == 1
    assert traffic.plans() == []
    assert stored_sessions(page) == []

    document = save(page, live_server, "Flaky network")
    assert_promoted(page, blob_service, blocks, document, "flaky.pdf", data)


def test_upload_resumes_after_reload_without_resending_stored_blocks(
    logged_in_page: Page, live_server, blocks, azurite, blob_service, tmp_path
):
    page = logged_in_page
    traffic = StorageTraffic(page, endpoint_of(azurite), block_number)
    path, data = large_pdf(tmp_path, "resumable.pdf", seed=31, size=AZURE_LARGE_SIZE)

    def only_blocks_1_and_2(route: Route) -> None:
        if block_number(route.request.url) in (1, 2):
            route.continue_()
        else:
            route.abort("connectionreset")

    route_part_uploads(page, is_block_upload, only_blocks_1_and_2)
    page.goto("/documents/new/")
    part(widget(page, "file"), "file-input").set_input_files(path)

    eventually(page, lambda: traffic.parts_stored() == {1, 2})
    planned_key = traffic.plan()["key"]
    assert len(uncommitted_blocks(blob_service, blocks, planned_key)) == 2
    assert len(stored_sessions(page)) == 1

    # The page goes away in the middle of the upload.
    page.reload()
    held: list[Route] = []
    page.unroute(is_block_upload)
    route_part_uploads(page, is_block_upload, lambda route: held.append(route))
    traffic.reset()
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "empty")
    part(file_widget, "file-input").set_input_files(path)

    eventually(page, lambda: len(held) >= 2)
    # Only the blocks Azure did not hold, and the progress counts the 2 MiB already stored.
    assert sorted(block_number(route.request.url) for route in held) == [3, 4]
    expect(part(file_widget, "progress")).to_have_attribute("value", re.compile(r"^(5[7-9]|[6-9]\d)$"))
    for route in held:
        route.continue_()
    page.unroute(is_block_upload)

    value = expect_done(file_widget, "resumable.pdf")
    assert value["key"] == planned_key
    assert traffic.part_puts() == {3: 1, 4: 1}
    assert traffic.plans() == []
    assert len(traffic.to_endpoint("listUrl")) == 1
    assert stored_sessions(page) == []

    document = save(page, live_server, "Resumed after reload")
    assert_promoted(page, blob_service, blocks, document, "resumable.pdf", data)


def test_cancel_discards_the_uploaded_blocks(
    logged_in_page: Page, live_server, blocks, azurite, blob_service, tmp_path
):
    page = logged_in_page
    traffic = StorageTraffic(page, endpoint_of(azurite), block_number)
    held: list[Route] = []

    def only_block_1(route: Route) -> None:
        if block_number(route.request.url) == 1:
            route.continue_()
        else:
            held.append(route)

    route_part_uploads(page, is_block_upload, only_block_1)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, _data = large_pdf(tmp_path, "cancelled.pdf", seed=5, size=AZURE_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)
    eventually(page, lambda: traffic.parts_stored() == {1} and len(held) >= 3)
    key = traffic.plan()["key"]
    assert len(uncommitted_blocks(blob_service, blocks, key)) == 1

    part(file_widget, "cancel").click()
    expect(file_widget).to_have_attribute("data-state", "empty")
    eventually(page, lambda: len(traffic.to_endpoint("abortUrl")) == 1)
    # Discarding the blocks takes two calls (an empty block list is committed, then that blob deleted): wait for both.
    eventually(
        page,
        lambda: uncommitted_blocks(blob_service, blocks, key) == [] and container_blobs(blob_service, blocks) == [],
    )
    assert stored_sessions(page) == []
    assert hidden_value(file_widget) is None
