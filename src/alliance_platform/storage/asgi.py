"""An ASGI entry point under which the filesystem backend's upload endpoint streams, as it does under WSGI.

Django's ``ASGIHandler`` reads the whole request body into a ``SpooledTemporaryFile`` before any view runs. For
``FileSystemUploadView`` that undoes what the view promises: a ``Content-Length`` over the field's ``max_size`` is
answered ``413`` only once the client has sent every byte of it, and every upload larger than
``FILE_UPLOAD_MAX_MEMORY_SIZE`` is written to disk twice, first to a temporary file outside ``MEDIA_ROOT``.

``StreamingUploadASGIHandler`` is Django's handler with one difference: for a ``PUT`` whose path resolves to
``FileSystemUploadView``, the request's body is a stream that takes the next ``http.request`` message from the
server's ``receive`` only when the view reads. Middleware, signals and the view run as they always do, in Django's
own code; every other request goes through Django's handler unchanged. In your project's ``asgi.py``::

    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

    from alliance_platform.storage.asgi import get_asgi_application

    application = get_asgi_application()
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
import io
from typing import IO, Any

import django
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import Http404
from django.urls import resolve

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

__all__ = ["StreamedRequestBody", "StreamingUploadASGIHandler", "get_asgi_application"]


class _ReceiveChannel:
    """Shares the server's ``receive`` between the body stream and Django's handler, one of them at a time.

    The stream owns ``receive`` until the body has ended (its last message, or a disconnect). Django's handler gets
    this object as its ``receive``: Django 5 listens for ``http.disconnect`` while the view runs, and a body message
    taken by that listener would be lost to the view (and fail Django's assertion), so the handler's calls wait until
    the body has ended and are then passed on. If the view never reads the body (a ``413``), the listener simply
    waits until Django cancels it once the response is sent, as it does for every finished request.
    """

    def __init__(self, receive: Receive, loop: asyncio.AbstractEventLoop, timeout: float):
        self._receive = receive
        self._loop = loop
        self._timeout = timeout
        self._body_ended = asyncio.Event()
        self.disconnected = False
        self.stream = StreamedRequestBody(self)

    async def __call__(self) -> Message:
        await self._body_ended.wait()
        if self.disconnected:
            # The stream took the server's disconnect message; the handler must still hear of it.
            return {"type": "http.disconnect"}
        return await self._receive()

    async def _next_message(self) -> tuple[bytes, bool]:
        """Runs on the event loop: the next message's body and whether more follows."""
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.disconnected = True
            self._body_ended.set()
            return b"", False
        more_body = bool(message.get("more_body", False))
        if not more_body:
            self._body_ended.set()
        return bytes(message.get("body", b"")), more_body

    def next_message(self) -> tuple[bytes, bool]:
        """From the view's worker thread: wait for the next message on the event loop.

        ``(b"", False)`` (the body has ended) when the client disconnected or sent nothing for ``timeout`` seconds:
        the view then has fewer bytes than ``Content-Length`` and answers as it does for any short body, and no
        worker thread waits forever for a client that went quiet.
        """
        try:
            running_loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running_loop = None
        if running_loop is self._loop:
            # Waiting here for the loop we are running on would block it for good.
            raise RuntimeError(
                "The body of a streamed filesystem upload can only be read from synchronous code (a sync view or "
                "middleware, which Django runs in a worker thread), not from async code on the event loop."
            )
        future = asyncio.run_coroutine_threadsafe(self._next_message(), self._loop)
        try:
            return future.result(self._timeout)
        except TimeoutError:
            future.cancel()
            return b"", False


class StreamedRequestBody(io.RawIOBase):
    """The request body as a read-only file whose bytes come from the ASGI ``receive`` channel as they are read.

    It holds at most one ASGI message (the server's flow control bounds what it buffers ahead of the application),
    so the view's chunked copy to disk never waits for, nor keeps, a copy of the whole body. It ends, as a file
    ends, after the client's last message, on a disconnect, or when the client has sent nothing for the handler's
    ``body_receive_timeout``. ``bytes_received`` counts the body bytes taken from the server so far.
    """

    def __init__(self, channel: _ReceiveChannel):
        super().__init__()
        self._channel = channel
        self._pending = b""
        self._offset = 0
        self._ended = False
        self.bytes_received = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes, fewer when the current message has fewer; ``b""`` only once the body has ended."""
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if size is None or size < 0:
            return self.readall()
        if size == 0:
            return b""
        while self._offset >= len(self._pending) and not self._ended:
            body, more_body = self._channel.next_message()
            self.bytes_received += len(body)
            self._pending, self._offset, self._ended = body, 0, not more_body
        start = self._offset
        end = min(len(self._pending), start + size)
        self._offset = end
        if start == 0 and end == len(self._pending):
            return self._pending  # the whole message: no copy
        return self._pending[start:end]

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._pending = b""
        super().close()


class StreamingUploadASGIHandler(ASGIHandler):
    """Django's ASGI handler, except that uploads to ``FileSystemUploadView`` read their body from ``receive``.

    The view then answers from ``Content-Length`` before a byte of an oversized body is taken from the server (with
    ``Expect: 100-continue`` the client is not even asked to send it), and copies an accepted body to disk as it
    arrives instead of after Django has spooled all of it to a temporary file.
    """

    #: Seconds to wait for the next part of a streamed upload body before treating the body as ended (the view then
    #: answers ``400``, the upload being short). Django's own ``ASGIRequest.body_receive_timeout`` is the same.
    body_receive_timeout: float = 60

    async def handle(self, scope: Scope, receive: Receive, send: Callable[[Message], Awaitable[None]]) -> None:
        if not self.streams_request_body(scope):
            await super().handle(scope, receive, send)
            return
        channel = _ReceiveChannel(receive, asyncio.get_running_loop(), self.body_receive_timeout)
        # Django's own handle() runs as usual; only read_body() below sees the difference.
        await super().handle(scope, channel, send)

    async def read_body(self, receive: Receive) -> IO[bytes] | StreamedRequestBody:
        if isinstance(receive, _ReceiveChannel):
            return receive.stream
        return await super().read_body(receive)

    def streams_request_body(self, scope: Scope) -> bool:
        """Whether this request is for ``FileSystemUploadView``: only then is its body left in ``receive``.

        Only ``PUT`` qualifies: the view takes no other method, and answers any other with ``405`` whatever the
        body, so resolving those paths would be wasted work. The path is resolved as Django will resolve it (the
        script prefix removed, against ``ROOT_URLCONF``); a project that picks a URLconf per request
        (``request.urlconf``) can override this method.
        """
        if scope.get("type") != "http" or str(scope.get("method", "")).upper() != "PUT":
            return False
        # Imported here: this module is imported by asgi.py before Django is set up, and the view imports models.
        from .async_uploads.views.filesystem import FileSystemUploadView

        path = str(scope.get("path", ""))
        script_name = settings.FORCE_SCRIPT_NAME or scope.get("root_path", "") or ""
        path_info = path.removeprefix(script_name) if script_name else path
        try:
            match = resolve(path_info, urlconf=settings.ROOT_URLCONF)
        except Http404:
            return False
        view_class = getattr(match.func, "view_class", None)
        return isinstance(view_class, type) and issubclass(view_class, FileSystemUploadView)


def get_asgi_application() -> StreamingUploadASGIHandler:
    """Use instead of ``django.core.asgi.get_asgi_application()``: it sets Django up the same way, then returns the
    streaming handler."""
    django.setup(set_prefix=False)
    return StreamingUploadASGIHandler()
