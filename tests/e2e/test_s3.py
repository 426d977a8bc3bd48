"""The demo's document form uploading straight to a real S3 server (SeaweedFS), in headless Chromium.

Small files go up in one presigned POST; files above ``S3_MULTIPART_THRESHOLD`` in parts, several at a time, and
an interrupted multipart upload resumes without sending the parts storage already has. Requests are counted at the
browser (``page.on("request")``) and interrupted with ``page.route``; nothing here sleeps.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, Route, expect
import pytest

from gallery.models import Document
from tests.s3.conftest import bucket_keys, object_bytes

from .cloud import S3_LARGE_SIZE, is_part_upload, part_number
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


def assert_promoted(s3_client, bucket: str, document: Document, name: str, data: bytes) -> None:
    assert document.file.name == f"documents/{name}"
    assert sha256(object_bytes(s3_client, bucket, f"documents/{name}")) == sha256(data)


def test_small_pdf_single_post_promoted_and_downloadable(
    logged_in_page: Page,
    live_server,
    s3_bucket,
    s3_client,
    s3_server,
):
    page = logged_in_page
    traffic = StorageTraffic(page, s3_server["endpoint_url"], part_number)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    part(file_widget, "file-input").set_input_files(payload("report.pdf", "application/pdf", PDF_BYTES))
    value = expect_done(file_widget, "report.pdf")
    assert value["key"].startswith("async-temp-files/")
    # One presigned POST straight to the bucket, nothing in parts.
    assert [urlsplit(r.url).path for r in traffic.to_storage("POST")] == [f"/{s3_bucket}"]
    assert traffic.to_storage("PUT") == []

    document = save(page, live_server, "S3 report")
    assert_promoted(s3_client, s3_bucket, document, "report.pdf", PDF_BYTES)
    eventually(page, lambda: bucket_keys(s3_client, s3_bucket) == ["documents/report.pdf"])

    # The download view checks the session's permission, then redirects to a presigned GET.
    redirect = page.request.get(document.file.url, max_redirects=0)
    assert redirect.status == 302, redirect.status
    location = redirect.headers["location"]
    assert location.startswith(s3_server["endpoint_url"])
    download = page.request.get(location)
    assert download.ok, download.status
    assert download.body() == PDF_BYTES
    assert download.headers["content-disposition"] == 'attachment; filename="report.pdf"'


def test_large_file_uploads_in_parallel_parts(
    logged_in_page: Page,
    live_server,
    multipart,
    s3_client,
    s3_server,
    tmp_path,
):
    page = logged_in_page
    traffic = StorageTraffic(page, s3_server["endpoint_url"], part_number)
    held: list[Route] = []
    route_part_uploads(page, is_part_upload, lambda route: held.append(route))
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "big.pdf", seed=7, size=S3_LARGE_SIZE)

    part(file_widget, "file-input").set_input_files(path)
    # All four parts are on the wire at once: none of them has been let through yet.
    eventually(page, lambda: len(held) >= 4)
    assert sorted(part_number(route.request.url) for route in held) == [1, 2, 3, 4]
    expect(file_widget).to_have_attribute("data-state", "uploading")
    assert len(stored_sessions(page)) == 1
    for route in held:
        route.continue_()
    page.unroute(is_part_upload)

    expect_done(file_widget, "big.pdf")
    assert traffic.part_puts() == {1: 1, 2: 1, 3: 1, 4: 1}
    assert traffic.to_storage("POST") == []
    assert len(traffic.plans()) == 1
    # A finished upload leaves nothing to resume.
    assert stored_sessions(page) == []

    document = save(page, live_server, "Big one")
    assert_promoted(s3_client, multipart, document, "big.pdf", data)
    eventually(page, lambda: bucket_keys(s3_client, multipart) == ["documents/big.pdf"])
    assert s3_client.list_multipart_uploads(Bucket=multipart).get("Uploads", []) == []


def test_failed_part_is_retried_with_a_freshly_signed_url(
    logged_in_page: Page,
    live_server,
    multipart,
    s3_client,
    s3_server,
    tmp_path,
):
    page = logged_in_page
    traffic = StorageTraffic(page, s3_server["endpoint_url"], part_number)
    aborted: list[str] = []

    def drop_part_3_once(route: Route) -> None:
        if part_number(route.request.url) == 3 and not aborted:
            aborted.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    route_part_uploads(page, is_part_upload, drop_part_3_once)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "retried.pdf", seed=11, size=S3_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)

    expect_done(file_widget, "retried.pdf")
    assert len(aborted) == 1
    assert traffic.part_puts() == {1: 1, 2: 1, 3: 2, 4: 1}
    # The retry did not reuse the URL of the failed attempt: it asked for part 3 alone to be signed again.
    signed = [parse_qs(r.post_data)["partNumbers"][0] for r in traffic.to_endpoint("signUrl")]
    assert signed[-1] == "3", signed
    assert len(signed) == 2, signed
    retry_url = [r.url for r in traffic.to_storage("PUT") if part_number(r.url) == 3][-1]
    assert retry_url != aborted[0]

    document = save(page, live_server, "Retried")
    assert_promoted(s3_client, multipart, document, "retried.pdf", data)


def test_retry_after_dropped_connection_sends_only_missing_parts(
    logged_in_page: Page,
    live_server,
    multipart,
    s3_client,
    s3_server,
    tmp_path,
):
    page = logged_in_page
    traffic = StorageTraffic(page, s3_server["endpoint_url"], part_number)

    def drop_part_3(route: Route) -> None:
        if part_number(route.request.url) == 3:
            route.abort("connectionreset")
        else:
            route.continue_()

    route_part_uploads(page, is_part_upload, drop_part_3)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "flaky.pdf", seed=23, size=S3_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)

    # The widget retries the part four times, with growing pauses, then gives up and offers "Try again".
    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "error")).to_contain_text("could not be reached")
    expect(part(file_widget, "retry")).to_be_visible()
    assert traffic.part_puts() == {1: 1, 2: 1, 3: 5, 4: 1}
    assert hidden_value(file_widget) is None
    assert len(stored_sessions(page)) == 1

    page.unroute(is_part_upload)
    traffic.reset()
    part(file_widget, "retry").click()
    expect_done(file_widget, "flaky.pdf")
    # Resumed: the server listed what it holds, only the missing part went up again, and nothing was re-planned.
    assert traffic.part_puts() == {3: 1}
    assert len(traffic.to_endpoint("listUrl")) == 1
    assert traffic.plans() == []
    assert stored_sessions(page) == []

    document = save(page, live_server, "Flaky network")
    assert_promoted(s3_client, multipart, document, "flaky.pdf", data)


def test_upload_resumes_after_reload_without_resending_stored_parts(
    logged_in_page: Page,
    live_server,
    multipart,
    s3_client,
    s3_server,
    tmp_path,
):
    page = logged_in_page
    traffic = StorageTraffic(page, s3_server["endpoint_url"], part_number)
    # The pick after the reload finds the same name, size and modification time.
    path, data = large_pdf(tmp_path, "resumable.pdf", seed=31, size=S3_LARGE_SIZE)

    def only_parts_1_and_2(route: Route) -> None:
        if part_number(route.request.url) in (1, 2):
            route.continue_()
        else:
            route.abort("connectionreset")

    route_part_uploads(page, is_part_upload, only_parts_1_and_2)
    page.goto("/documents/new/")
    part(widget(page, "file"), "file-input").set_input_files(path)

    eventually(page, lambda: traffic.parts_stored() == {1, 2})
    planned_key = traffic.plan()["key"]
    assert len(stored_sessions(page)) == 1

    # The page goes away in the middle of the upload; the route keeps parts 3 and 4 from getting through until then.
    page.reload()
    held: list[Route] = []
    page.unroute(is_part_upload)
    route_part_uploads(page, is_part_upload, lambda route: held.append(route))
    traffic.reset()
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "empty")
    part(file_widget, "file-input").set_input_files(path)

    eventually(page, lambda: len(held) >= 2)
    # Only the parts storage did not have, and the progress counts the 10 MiB already stored.
    assert sorted(part_number(route.request.url) for route in held) == [3, 4]
    expect(part(file_widget, "progress")).to_have_attribute("value", re.compile(r"^(6[2-9]|[7-9]\d)$"))
    for route in held:
        route.continue_()
    page.unroute(is_part_upload)

    value = expect_done(file_widget, "resumable.pdf")
    assert value["key"] == planned_key
    assert traffic.part_puts() == {3: 1, 4: 1}
    assert traffic.plans() == []
    assert len(traffic.to_endpoint("listUrl")) == 1
    assert stored_sessions(page) == []

    document = save(page, live_server, "Resumed after reload")
    assert_promoted(s3_client, multipart, document, "resumable.pdf", data)
    eventually(page, lambda: bucket_keys(s3_client, multipart) == ["documents/resumable.pdf"])


def test_cancel_aborts_the_multipart_upload(
    logged_in_page: Page,
    live_server,
    multipart,
    s3_client,
    s3_server,
    tmp_path,
):
    page = logged_in_page
    traffic = StorageTraffic(page, s3_server["endpoint_url"], part_number)
    held: list[Route] = []
    route_part_uploads(page, is_part_upload, lambda route: held.append(route))
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, _data = large_pdf(tmp_path, "cancelled.pdf", seed=5, size=S3_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)
    eventually(page, lambda: len(held) >= 4)
    assert len(s3_client.list_multipart_uploads(Bucket=multipart).get("Uploads", [])) == 1

    part(file_widget, "cancel").click()
    expect(file_widget).to_have_attribute("data-state", "empty")
    expect(part(file_widget, "status")).to_have_text("Upload cancelled.")
    eventually(page, lambda: len(traffic.to_endpoint("abortUrl")) == 1)
    eventually(page, lambda: s3_client.list_multipart_uploads(Bucket=multipart).get("Uploads", []) == [])
    assert stored_sessions(page) == []
    assert hidden_value(file_widget) is None


def test_bucket_hiding_etags_still_completes_through_the_parts_list(
    logged_in_page: Page,
    live_server,
    multipart,
    s3_client,
    s3_server,
    tmp_path,
):
    # CORS rules without ExposeHeaders: the page may upload but cannot read the ETag of what it uploaded.
    s3_client.put_bucket_cors(
        Bucket=multipart,
        CORSConfiguration={
            "CORSRules": [
                {"AllowedOrigins": [live_server.url], "AllowedMethods": ["GET", "PUT", "POST"], "AllowedHeaders": ["*"]}
            ]
        },
    )
    page = logged_in_page
    traffic = StorageTraffic(page, s3_server["endpoint_url"], part_number)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, data = large_pdf(tmp_path, "hidden-etags.pdf", seed=41, size=S3_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)

    expect_done(file_widget, "hidden-etags.pdf")
    assert traffic.part_puts() == {1: 1, 2: 1, 3: 1, 4: 1}
    # The ETags came from the server's list of stored parts, asked for once, after the last part.
    lists = traffic.to_endpoint("listUrl")
    assert len(lists) == 1
    last_part = max(traffic.requests.index(r) for r in traffic.to_storage("PUT"))
    assert traffic.requests.index(lists[0]) > last_part

    document = save(page, live_server, "Hidden ETags")
    assert_promoted(s3_client, multipart, document, "hidden-etags.pdf", data)


def test_refused_completion_shows_the_server_message_and_forgets_the_upload(
    logged_in_page: Page,
    live_server,
    multipart,
    s3_client,
    s3_server,
    tmp_path,
):
    page = logged_in_page
    traffic = StorageTraffic(page, s3_server["endpoint_url"], part_number)
    refusal = json.dumps({"detail": "The file is larger than this field allows."})
    page.route(
        "**/multipart/complete/",
        lambda route: route.fulfill(status=413, content_type="application/json", body=refusal),
    )
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, _data = large_pdf(tmp_path, "refused.pdf", seed=43, size=S3_LARGE_SIZE)
    part(file_widget, "file-input").set_input_files(path)

    expect(file_widget).to_have_attribute("data-state", "error")
    expect(part(file_widget, "error")).to_have_text("The file is larger than this field allows.")
    assert len(traffic.to_endpoint("completeUrl")) == 1
    assert hidden_value(file_widget) is None
    # Refused for good: the parts are discarded and nothing is left to resume.
    eventually(page, lambda: len(traffic.to_endpoint("abortUrl")) == 1)
    eventually(page, lambda: s3_client.list_multipart_uploads(Bucket=multipart).get("Uploads", []) == [])
    assert stored_sessions(page) == []


def test_same_file_in_two_widgets_of_one_field_gets_two_uploads(
    logged_in_page: Page,
    live_server,
    multipart,
    s3_client,
    s3_server,
    tmp_path,
):
    """Like two inline rows in the admin: one field id, the same file picked in both while the first still uploads.
    The second must not join the first's multipart upload (both would end up with one key)."""
    page = logged_in_page
    traffic = StorageTraffic(page, s3_server["endpoint_url"], part_number)
    held: list[Route] = []
    route_part_uploads(page, is_part_upload, lambda route: held.append(route))
    page.goto("/documents/new/")
    # A second row added at run time, the way the admin's "Add another" does: a copy of the first, renamed.
    page.locator("[data-async-upload]:has(input[name='file'])").evaluate(
        """(root) => {
            const copy = root.cloneNode(true);
            copy.querySelector("input[type=hidden]").name = "second-file";
            root.after(copy);
        }"""
    )
    first, second = widget(page, "file"), widget(page, "second-file")
    expect(second).to_have_attribute("data-state", "empty")
    path, data = large_pdf(tmp_path, "twice.pdf", seed=47, size=S3_LARGE_SIZE)

    part(first, "file-input").set_input_files(path)
    eventually(page, lambda: len(held) >= 4)
    part(second, "file-input").set_input_files(path)
    eventually(page, lambda: len(held) >= 8)
    assert len(traffic.plans()) == 2
    assert traffic.to_endpoint("listUrl") == []
    for route in held:
        route.continue_()
    page.unroute(is_part_upload)

    first_key = expect_done(first, "twice.pdf")["key"]
    second_key = expect_done(second, "twice.pdf")["key"]
    assert first_key != second_key
    for key in (first_key, second_key):
        assert sha256(object_bytes(s3_client, multipart, key)) == sha256(data)
    assert stored_sessions(page) == []
