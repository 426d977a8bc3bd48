"""``StreamingUploadASGIHandler`` driven in-process by a scripted ASGI server.

A real server cannot show some of this: over HTTP/1.1 a body can only end early by the client going away, and
what the application took from ``receive`` is not visible from outside. Here each ``http.request`` message is
handed over only when the handler asks for it, so the tests see exactly when the body is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
import os
from typing import Any

from django.conf import settings
from django.test import Client
import pytest

from alliance_platform.storage.asgi import StreamingUploadASGIHandler, _ReceiveChannel
from alliance_platform.storage.async_uploads.registry import default_async_field_registry
from tests.testapp.models import Attachment, other_registry

from .live import poll_until

KIB = 1024


def media_files() -> dict[str, int]:
    found = {}
    for directory, _dirs, files in os.walk(settings.MEDIA_ROOT):
        for name in files:
            path = os.path.join(directory, name)
            try:
                found[os.path.relpath(path, settings.MEDIA_ROOT)] = os.path.getsize(path)
            except FileNotFoundError:
                continue
    return found


def plan_upload(field: str, filename: str, size: int) -> dict[str, Any]:
    response = Client().get(
        default_async_field_registry.reverse("generate_upload_url"),
        {"fieldId": Attachment._meta.get_field(field).async_field_id, "filename": filename, "size": size},
    )
    assert response.status_code == 200, response.content
    return response.json()


def http_scope(url: str, content_length: int | None, method: str = "PUT", root_path: str = "") -> dict[str, Any]:
    path, _, query = url.partition("?")
    headers = [(b"host", b"testserver"), (b"content-type", b"application/octet-stream")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "root_path": root_path,
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


class ScriptedServer:
    """An ASGI server's ``receive`` and ``send``: the scripted messages one per call, then, as uvicorn does, a wait
    until the response is complete (or straight away after a disconnect) and ``http.disconnect``."""

    def __init__(self, messages: list[dict[str, Any]], on_receive: Callable[[int], None] | None = None):
        self.messages = list(messages)
        self.on_receive = on_receive
        self.receive_calls = 0
        self.sent: list[dict[str, Any]] = []
        self.disconnected = False
        self.response_complete: asyncio.Event | None = None

    async def receive(self) -> dict[str, Any]:
        if self.on_receive is not None:
            self.on_receive(self.receive_calls)
        self.receive_calls += 1
        if self.messages and not self.disconnected:
            message = self.messages.pop(0)
            self.disconnected = message["type"] == "http.disconnect"
            return message
        if not self.disconnected:
            await self._complete().wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self._complete().set()

    def _complete(self) -> asyncio.Event:
        if self.response_complete is None:
            self.response_complete = asyncio.Event()
        return self.response_complete

    @property
    def status(self) -> int | None:
        starts = [message for message in self.sent if message["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None

    @property
    def headers(self) -> dict[bytes, bytes]:
        start = next(message for message in self.sent if message["type"] == "http.response.start")
        return {name.lower(): value for name, value in start["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(message.get("body", b"") for message in self.sent if message["type"] == "http.response.body")


def serve(scope: dict[str, Any], server: ScriptedServer, handler: StreamingUploadASGIHandler | None = None) -> None:
    application = handler or StreamingUploadASGIHandler()
    asyncio.run(asyncio.wait_for(application(scope, server.receive, server.send), timeout=30))


def body(data: bytes, more: bool) -> dict[str, Any]:
    return {"type": "http.request", "body": data, "more_body": more}


@pytest.mark.django_db(transaction=True)
def test_each_message_is_on_disk_before_the_next_is_taken():
    content = os.urandom(300 * KIB + 7)
    sizes = [5000, 0, 70 * KIB, 1, 150 * KIB]
    pieces, offset = [], 0
    for size in [*sizes, len(content) - sum(sizes)]:
        pieces.append(content[offset : offset + size])
        offset += size
    messages = [body(piece, more=index < len(pieces) - 1) for index, piece in enumerate(pieces)]
    on_disk: list[int] = []
    plan = plan_upload("other", "pieces.bin", len(content))

    server = ScriptedServer(messages, on_receive=lambda call: on_disk.append(sum(media_files().values())))
    serve(http_scope(plan["uploadUrl"]["url"], len(content)), server)

    assert server.status == 201, server.body
    with open(os.path.join(settings.MEDIA_ROOT, plan["key"]), "rb") as stored:
        assert stored.read() == content
    # Whenever the next message was asked for, every byte of the earlier ones was already written: the body went
    # to disk as it arrived, one message at a time, and an empty message in the middle did not end it.
    assert on_disk[: len(pieces)] == [sum(len(piece) for piece in pieces[:index]) for index in range(len(pieces))]
    assert server.headers[b"x-frame-options"] == b"DENY"


@pytest.mark.django_db(transaction=True)
def test_oversized_content_length_takes_nothing_from_receive():
    plan = plan_upload("file", "big.pdf", 1000)
    declared = Attachment._meta.get_field("file").max_size_bytes + 1

    server = ScriptedServer([body(b"%PDF-1.4\n" + b"0" * 64 * KIB, more=True)])
    serve(http_scope(plan["uploadUrl"]["url"], declared), server)

    assert server.status == 413
    assert server.headers[b"connection"] == b"close"
    assert server.receive_calls == 0
    assert media_files() == {}


@pytest.mark.django_db(transaction=True)
def test_body_that_ends_early_is_400_and_leaves_no_file():
    plan = plan_upload("other", "short.bin", 1000)

    server = ScriptedServer([body(b"x" * 600, more=False)])
    serve(http_scope(plan["uploadUrl"]["url"], 1000), server)

    assert server.status == 400
    assert "detail" in json.loads(server.body)
    assert media_files() == {}


@pytest.mark.django_db(transaction=True)
def test_disconnect_mid_body_leaves_no_file():
    plan = plan_upload("other", "gone.bin", 1000 * KIB)

    server = ScriptedServer([body(os.urandom(300 * KIB), more=True), {"type": "http.disconnect"}])
    serve(http_scope(plan["uploadUrl"]["url"], 1000 * KIB), server)

    assert server.status != 201
    # Under Django 5 the handler stops waiting for the view once it hears of the disconnect; the view's thread
    # removes its partial file as it unwinds.
    poll_until(lambda: media_files() == {}, 10, "the partial file to be removed")


@pytest.mark.django_db(transaction=True)
def test_client_that_goes_quiet_gets_400_after_the_receive_timeout():
    plan = plan_upload("other", "stalled.bin", 10 * KIB)
    handler = StreamingUploadASGIHandler()
    handler.body_receive_timeout = 0.2

    # One message, then nothing: the scripted server's receive waits until the response is complete.
    server = ScriptedServer([body(b"x" * KIB, more=True)])
    serve(http_scope(plan["uploadUrl"]["url"], 10 * KIB), server, handler)

    assert server.status == 400
    assert media_files() == {}


@pytest.mark.django_db(transaction=True)
def test_other_requests_get_djangos_spooled_body():
    # A PUT elsewhere: Django reads the whole body before the view, as its own handler does (all messages taken).
    server = ScriptedServer([body(b"a" * 10, more=True), body(b"b" * 10, more=False)])
    serve(http_scope("/admin/login/", 20), server)

    assert server.receive_calls >= 2
    assert server.messages == []
    assert server.status is not None and server.status < 500


@pytest.mark.parametrize(
    ("method", "path", "root_path", "streams"),
    [
        ("PUT", "/async-uploads/filesystem-upload/", "", True),
        ("put", "/async-uploads/filesystem-upload/", "", True),
        ("PUT", "/other-uploads/filesystem-upload/", "", True),
        ("PUT", "/async-uploads/filesystem-upload/", "/prefix", True),
        ("POST", "/async-uploads/filesystem-upload/", "", False),
        ("GET", "/async-uploads/filesystem-upload/", "", False),
        ("PUT", "/async-uploads/filesystem-download/", "", False),
        ("PUT", "/async-uploads/generate-upload-url/", "", False),
        ("PUT", "/admin/login/", "", False),
        ("PUT", "/no/such/page/", "", False),
        ("PUT", "", "", False),
    ],
)
def test_only_requests_for_the_upload_view_stream(method: str, path: str, root_path: str, streams: bool):
    assert other_registry.reverse("filesystem_upload") == "/other-uploads/filesystem-upload/"
    scope = http_scope(path, 10, method=method, root_path=root_path)
    assert StreamingUploadASGIHandler().streams_request_body(scope) is streams


def test_websocket_scopes_are_not_streamed():
    scope = {"type": "websocket", "path": "/async-uploads/filesystem-upload/", "headers": []}
    assert StreamingUploadASGIHandler().streams_request_body(scope) is False


def test_reading_the_body_on_the_event_loop_raises_instead_of_blocking_it():
    async def receive() -> dict[str, Any]:
        return body(b"x", more=False)

    async def read_on_loop() -> None:
        channel = _ReceiveChannel(receive, asyncio.get_running_loop(), timeout=5)
        with pytest.raises(RuntimeError, match="synchronous code"):
            channel.stream.read(1)

    asyncio.run(asyncio.wait_for(read_on_loop(), timeout=10))
