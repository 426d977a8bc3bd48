"""The demo's document form uploading straight to Azure Blob Storage (Azurite), in headless Chromium.

Small files go up in one SAS Put Blob; files above ``AZURE_BLOCK_THRESHOLD`` as blocks, several at a time, committed
by the server; an interrupted block upload resumes without sending the blocks Azure already holds. Requests are
counted at the browser (``page.on("request")``) and interrupted with ``page.route``; nothing here sleeps.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
import json
from pathlib import Path
import random
import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, Request, Response, Route, expect
import pytest

from gallery.models import Document
from tests.azure.conftest import blob_bytes, container_blobs, uncommitted_blocks

from .helpers import PDF_BYTES, eventually, hidden_value, part, payload, sha256, widget

pytestmark = pytest.mark.browser

MiB = 1024 * 1024
# Four blocks: three of 1 MiB and one of half a MiB.
LARGE_SIZE = 7 * MiB // 2
RESUME_PREFIX = "alliance-platform-storage:multipart:"


def large_pdf(directory: Path, name: str, seed: int, size: int = LARGE_SIZE) -> tuple[Path, bytes]:
    """A file on disk that the server takes for a PDF, with random content so that misplaced blocks would show;
    picked by path, it keeps its name, size and modification time from one pick to the next."""
    head = b"%PDF-1.4\n"
    data = head + random.Random(seed).randbytes(size - len(head))
    path = directory / name
    path.write_bytes(data)
    return path, data


def block_number(url: str) -> int | None:
    """The part number of a Put Block URL (its block id is base64 of "<upload id>-<5-digit number>")."""
    query = parse_qs(urlsplit(url).query)
    if query.get("comp") != ["block"] or "blockid" not in query:
        return None
    return int(base64.b64decode(query["blockid"][0]).decode().rsplit("-", 1)[1])


def is_block_upload(url: str) -> bool:
    return block_number(url) is not None


class AzureTraffic:
    """What the page sends to Azurite and to our endpoints, as the browser issues it."""

    def __init__(self, page: Page, endpoint: str):
        self.endpoint = endpoint.rstrip("/")
        self.requests: list[Request] = []
        self.finished: list[Request] = []
        self.plan_responses: list[Response] = []
        self._plan: dict | None = None
        page.on("request", lambda request: self.requests.append(request))
        page.on("requestfinished", lambda request: self.finished.append(request))
        page.on("response", self._on_response)

    def _on_response(self, response: Response) -> None:
        if "/generate-upload-url/" in response.url:
            self.plan_responses.append(response)

    def reset(self) -> None:
        self.requests.clear()
        self.finished.clear()

    def to_storage(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.url.startswith(self.endpoint + "/")]

    def block_puts(self) -> Counter:
        """Block number -> how many times the browser sent it."""
        return Counter(block_number(r.url) for r in self.to_storage("PUT") if block_number(r.url))

    def blocks_stored(self) -> set[int]:
        return {
            block_number(r.url)
            for r in self.finished
            if r.method == "PUT" and block_number(r.url) and r.response() and r.response().ok
        }

    def plan(self) -> dict:
        if self._plan is None:
            self._plan = self.plan_responses[0].json()
        return self._plan

    def to_endpoint(self, name: str) -> list[Request]:
        path = urlsplit(self.plan()["uploadUrl"]["multipart"][name]).path
        return [r for r in self.requests if r.method == "POST" and urlsplit(r.url).path == path]

    def plans(self) -> list[Request]:
        return [r for r in self.requests if "/generate-upload-url/" in r.url]


def route_blocks(page: Page, handler: Callable[[Route], None]) -> None:
    """Send the Put Block requests to ``handler``; the CORS preflights and anything else go through."""

    def dispatch(route: Route) -> None:
        if route.request.method == "PUT":
            handler(route)
        else:
            route.continue_()

    page.route(is_block_upload, dispatch)


def stored_sessions(page: Page) -> list[str]:
    return page.evaluate(f"Object.keys(localStorage).filter((key) => key.startsWith({json.dumps(RESUME_PREFIX)}))")


def save(page: Page, live_server, title: str) -> Document:
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_server.url}/")
    return Document.objects.get(title=title)


def expect_done(file_widget, name: str) -> dict:
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "progress-text")).to_have_text("100%")
    value = hidden_value(file_widget)
    assert value["name"] == name, value
    return value


def endpoint_of(connection_string: str) -> str:
    return dict(item.split("=", 1) for item in connection_string.split(";") if item)["BlobEndpoint"]


def assert_promoted(page: Page, blob_service, container: str, document: Document, name: str, data: bytes) -> None:
    """The record holds its final blob, with the uploaded bytes, and the temporary blob is gone."""
    assert document.file.name == f"documents/{name}"
    assert sha256(blob_bytes(blob_service, container, f"documents/{name}")) == sha256(data)
    eventually(page, lambda: container_blobs(blob_service, container) == [f"documents/{name}"])


def test_small_pdf_single_put_promoted_and_downloadable(
    logged_in_page: Page, live_server, azure_container, azurite, blob_service
):
    page = logged_in_page
    traffic = AzureTraffic(page, endpoint_of(azurite))
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    part(file_widget, "file-input").set_input_files(payload("report.pdf", "application/pdf", PDF_BYTES))
    value = expect_done(file_widget, "report.pdf")
    assert value["key"].startswith("async-temp-files/")
    # One Put Blob straight to the container, no blocks.
    puts = traffic.to_storage("PUT")
    assert [urlsplit(r.url).path.split("/", 3)[-1] for r in puts] == [value["key"]]
    assert puts[0].headers["x-ms-blob-type"] == "BlockBlob"
    assert traffic.block_puts() == Counter()
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
    traffic = AzureTraffic(page, endpoint_of(azurite))
    held: list[Route] = []
    route_blocks(page, lambda route: held.append(route))
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "big.pdf", seed=7)

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
    assert traffic.block_puts() == {1: 1, 2: 1, 3: 1, 4: 1}
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
    traffic = AzureTraffic(page, endpoint_of(azurite))

    def drop_block_3(route: Route) -> None:
        if block_number(route.request.url) == 3:
            route.abort("connectionreset")
        else:
            route.continue_()

    route_blocks(page, drop_block_3)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "flaky.pdf", seed=23)
    part(file_widget, "file-input").set_input_files(path)

    # The widget retries the block four times, with growing pauses, then gives up and offers "Try again".
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "retry")).to_be_visible()
    assert traffic.block_puts() == {1: 1, 2: 1, 3: 5, 4: 1}
    assert hidden_value(file_widget) is None
    assert len(stored_sessions(page)) == 1

    page.unroute(is_block_upload)
    traffic.reset()
    part(file_widget, "retry").click()
    expect_done(file_widget, "flaky.pdf")
    # Resumed: the server listed the uncommitted blocks, only the missing one went up again, nothing was re-planned.
    assert traffic.block_puts() == {3: 1}
    assert len(traffic.to_endpoint("listUrl")) == 1
    assert traffic.plans() == []
    assert stored_sessions(page) == []

    document = save(page, live_server, "Flaky network")
    assert_promoted(page, blob_service, blocks, document, "flaky.pdf", data)


def test_upload_resumes_after_reload_without_resending_stored_blocks(
    logged_in_page: Page, live_server, blocks, azurite, blob_service, tmp_path
):
    page = logged_in_page
    traffic = AzureTraffic(page, endpoint_of(azurite))
    path, data = large_pdf(tmp_path, "resumable.pdf", seed=31)

    def only_blocks_1_and_2(route: Route) -> None:
        if block_number(route.request.url) in (1, 2):
            route.continue_()
        else:
            route.abort("connectionreset")

    route_blocks(page, only_blocks_1_and_2)
    page.goto("/documents/new/")
    part(widget(page, "file"), "file-input").set_input_files(path)

    eventually(page, lambda: traffic.blocks_stored() == {1, 2})
    planned_key = traffic.plan()["key"]
    assert len(uncommitted_blocks(blob_service, blocks, planned_key)) == 2
    assert len(stored_sessions(page)) == 1

    # The page goes away in the middle of the upload.
    page.reload()
    held: list[Route] = []
    page.unroute(is_block_upload)
    route_blocks(page, lambda route: held.append(route))
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
    assert traffic.block_puts() == {3: 1, 4: 1}
    assert traffic.plans() == []
    assert len(traffic.to_endpoint("listUrl")) == 1
    assert stored_sessions(page) == []

    document = save(page, live_server, "Resumed after reload")
    assert_promoted(page, blob_service, blocks, document, "resumable.pdf", data)


def test_cancel_discards_the_uploaded_blocks(
    logged_in_page: Page, live_server, blocks, azurite, blob_service, tmp_path
):
    page = logged_in_page
    traffic = AzureTraffic(page, endpoint_of(azurite))
    held: list[Route] = []

    def only_block_1(route: Route) -> None:
        if block_number(route.request.url) == 1:
            route.continue_()
        else:
            held.append(route)

    route_blocks(page, only_block_1)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, _data = large_pdf(tmp_path, "cancelled.pdf", seed=5)
    part(file_widget, "file-input").set_input_files(path)
    eventually(page, lambda: traffic.blocks_stored() == {1} and len(held) >= 3)
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
