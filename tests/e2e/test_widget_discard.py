"""The widget discards on the server the uploads it lets go of (Cancel, Remove, a replaced upload), so they stop
counting against the user's pending uploads at once; it never discards the record's saved file.

Uploads are held at the network (``UploadGate``, ``page.route``) to cancel them midway; the discard request is
awaited through Playwright (``expect_response``), so nothing here sleeps.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import Page, Request, Response, Route, expect
import pytest

from alliance_platform.storage.async_uploads.models import AsyncTempFile
from gallery.models import Document
from tests.conftest import media_files, read
from tests.s3.conftest import bucket_keys

from .cloud import S3_LARGE_SIZE, is_part_upload, part_number
from .helpers import (
    PDF_BYTES,
    UploadGate,
    eventually,
    hidden_input,
    large_pdf,
    part,
    pick,
    route_part_uploads,
    upload,
    widget,
)

pytestmark = pytest.mark.browser

DISCARD_PATH = "/async-uploads/discard-upload/"


def is_discard(response: Response) -> bool:
    return urlsplit(response.url).path == DISCARD_PATH


def is_plan(response: Response) -> bool:
    return urlsplit(response.url).path == "/async-uploads/generate-upload-url/"


def discarded_key(request: Request) -> str:
    """The key a discard request names (and it names the widget's field)."""
    data = parse_qs(request.post_data or "")
    assert data["fieldId"] == [Document._meta.get_field("file").async_field_id], data
    return data["key"][0]


def test_remove_discards_the_finished_upload(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    key = upload(file_widget, "unwanted.pdf", "application/pdf", PDF_BYTES)["key"]
    assert AsyncTempFile.objects.filter(key=key).exists()
    assert read(key) == PDF_BYTES

    with page.expect_response(is_discard) as discarded:
        part(file_widget, "clear").click()

    assert discarded.value.status == 204
    assert discarded_key(discarded.value.request) == key
    expect(file_widget).to_have_attribute("data-state", "empty")
    assert not AsyncTempFile.objects.filter(key=key).exists()
    assert not default_storage.exists(key)
    assert media_files() == {}


def test_cancel_discards_an_upload_in_progress(logged_in_page: Page, live_server):
    page = logged_in_page
    gate = UploadGate(page)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")

    gate.hold = True
    with page.expect_response(is_plan) as planned:
        pick(file_widget, "slow.pdf", "application/pdf", PDF_BYTES)
    key = planned.value.json()["key"]
    gate.wait_until_held()
    expect(file_widget).to_have_attribute("data-state", "uploading")
    assert AsyncTempFile.objects.filter(key=key).exists()

    with page.expect_response(is_discard) as discarded:
        part(file_widget, "cancel").click()
    gate.held.clear()  # aborted by the page; nothing to release

    assert discarded.value.status == 204
    assert discarded_key(discarded.value.request) == key
    expect(file_widget).to_have_attribute("data-state", "empty")
    assert AsyncTempFile.objects.count() == 0
    assert media_files() == {}


def test_cancel_while_the_plan_is_on_its_way_discards_it_when_it_arrives(logged_in_page: Page, live_server):
    page = logged_in_page
    held: list[Route] = []
    page.route("**/async-uploads/generate-upload-url/", lambda route: held.append(route))
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    pick(file_widget, "early.pdf", "application/pdf", PDF_BYTES)
    eventually(page, lambda: held)
    part(file_widget, "cancel").click()
    expect(file_widget).to_have_attribute("data-state", "empty")

    # The server records the upload only now, after the user cancelled; the widget learns its key from the answer.
    with page.expect_response(is_discard) as discarded:
        held[0].continue_()

    assert discarded.value.status == 204
    assert discarded_key(discarded.value.request).startswith("async-temp-files/")
    assert AsyncTempFile.objects.count() == 0
    expect(hidden_input(file_widget)).to_have_value("")


def test_try_again_discards_the_failed_attempts_upload(logged_in_page: Page, live_server):
    page = logged_in_page
    gate = UploadGate(page)
    gate.fail_next = 1
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    with page.expect_response(is_plan) as planned:
        pick(file_widget, "flaky.pdf", "application/pdf", PDF_BYTES)
    failed_key = planned.value.json()["key"]
    expect(file_widget).to_have_attribute("data-state", "error")
    assert AsyncTempFile.objects.filter(key=failed_key).exists()

    with page.expect_response(is_discard) as discarded:
        part(file_widget, "retry").click()
    expect(file_widget).to_have_attribute("data-state", "done")

    assert discarded.value.status == 204
    assert discarded_key(discarded.value.request) == failed_key
    kept = hidden_input(file_widget).input_value()
    assert list(AsyncTempFile.objects.values_list("key", flat=True)) == [json.loads(kept)["key"]]


def test_a_replaced_upload_is_discarded_and_the_saved_file_never_is(logged_in_page: Page, live_server):
    page = logged_in_page
    default_storage.save("documents/saved.pdf", ContentFile(PDF_BYTES))
    document = Document.objects.create(title="Saved", file="documents/saved.pdf")
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request) if urlsplit(request.url).path == DISCARD_PATH else None)
    page.goto(f"/documents/{document.pk}/edit/")
    file_widget = widget(page, "file")
    expect(file_widget).to_have_attribute("data-state", "existing")

    # Removing the saved file only empties the field (the file goes when the form is saved): nothing is discarded.
    part(file_widget, "clear").click()
    expect(file_widget).to_have_attribute("data-state", "empty")
    first = upload(file_widget, "first.pdf", "application/pdf", PDF_BYTES)["key"]

    # A second upload takes the first one's place: the first will never be submitted.
    with page.expect_response(is_discard) as discarded:
        second = upload(file_widget, "second.pdf", "application/pdf", PDF_BYTES)["key"]

    assert discarded.value.status == 204
    assert discarded_key(discarded.value.request) == first
    assert [discarded_key(request) for request in sent] == [first]
    assert not AsyncTempFile.objects.filter(key=first).exists()
    assert AsyncTempFile.objects.filter(key=second).exists()
    assert read(second) == PDF_BYTES
    assert read("documents/saved.pdf") == PDF_BYTES
    document.refresh_from_db()
    assert document.file.name == "documents/saved.pdf"


def test_cancel_aborts_a_multipart_upload_on_s3(logged_in_page: Page, live_server, multipart, s3_client, tmp_path):
    page = logged_in_page
    bucket = multipart
    held: list[Route] = []

    def first_part_only(route: Route) -> None:
        if part_number(route.request.url) == 1:
            route.continue_()
        else:
            held.append(route)

    route_part_uploads(page, is_part_upload, first_part_only)
    page.goto("/documents/new/")
    file_widget = widget(page, "file")
    path, _data = large_pdf(tmp_path, "big.pdf", seed=11, size=S3_LARGE_SIZE)

    with page.expect_response(is_plan) as planned:
        part(file_widget, "file-input").set_input_files(path)
    plan = planned.value.json()
    key, upload_id = plan["key"], plan["uploadUrl"]["multipart"]["uploadId"]

    def stored_parts() -> list[int]:
        listed = s3_client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
        return [item["PartNumber"] for item in listed.get("Parts", [])]

    assert eventually(page, stored_parts) == [1]
    expect(file_widget).to_have_attribute("data-state", "uploading")

    with page.expect_response(is_discard) as discarded:
        part(file_widget, "cancel").click()
    held.clear()  # aborted by the page; nothing to release

    assert discarded.value.status == 204
    assert discarded_key(discarded.value.request) == key
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert bucket_keys(s3_client, bucket) == []
    assert not AsyncTempFile.objects.filter(key=key).exists()
