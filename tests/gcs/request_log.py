"""Every HTTP request a GCS storage's client sends while a log is active, by kind, to prove which calls
verification, promotion and cleanup make (and that no object bytes pass through the app)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    ranged: bool
    kind: str
    body: Any = None
    response_bytes: int = 0


def _kind(method: str, path: str, query: dict[str, list[str]]) -> str:
    if path.startswith("/batch/"):
        return "batch"
    if path.startswith("/upload/"):
        return "upload"
    if path.startswith("/download/") or query.get("alt") == ["media"]:
        return "download"
    if "/rewriteTo/" in path or "/copyTo/" in path:
        return "rewrite"
    if path.endswith("/compose"):
        return "compose"
    if method == "DELETE":
        return "delete"
    if method == "GET" and path.endswith("/o"):
        return "list"
    return f"{method.lower()} metadata"


class GcsRequestLog:
    def __init__(self, storage):
        self.requests: list[LoggedRequest] = []
        session = storage.client._http
        original = session.request

        def request(method, url, *args, **kwargs):
            parts = urlsplit(url)
            query = parse_qs(parts.query)
            headers = {name.lower() for name in (kwargs.get("headers") or {})}
            logged = LoggedRequest(method, parts.path, query, "range" in headers, _kind(method, parts.path, query))
            data = kwargs.get("data")
            if isinstance(data, str | bytes) and data[:1] in ("{", b"{"):
                logged.body = json.loads(data)
            self.requests.append(logged)
            response = original(method, url, *args, **kwargs)
            if logged.kind == "download":
                logged.response_bytes = len(response.content)
            return response

        session.request = request

    def of(self, kind: str) -> list[LoggedRequest]:
        return [request for request in self.requests if request.kind == kind]

    def counts(self) -> Counter:
        return Counter(request.kind for request in self.requests)

    def bytes_received_in_bodies(self, kind: str) -> int:
        return sum(request.response_bytes for request in self.of(kind))
