"""An "R2-style" S3 store for the tests: SeaweedFS behind a loopback proxy that refuses POST object uploads.

Cloudflare R2 answers a presigned POST (a form upload to the bucket) with ``501 Not Implemented`` and takes
everything else, multipart uploads (``POST ?uploads``, ``POST ?uploadId=``) included. This proxy does the same in
front of the suite's SeaweedFS, so the PUT mode is proved on a real S3 server that checks signatures.

Requests go upstream unchanged, ``Host`` included: SigV4 signs the host the client addressed (the proxy), and
SeaweedFS checks the signature against the ``Host`` it receives. Responses come back unchanged but for framing
(always a ``Content-Length``, so keep-alive works whatever upstream did).
"""

from __future__ import annotations

from collections.abc import Iterator
import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading
from urllib.parse import parse_qs, urlsplit

#: Hop-by-hop headers (RFC 9110 section 7.6.1) and framing the proxy sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}

NOT_IMPLEMENTED_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>NotImplemented</Code><Message>POST Object is not implemented by this store.</Message></Error>"
)


def is_post_object_upload(method: str, target: str, content_type: str) -> bool:
    """A presigned POST: a form upload to the bucket. Multipart-upload calls are POSTs too, but name ``uploads``
    or ``uploadId`` in the query and carry XML (or nothing), never a form."""
    if method != "POST" or not content_type.lower().startswith("multipart/form-data"):
        return False
    query = parse_qs(urlsplit(target).query, keep_blank_values=True)
    return "uploads" not in query and "uploadId" not in query


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: R2StyleProxy

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return b"".join(self._chunks())
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _chunks(self) -> Iterator[bytes]:
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            yield self.rfile.read(size)
            self.rfile.readline()

    def _handle(self) -> None:
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        body = self._body()
        if is_post_object_upload(self.command, self.path, self.headers.get("Content-Type", "")):
            self.server.refused.append(self.path)
            self._answer(501, [("Content-Type", "application/xml")], NOT_IMPLEMENTED_BODY)
            return
        self.server.forwarded.append((self.command, self.path, len(body)))
        headers = [(name, value) for name, value in self.headers.items() if name.lower() not in _NOT_FORWARDED]
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif "Content-Length" in self.headers:
            headers.append(("Content-Length", str(len(body))))
        upstream = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port, timeout=120)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                upstream.putheader(name, value)
            upstream.endheaders()
            if chunked:
                if body:
                    upstream.send(b"%x\r\n%s\r\n" % (len(body), body))
                upstream.send(b"0\r\n\r\n")
            elif body:
                upstream.send(body)
            response = upstream.getresponse()
            data = response.read()
            kept = [(name, value) for name, value in response.getheaders() if name.lower() not in _NOT_FORWARDED]
            if self.command == "HEAD":
                length = response.getheader("Content-Length")
                self._answer(response.status, kept, b"", head_length=length)
            else:
                self._answer(response.status, kept, data)
        finally:
            upstream.close()

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes, head_length: str | None = None):
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.command == "HEAD":
            if head_length is not None:
                self.send_header("Content-Length", head_length)
        else:
            self.send_header("Content-Length", str(len(body)))
        # CORS for the refusal too, so a browser can read the 501 (R2 sends its CORS headers on errors).
        origin = self.headers.get("Origin")
        if status == 501 and origin:
            self.send_header("Access-Control-Allow-Origin", origin)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = _handle


class R2StyleProxy(ThreadingHTTPServer):
    """The proxy on a free loopback port; ``endpoint_url`` is what a storage or client is pointed at.

    ``refused`` lists the POST uploads answered ``501``, ``forwarded`` every request sent upstream (method, target,
    body length), so a test can prove which path an upload took and how long each part was.
    """

    daemon_threads = True

    def __init__(self, upstream_url: str):
        upstream = urlsplit(upstream_url)
        self.upstream_host = upstream.hostname or "127.0.0.1"
        self.upstream_port = upstream.port or 80
        self.refused: list[str] = []
        self.forwarded: list[tuple[str, str, int]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, name="r2-style-proxy", daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> R2StyleProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
