"""Files, locators and small waits shared by the browser tests."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
import hashlib
import io
import json
from pathlib import Path
import random
from typing import Any, TypeVar
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, Request, Response, Route, expect

T = TypeVar("T")

PDF_BYTES = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    + b"% padding so the upload takes a few progress events\n" * 40
    + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
# A ZIP archive's signature: neither a PDF, nor an image, nor text.
ZIP_BYTES = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4 + b"PK\x05\x06" + b"\x00" * 18


def png_bytes(width: int = 37, height: int = 23, colour: str = "teal") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(name: str, mime: str, data: bytes) -> dict[str, Any]:
    """An in-memory file for ``set_input_files``."""
    return {"name": name, "mimeType": mime, "buffer": data}


def widget(page_or_scope: Page | Locator, field_name: str) -> Locator:
    """The widget whose hidden input submits ``field_name`` (exact name, e.g. ``photos-0-image`` in inlines)."""
    return page_or_scope.locator(f'[data-async-upload]:has(input[type="hidden"][name="{field_name}"])')


def part(scope: Locator, role: str) -> Locator:
    return scope.locator(f'[data-role="{role}"]')


def hidden_input(scope: Locator) -> Locator:
    return scope.locator('input[type="hidden"]')


def hidden_value(scope: Locator) -> dict[str, Any] | None:
    raw = hidden_input(scope).input_value()
    return json.loads(raw) if raw else None


def pick(scope: Locator, name: str, mime: str, data: bytes) -> None:
    part(scope, "file-input").set_input_files(payload(name, mime, data))


def upload(scope: Locator, name: str, mime: str, data: bytes) -> dict[str, Any]:
    """Pick a file and wait until the widget has stored its key; returns the hidden input's value."""
    pick(scope, name, mime, data)
    expect(part(scope, "progress-text")).to_have_text("100%")
    expect(scope).to_have_attribute("data-state", "done")
    value = hidden_value(scope)
    assert value is not None and value["name"] == name, value
    return value


def drop(page: Page, target: Locator, name: str, mime: str, data: bytes) -> None:
    """Drag a file onto ``target`` the way a browser does: dragenter, dragover, then drop with a DataTransfer."""
    transfer = page.evaluate_handle(
        """([name, mime, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            return transfer;
        }""",
        [name, mime, base64.b64encode(data).decode()],
    )
    for event in ("dragenter", "dragover", "drop"):
        target.dispatch_event(event, {"dataTransfer": transfer})


def intercept_file_choosers(page: Page) -> None:
    """Turn on Playwright's file chooser interception before anything can open one.

    Interception is switched on when the first listener is added, asynchronously; a key press sent right after
    ``expect_file_chooser`` could otherwise open (and, headless, silently cancel) a real dialog.
    """
    page.on("filechooser", lambda chooser: None)


def eventually(page: Page, check: Callable[[], T], timeout_ms: int = 10_000, interval_ms: int = 50) -> T:
    """Poll ``check`` until it returns something truthy, with a deadline, for effects outside the page (database,
    files). Waiting through the page, rather than sleeping, keeps Playwright's event handlers (routes) running."""
    waited = 0
    while True:
        result = check()
        if result:
            return result
        if waited >= timeout_ms:
            raise AssertionError(f"condition not met within {timeout_ms} ms: {check}")
        page.wait_for_timeout(interval_ms)
        waited += interval_ms


class UploadGate:
    """Holds the widget's upload requests (XHR, which only the upload step uses) so tests control when they finish.

    ``hold`` requests wait in ``held`` until released; ``fail_next`` answers the next one with an error.
    """

    def __init__(self, page: Page):
        self.page = page
        self.hold = False
        self.fail_next: int = 0
        self.held: list[Route] = []
        self.seen = 0
        page.route("**/*", self._handle)

    def _handle(self, route: Route) -> None:
        if route.request.resource_type != "xhr":
            route.continue_()
            return
        self.seen += 1
        if self.fail_next:
            self.fail_next -= 1
            route.fulfill(status=500, content_type="text/plain", body="Storage exploded")
        elif self.hold:
            self.held.append(route)
        else:
            route.continue_()

    def wait_until_held(self, count: int = 1) -> None:
        eventually(self.page, lambda: len(self.held) >= count)

    def release_all(self) -> None:
        self.hold = False
        while self.held:
            self.held.pop(0).continue_()


def large_pdf(directory: Path, name: str, seed: int, size: int) -> tuple[Path, bytes]:
    """A file on disk that the server takes for a PDF (its first bytes), with random content so that misplaced
    parts would show. Picking a path is much quicker than sending megabytes of buffer to the browser, and it keeps
    the file's name, size and modification time from one pick to the next."""
    head = b"%PDF-1.4\n"
    data = head + random.Random(seed).randbytes(size - len(head))
    path = directory / name
    path.write_bytes(data)
    return path, data


class StorageTraffic:
    """What the page sends to the storage server and to our endpoints, as the browser issues it.

    ``part_number`` tells which part (S3) or block (Azure) a storage URL uploads, or ``None``. ``reset()`` starts
    counting afresh; the multipart endpoints are recognised by the URLs of the first plan.
    """

    def __init__(self, page: Page, endpoint: str, part_number: Callable[[str], int | None]):
        self.endpoint = endpoint.rstrip("/")
        self.part_number = part_number
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

    def part_puts(self) -> Counter:
        """Part number -> how many times the browser sent it."""
        return Counter(self.part_number(r.url) for r in self.to_storage("PUT") if self.part_number(r.url))

    def parts_stored(self) -> set[int]:
        """Parts whose PUT the storage answered with success."""
        return {
            self.part_number(r.url)
            for r in self.finished
            if r.method == "PUT" and self.part_number(r.url) and r.response() and r.response().ok
        }

    def plan(self) -> dict:
        """The first plan's body (read before the page navigates away: the browser drops it then)."""
        if self._plan is None:
            self._plan = self.plan_responses[0].json()
        return self._plan

    def to_endpoint(self, name: str) -> list[Request]:
        """POSTs to the multipart endpoint the first plan named ``name`` (signUrl, listUrl, ...)."""
        path = urlsplit(self.plan()["uploadUrl"]["multipart"][name]).path
        return [r for r in self.requests if r.method == "POST" and urlsplit(r.url).path == path]

    def plans(self) -> list[Request]:
        return [r for r in self.requests if "/generate-upload-url/" in r.url]


RESUME_PREFIX = "alliance-platform-storage:multipart:"


def route_part_uploads(page: Page, is_part_upload: Callable[[str], bool], handler: Callable[[Route], None]) -> None:
    """Send the part (S3) or block (Azure) uploads to ``handler``; CORS preflights and anything else go through.
    ``page.unroute(is_part_upload)`` ends it."""

    def dispatch(route: Route) -> None:
        if route.request.method == "PUT":
            handler(route)
        else:
            route.continue_()

    page.route(is_part_upload, dispatch)


def stored_sessions(page: Page) -> list[str]:
    """The widget's saved multipart sessions (what lets an upload resume after a reload)."""
    return page.evaluate(f"Object.keys(localStorage).filter((key) => key.startsWith({json.dumps(RESUME_PREFIX)}))")


def save(page: Page, live_server, title: str):
    """Submit the demo's document form and return the saved record."""
    from gallery.models import Document

    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_server.url}/")
    return Document.objects.get(title=title)


def expect_done(file_widget: Locator, name: str) -> dict:
    expect(file_widget).to_have_attribute("data-state", "done")
    expect(part(file_widget, "progress-text")).to_have_text("100%")
    value = hidden_value(file_widget)
    assert value["name"] == name, value
    return value
