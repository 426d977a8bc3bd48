"""Files, locators and small waits shared by the browser tests."""

from __future__ import annotations

import base64
from collections.abc import Callable
import hashlib
import io
import json
from typing import Any, TypeVar

from playwright.sync_api import Locator, Page, Route, expect

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
