"""The demo's document form uploading straight to Google Cloud Storage (fake-gcs-server), in headless Chromium.

Small files go up in one signed POST policy form; files above ``GCS_MULTIPART_THRESHOLD`` in parts, each an object
of its own sent with a signed PUT, several at a time, composed by the server; an interrupted upload resumes without
sending the parts GCS already holds, also after a reload. The emulator shows the page no ETag, so the widget asks
the server for the stored parts to complete, as it does when a bucket's CORS rules hide the header. Requests are
counted at the browser (``page.on("request")``) and interrupted with ``page.route``; nothing here sleeps.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect
import pytest

from gallery.models import Document
from tests.gcs.conftest import bucket_names, object_bytes

from .cloud import GCS_LARGE_SIZE, gcs_part_number, is_gcs_part_upload
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


def assert_promoted(page: Page, gcs_client, bucket: str, document: Document, name: str, data: bytes) -> None:
    """The record holds its final object, with the uploaded bytes; the temporary object and any parts are gone."""
    assert document.file.name == f"documents/{name}"
    assert sha256(object_bytes(gcs_client, bucket, f"documents/{name}")) == sha256(data)
    eventually(page, lambda: bucket_names(gcs_client, bucket) == [f"documents/{name}"])


def parts_in_bucket(gcs_client, bucket: str) -> list[str]:
    return [name for name in bucket_names(gcs_client, bucket) if "/.parts/" in name]


def test_small_pdf_single_post_promoted_and_downloadable(
    logged_in_page: Page, live_server, gcs_upload_bucket, gcs_client, gcs_server
):
    page = logged_in_page
    traffic = StorageTraffic(page, gcs_server["api_endpoint"], gcs_part_number)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    part(file_widget, "file-input").set_input_files(payload("report.pdf", "application/pdf", PDF_BYTES))
    value = expect_done(file_widget, "report.pdf")
    assert value["key"].startswith("async-temp-files/")
    # One signed POST policy form straight to the bucket, nothing in parts.
    assert [urlsplit(r.url).path for r in traffic.to_storage("POST")] == [f"/{gcs_upload_bucket}"]
    assert traffic.to_storage("PUT") == []
    assert gcs_client.bucket(gcs_upload_bucket).get_blob(value["key"]).content_type == "application/pdf"

    document = save(page, live_server, "GCS report")
    assert_promoted(page, gcs_client, gcs_upload_bucket, document, "report.pdf", PDF_BYTES)

    # The download view checks the session's permission, then redirects to a signed GET.
    redirect = page.request.get(document.file.url, max_redirects=0)
    assert redirect.status == 302, redirect.status
    location = redirect.headers["location"]
    assert location.startswith(f"{gcs_server['api_endpoint']}/{gcs_upload_bucket}/documents/report.pdf?")
    assert "response-content-disposition=attachment" in location
    download = page.request.get(location)
    assert download.ok, download.status
    assert download.body() == PDF_BYTES


def test_large_file_uploads_in_parallel_parts_composed_by_the_server(
    logged_in_page: Page, live_server, gcs_parts, gcs_client, gcs_server, tmp_path
):
    page = logged_in_page
    traffic = StorageTraffic(page, gcs_server["api_endpoint"], gcs_part_number)
    held: list[Route] = []
    route_part_uploads(page, is_gcs_part_upload, lambda route: held.append(route))
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "big.pdf", seed=7, size=GCS_LARGE_SIZE)

    part(file_widget, "file-input").set_input_files(path)
    # All four parts are on the wire at once: none of them has been let through yet.
    eventually(page, lambda: len(held) >= 4)
    assert sorted(gcs_part_number(route.request.url) for route in held) == [1, 2, 3, 4]
    expect(file_widget).to_have_attribute("data-state", "uploading")
    assert len(stored_sessions(page)) == 1
    for route in held:
        route.continue_()
    page.unroute(is_gcs_part_upload)

    value = expect_done(file_widget, "big.pdf")
    assert traffic.part_puts() == {1: 1, 2: 1, 3: 1, 4: 1}
    # No ETag reached the page: one listing of the stored parts named them, then one completion composed them.
    assert len(traffic.to_endpoint("listUrl")) == 1
    assert len(traffic.to_endpoint("completeUrl")) == 1
    assert len(traffic.plans()) == 1
    assert stored_sessions(page) == []
    assert parts_in_bucket(gcs_client, gcs_parts) == []
    assert gcs_client.bucket(gcs_parts).get_blob(value["key"]).content_type == "application/pdf"

    document = save(page, live_server, "Big one")
    assert_promoted(page, gcs_client, gcs_parts, document, "big.pdf", data)


def test_retry_after_dropped_connection_sends_only_missing_parts(
    logged_in_page: Page, live_server, gcs_parts, gcs_client, gcs_server, tmp_path
):
    page = logged_in_page
    traffic = StorageTraffic(page, gcs_server["api_endpoint"], gcs_part_number)

    def drop_part_3(route: Route) -> None:
        if gcs_part_number(route.request.url) == 3:
            route.abort("connectionreset")
        else:
            route.continue_()

    route_part_uploads(page, is_gcs_part_upload, drop_part_3)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "flaky.pdf", seed=23, size=GCS_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)

    # The widget retries the part four times, with growing pauses, then gives up and offers "Try again".
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "retry")).to_be_visible()
    assert traffic.part_puts() == {1: 1, 2: 1, 3: 5, 4: 1}
    assert hidden_value(file_widget) is None
    assert len(stored_sessions(page)) == 1

    page.unroute(is_gcs_part_upload)
    traffic.reset()
    part(file_widget, "retry").click()
    expect_done(file_widget, "flaky.pdf")
    # Resumed: the server listed the stored parts, only the missing one went up again, nothing was re-planned.
    assert traffic.part_puts() == {3: 1}
    assert traffic.plans() == []
    assert stored_sessions(page) == []

    document = save(page, live_server, "Flaky network")
    assert_promoted(page, gcs_client, gcs_parts, document, "flaky.pdf", data)


def test_upload_resumes_after_reload_without_resending_stored_parts(
    logged_in_page: Page, live_server, gcs_parts, gcs_client, gcs_server, tmp_path
):
    page = logged_in_page
    traffic = StorageTraffic(page, gcs_server["api_endpoint"], gcs_part_number)
    path, data = large_pdf(tmp_path, "resumable.pdf", seed=31, size=GCS_LARGE_SIZE)

    def only_parts_1_and_2(route: Route) -> None:
        if gcs_part_number(route.request.url) in (1, 2):
            route.continue_()
        else:
            route.abort("connectionreset")

    route_part_uploads(page, is_gcs_part_upload, only_parts_1_and_2)
    page.goto("/documents/new/")
    part(widget(page, "file"), "file-input").set_input_files(path)

    eventually(page, lambda: traffic.parts_stored() == {1, 2})
    planned_key = traffic.plan()["key"]
    assert len(parts_in_bucket(gcs_client, gcs_parts)) == 2
    assert len(stored_sessions(page)) == 1

    # The page goes away in the middle of the upload.
    page.reload()
    held: list[Route] = []
    page.unroute(is_gcs_part_upload)
    route_part_uploads(page, is_gcs_part_upload, lambda route: held.append(route))
    traffic.reset()
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "empty")
    part(file_widget, "file-input").set_input_files(path)

    eventually(page, lambda: len(held) >= 2)
    # Only the parts GCS did not hold, and the progress counts the 2 MiB already stored.
    assert sorted(gcs_part_number(route.request.url) for route in held) == [3, 4]
    expect(part(file_widget, "progress")).to_have_attribute("value", re.compile(r"^(5[7-9]|[6-9]\d)$"))
    for route in held:
        route.continue_()
    page.unroute(is_gcs_part_upload)

    value = expect_done(file_widget, "resumable.pdf")
    assert value["key"] == planned_key
    assert traffic.part_puts() == {3: 1, 4: 1}
    assert traffic.plans() == []
    assert stored_sessions(page) == []

    document = save(page, live_server, "Resumed after reload")
    assert_promoted(page, gcs_client, gcs_parts, document, "resumable.pdf", data)


def test_cancel_deletes_the_uploaded_parts(
    logged_in_page: Page, live_server, gcs_parts, gcs_client, gcs_server, tmp_path
):
    page = logged_in_page
    traffic = StorageTraffic(page, gcs_server["api_endpoint"], gcs_part_number)
    held: list[Route] = []

    def only_part_1(route: Route) -> None:
        if gcs_part_number(route.request.url) == 1:
            route.continue_()
        else:
            held.append(route)

    route_part_uploads(page, is_gcs_part_upload, only_part_1)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, _data = large_pdf(tmp_path, "cancelled.pdf", seed=5, size=GCS_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)
    eventually(page, lambda: traffic.parts_stored() == {1} and len(held) >= 3)
    assert len(parts_in_bucket(gcs_client, gcs_parts)) == 1

    part(file_widget, "cancel").click()
    expect(file_widget).to_have_attribute("data-state", "empty")
    eventually(page, lambda: len(traffic.to_endpoint("abortUrl")) == 1)
    eventually(page, lambda: bucket_names(gcs_client, gcs_parts) == [])
    assert stored_sessions(page) == []
    assert hidden_value(file_widget) is None
