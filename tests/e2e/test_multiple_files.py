"""The demo's gallery page: several photos dropped at once onto one AsyncMultipleFileField, in headless Chromium,
on the filesystem backend, S3 (SeaweedFS) and Azure (Azurite).

Files are made in the page (a valid PNG header, then a byte pattern the test can rebuild), so a large batch costs
no transfer from the test to the browser. Requests are counted and held at the browser; nothing here sleeps.
"""

from __future__ import annotations

import base64
from collections import Counter
import io
import re
from urllib.parse import unquote, urlsplit

from playwright.sync_api import Locator, Page, Request, Route, expect
import pytest

from gallery.forms import AlbumForm
from gallery.models import Album, Photo

from .cloud import AZURE_BLOCK_SIZE, S3_PART_SIZE, MiB, block_number, part_number
from .helpers import eventually, part, sha256, stored_sessions, widget

pytestmark = pytest.mark.browser

IMAGE = Photo._meta.get_field("image")
# One modification time for every file, so a file made again after a reload is the same file to the resume store.
LAST_MODIFIED = 1_700_000_000_000


def png_head(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, format="PNG")
    return buffer.getvalue()


class Spec:
    """A file to make in the page: ``head`` then the bytes ``(i + seed) % 256`` up to ``size``."""

    def __init__(self, name: str, size: int, *, mime: str = "image/png", head: bytes | None = None, seed: int = 0):
        self.name, self.size, self.mime, self.seed = name, size, mime, seed
        self.head = png_head(20 + seed, 10 + seed) if head is None else head

    def content(self) -> bytes:
        pattern = bytes(range(256))
        shift = self.seed % 256
        rotated = pattern[shift:] + pattern[:shift]
        body = (rotated * (self.size // 256 + 1))[: self.size]
        return self.head + body[len(self.head) :]

    def as_js(self) -> dict:
        return {
            "name": self.name,
            "size": self.size,
            "mime": self.mime,
            "head": base64.b64encode(self.head).decode(),
            "seed": self.seed,
        }


def drop_files(page: Page, target: Locator, specs: list[Spec]) -> None:
    """Drag ``specs`` onto ``target`` at once, the way a browser does: dragenter, dragover, drop."""
    transfer = page.evaluate_handle(
        """([specs, lastModified]) => {
            const transfer = new DataTransfer();
            for (const { name, size, mime, head, seed } of specs) {
                const bytes = new Uint8Array(size);
                const start = Uint8Array.from(atob(head), (c) => c.charCodeAt(0));
                for (let i = start.length; i < size; i += 1) bytes[i] = (i + seed) & 255;
                bytes.set(start);
                transfer.items.add(new File([bytes], name, { type: mime, lastModified }));
            }
            return transfer;
        }""",
        [[spec.as_js() for spec in specs], LAST_MODIFIED],
    )
    for event in ("dragenter", "dragover", "drop"):
        target.dispatch_event(event, {"dataTransfer": transfer})


def photos(page: Page) -> Locator:
    return widget(page, "photos")


def own(scope: Locator, role: str) -> Locator:
    """A part of the widget itself, not of one of its rows (they use the same roles)."""
    return scope.locator(f':scope > [data-role="{role}"]')


def row(page: Page, name: str) -> Locator:
    return (
        photos(page).locator("[data-upload-item]").filter(has=page.locator(f'[data-role="filename"]:text-is("{name}")'))
    )


def rows(page: Page) -> Locator:
    return photos(page).locator("[data-upload-item]")


def plans(requests: list[Request]) -> list[Request]:
    return [r for r in requests if "/generate-upload-url/" in r.url]


def save_album(page: Page, live_server, name: str) -> Album:
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(live_server.url)}/albums/\d+/$"))
    return Album.objects.get(name=name)


def stored_content(photo: Photo) -> bytes:
    with photo.image.storage.open(photo.image.name) as f:
        return f.read()


def assert_saved(album: Album, specs: list[Spec]) -> None:
    saved = list(album.photos.order_by("pk"))
    assert [p.image.name for p in saved] == [f"photos/{spec.name}" for spec in specs]
    for photo, spec in zip(saved, specs, strict=True):
        assert sha256(stored_content(photo)) == sha256(spec.content()), spec.name
        assert (photo.width, photo.height) == (20 + spec.seed, 10 + spec.seed)


# Per backend: the Photo limit for the test, and a size that goes up in parts (S3, Azure) or in one PUT.
BACKENDS = {
    "filesystem": {"fixture": None, "max_size": 2 * MiB, "big": 3 * MiB // 2},
    "s3": {"fixture": "multipart", "max_size": 12 * MiB, "big": 11 * MiB, "part_size": S3_PART_SIZE},
    "azure": {"fixture": "blocks", "max_size": 5 * MiB, "big": 7 * MiB // 2, "part_size": AZURE_BLOCK_SIZE},
}


@pytest.fixture
def backend(request, monkeypatch, settings):
    """The demo's storage on the backend named by the test's parameter, with a Photo size limit to match."""
    config = BACKENDS[request.param]
    if config["fixture"]:
        request.getfixturevalue(config["fixture"])
    monkeypatch.setattr(IMAGE, "max_size", config["max_size"] / MiB)
    return {"name": request.param, **config}


def mixed_batch(big: int, max_size: int) -> tuple[list[Spec], Spec, Spec]:
    """Ten acceptable photos of mixed size, one too large and one of a forbidden type, in drop order."""
    sizes = [3_000, 40_000, big, 900, 250_000, 12_000, 600_000, 5_000, 80_000, 1_500]
    good = [Spec(f"photo-{index:02d}.png", size, seed=index) for index, size in enumerate(sizes)]
    too_large = Spec("huge.png", max_size * 3 // 2, seed=40)
    forbidden = Spec("notes.txt", 2_000, mime="text/plain", head=b"just some text\n", seed=41)
    return good, too_large, forbidden


@pytest.mark.parametrize("backend", ["filesystem", "s3", "azure"], indirect=True)
def test_twelve_files_ten_saved_two_refused_with_reasons(logged_in_page: Page, live_server, backend):
    page = logged_in_page
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))
    page.goto("/albums/new/")
    good, too_large, forbidden = mixed_batch(backend["big"], backend["max_size"])
    batch = [*good[:3], too_large, *good[3:7], forbidden, *good[7:]]
    drop_files(page, own(photos(page), "drop-zone"), batch)

    expect(rows(page)).to_have_count(12)
    # Two clear per-file errors, found before anything was sent.
    expect(part(row(page, "huge.png"), "error")).to_have_text(re.compile(r"“huge\.png” is .+; files can be at most"))
    expect(part(row(page, "notes.txt"), "error")).to_have_text(
        "“notes.txt” is not an allowed type of file. Allowed: image/*."
    )
    for spec in good:
        expect(row(page, spec.name)).to_have_attribute("data-state", "done", timeout=60_000)
    assert len(plans(requests)) == 10, "the refused files were never planned"

    # The form waits until the failed files are removed too.
    page.get_by_label("Name").fill(f"Batch on {backend['name']}")
    page.get_by_role("button", name="Save").click()
    expect(own(photos(page), "error")).to_contain_text("remove the files that failed")
    expect(page).to_have_url(f"{live_server.url}/albums/new/")
    page.get_by_role("button", name="Cancel huge.png").click()
    page.get_by_role("button", name="Cancel notes.txt").click()
    expect(rows(page)).to_have_count(10)

    album = save_album(page, live_server, f"Batch on {backend['name']}")
    assert_saved(album, good)


@pytest.mark.parametrize("backend", ["filesystem"], indirect=True)
def test_a_few_files_upload_at_a_time(logged_in_page: Page, live_server, backend):
    page = logged_in_page
    held: list[Route] = []
    page.route("**/filesystem-upload/**", lambda route: held.append(route))
    page.goto("/albums/new/")
    specs = [Spec(f"queued-{n}.png", 5_000, seed=n) for n in range(7)]
    drop_files(page, own(photos(page), "drop-zone"), specs)

    eventually(page, lambda: len(held) >= 3)
    # Three on the wire (the default data-concurrency); the others wait their turn, and say so.
    expect(part(row(page, "queued-6.png"), "status")).to_have_text("queued-6.png is waiting to upload…")
    expect(photos(page).locator("[data-upload-item] [data-role='status']", has_text="waiting")).to_have_count(4)
    assert len(held) == 3
    for route in held:
        route.continue_()
    page.unroute("**/filesystem-upload/**")
    for spec in specs:
        expect(row(page, spec.name)).to_have_attribute("data-state", "done")
    assert_saved(save_album(page, live_server, "Queued"), specs)


def without_origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def is_storage_upload(url: str) -> bool:
    return "/filesystem-upload/" in url or part_number(url) is not None or block_number(url) is not None


@pytest.mark.parametrize("backend", ["filesystem", "s3"], indirect=True)
def test_cancelling_one_file_midway_keeps_the_others(logged_in_page: Page, live_server, backend):
    page = logged_in_page
    held: list[Route] = []
    discards: list[Request] = []
    page.on("request", lambda r: "/discard" in r.url and discards.append(r))

    slow_urls: set[str] = set()

    def note_the_slow_plan(route: Route) -> None:
        # A filesystem upload URL does not name the file: remember the one its plan gave slow.png.
        response = route.fetch()
        body = response.json()
        if "slow" in body.get("key", ""):
            slow_urls.add(without_origin(body["uploadUrl"]["url"]))
        route.fulfill(response=response)

    def hold_the_slow_one(route: Route) -> None:
        url = route.request.url
        slow = without_origin(url) in slow_urls or (part_number(url) and "slow" in unquote(url))
        # S3 multipart: let part 1 through so the file is really midway, hold the rest.
        if slow and part_number(url) != 1:
            held.append(route)
        else:
            route.continue_()

    page.route("**/generate-upload-url/**", note_the_slow_plan)
    page.route(lambda url: is_storage_upload(url), hold_the_slow_one)
    page.goto("/albums/new/")
    first, last = Spec("first.png", 4_000, seed=1), Spec("last.png", 9_000, seed=3)
    slow = Spec("slow.png", backend["big"], seed=2)
    drop_files(page, own(photos(page), "drop-zone"), [first, slow, last])
    expect(row(page, "first.png")).to_have_attribute("data-state", "done")
    expect(row(page, "last.png")).to_have_attribute("data-state", "done")
    eventually(page, lambda: held)
    expect(row(page, "slow.png")).to_have_attribute("data-state", "uploading")

    page.get_by_role("button", name="Cancel slow.png").click()
    expect(rows(page)).to_have_count(2)
    expect(own(photos(page), "status")).to_have_text("Upload of slow.png cancelled.")
    # Its upload is discarded on the server, not left to count against the user until cleanup.
    eventually(page, lambda: discards)
    for route in held:
        route.abort()
    assert_saved(save_album(page, live_server, "Cancelled one"), [first, last])


class PartTraffic:
    """Part (S3) or block (Azure) PUTs the browser sends, by (object, part number)."""

    def __init__(self, page: Page, number):
        self.number = number
        self.sent: list[tuple[str, int]] = []
        self.stored: set[tuple[str, int]] = set()
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_finished)

    def _id(self, request: Request) -> tuple[str, int] | None:
        number = self.number(request.url)
        return (urlsplit(request.url).path, number) if request.method == "PUT" and number else None

    def _on_request(self, request: Request) -> None:
        if ident := self._id(request):
            self.sent.append(ident)

    def _on_finished(self, request: Request) -> None:
        ident = self._id(request)
        if ident and request.response() and request.response().ok:
            self.stored.add(ident)


@pytest.mark.parametrize("backend", ["azure", "s3"], indirect=True)
def test_reload_mid_batch_resumes_each_file_without_resending_stored_parts(logged_in_page: Page, live_server, backend):
    page = logged_in_page
    number = block_number if backend["name"] == "azure" else part_number
    traffic = PartTraffic(page, number)
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))

    def only_parts_1_and_2(route: Route) -> None:
        if route.request.method != "PUT" or number(route.request.url) in (1, 2):
            route.continue_()
        else:
            route.abort("connectionreset")

    page.route(lambda url: number(url) is not None, only_parts_1_and_2)
    page.goto("/albums/new/")
    size = backend["big"]
    specs = [Spec(f"resumed-{n}.png", size, seed=n) for n in range(3)]
    drop_files(page, own(photos(page), "drop-zone"), specs)
    eventually(page, lambda: len(traffic.stored) == 6, timeout_ms=60_000)
    before = set(traffic.stored)
    assert len({path for path, _ in before}) == 3, "parts 1 and 2 of each of the three files"
    assert len(stored_sessions(page)) == 3

    page.reload()
    page.unroute(lambda url: number(url) is not None)
    page.unroute_all()
    traffic.sent.clear()
    requests.clear()
    expect(rows(page)).to_have_count(0)
    drop_files(page, own(photos(page), "drop-zone"), specs)
    for spec in specs:
        expect(row(page, spec.name)).to_have_attribute("data-state", "done", timeout=60_000)

    # Each file continued its own upload: nothing stored before the reload was sent again, no new plan.
    assert not set(traffic.sent) & before
    parts = -(-size // backend["part_size"])
    assert parts > 2
    assert Counter(path for path, _ in traffic.sent) == Counter({path: parts - 2 for path, _ in before})
    assert plans(requests) == []
    assert stored_sessions(page) == []
    assert_saved(save_album(page, live_server, f"Resumed on {backend['name']}"), specs)


@pytest.mark.parametrize("backend", ["filesystem", "azure"], indirect=True)
def test_max_files_is_enforced_before_uploading(logged_in_page: Page, live_server, backend, monkeypatch):
    monkeypatch.setattr(AlbumForm.base_fields["photos"], "max_files", 3)
    page = logged_in_page
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))
    page.goto("/albums/new/")
    drop_zone = own(photos(page), "drop-zone")
    expect(drop_zone).to_contain_text("At most 3 files")

    drop_files(page, drop_zone, [Spec(f"over-{n}.png", 2_000, seed=n) for n in range(4)])
    expect(own(photos(page), "error")).to_have_text(
        "Too many files: there is room for 3 more (limit: 3). Choose fewer files."
    )
    expect(rows(page)).to_have_count(0)
    assert plans(requests) == []

    kept = [Spec(f"kept-{n}.png", 2_000, seed=n) for n in range(2)]
    drop_files(page, drop_zone, kept)
    for spec in kept:
        expect(row(page, spec.name)).to_have_attribute("data-state", "done")
    drop_files(page, drop_zone, [Spec(f"more-{n}.png", 2_000, seed=n) for n in range(2)])
    expect(own(photos(page), "error")).to_have_text(
        "Too many files: there is room for 1 more (limit: 3). Choose fewer files."
    )
    last = Spec("last.png", 2_000, seed=9)
    drop_files(page, drop_zone, [last])
    expect(row(page, "last.png")).to_have_attribute("data-state", "done")
    expect(own(photos(page), "error")).to_have_text("")
    drop_files(page, drop_zone, [Spec("one-too-many.png", 2_000, seed=10)])
    expect(own(photos(page), "error")).to_have_text("The list is full (limit: 3). Remove a file before adding another.")
    assert len(plans(requests)) == 3
    assert_saved(save_album(page, live_server, "At most three"), [*kept, last])


@pytest.mark.parametrize("backend", ["filesystem"], indirect=True)
def test_form_shown_again_keeps_accepted_files_and_shows_refused_ones(logged_in_page: Page, live_server, backend):
    page = logged_in_page
    page.goto("/albums/new/")
    first, second = Spec("first.png", 3_000, seed=1), Spec("second.png", 4_000, seed=2)
    # Claims to be a PNG, so the browser lets it through; the server reads its first bytes and refuses it.
    disguised = Spec("disguised.png", 3_000, head=b"%PDF-1.4\n", seed=3)
    drop_files(page, own(photos(page), "drop-zone"), [first, disguised, second])
    for spec in (first, disguised, second):
        expect(row(page, spec.name)).to_have_attribute("data-state", "done")

    # Reordered from the keyboard: "second" moves to the top; the focus stays on its row (on "Move down" once
    # "Move up" is disabled at the top).
    move_up = page.get_by_role("button", name="Move up second.png")
    move_up.focus()
    page.keyboard.press("Enter")
    expect(move_up).to_be_focused()
    page.keyboard.press("Enter")
    expect(move_up).to_be_disabled()
    expect(page.get_by_role("button", name="Move down second.png")).to_be_focused()
    expect(rows(page).locator('[data-role="filename"]')).to_have_text(["second.png", "first.png", "disguised.png"])
    expect(own(photos(page), "status")).to_have_text("second.png moved to position 1 of 3.")

    page.get_by_label("Name").fill("Shown again")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errorlist")).to_contain_text(
        "“disguised.png”: The content of “disguised.png” is not a PNG image (it looks like a PDF document)."
    )
    assert not Album.objects.exists()
    # The accepted files come back as uploaded, in their order; the refused one with the server's reason.
    expect(rows(page).locator('[data-role="filename"]')).to_have_text(["second.png", "first.png", "disguised.png"])
    expect(row(page, "first.png")).to_have_attribute("data-state", "done")
    expect(row(page, "disguised.png")).to_have_attribute("data-state", "error")
    expect(part(row(page, "disguised.png"), "error")).to_have_text(
        "The content of “disguised.png” is not a PNG image (it looks like a PDF document)."
    )
    page.get_by_role("button", name="Cancel disguised.png").click()
    expect(rows(page)).to_have_count(2)
    assert_saved(save_album(page, live_server, "Shown again"), [second, first])
