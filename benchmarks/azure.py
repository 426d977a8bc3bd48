"""Azure plumbing for ``--backend azure``: a throwaway Azurite, a plain azure-storage-blob client for the runner's
own set-up work and references, and a counter of the requests (and bytes) the storage's own clients send.

Azurite (the Blob service emulator) is started by the same code as the test suite's (``tests.services.Azurite``),
in an ``azurite`` directory inside the workspace, and stopped when the runner finishes, fails or is interrupted. The choice reaches ``benchmarks/settings.py``
through environment variables (``AP_BENCH_STORAGE=azure``, ``AP_BENCH_AZURE_*``) set before Django starts, so the
runner and every gunicorn server use the same container.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

from tests.services import Azurite as AzuriteService, ServiceError

from .harness import BenchmarkError, Workspace, log_tail, nothing_listens, pick_free_ports
from .traffic import Traffic, header_bytes

# Away from the test suite's default (10000), and from the S3 benchmark's ports.
DEFAULT_PORT = 6100
PORT_STEP = 10  # when the default port is taken, the next tried is this much higher (at most PORT_TRIES times)
PORT_TRIES = 8
CONTAINER = "ap-storage-bench"
HOST = "127.0.0.1"


def port_free(ports: tuple[int, ...]) -> bool:
    return all(nothing_listens(HOST, port) for port in ports)


class Azurite:
    """A throwaway Azurite blob service in ``<workspace>/azurite`` with one container for the benchmarks."""

    def __init__(self, workspace: Workspace, progress, port: int | None = None):
        self.workspace = workspace
        self.progress = progress
        self.requested_port = port
        self.port = 0
        self.version = ""
        self.connection_string = ""
        self.service: AzuriteService | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}/devstoreaccount1"

    @property
    def description(self) -> str:
        return f"Azurite {self.version} (blob service, throwaway, data on this disk) on {HOST}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "AP_BENCH_STORAGE": "azure",
            "AP_BENCH_AZURE_CONNECTION_STRING": self.connection_string,
            "AP_BENCH_AZURE_CONTAINER": CONTAINER,
        }

    def start(self) -> None:
        try:
            import azure.storage.blob  # noqa: F401
            import storages  # noqa: F401
        except ImportError:
            raise BenchmarkError(
                "--backend azure needs django-storages with azure-storage-blob "
                "(pip install 'alliance-platform-storage[azure]', part of the test extra)"
            ) from None
        if self.requested_port:
            self.port = self.requested_port
            if not port_free((self.port,)):
                raise BenchmarkError(f"--azure-port {self.port} is taken")
        else:
            (self.port,) = pick_free_ports((DEFAULT_PORT,), PORT_STEP, PORT_TRIES, port_free, "Azurite", "--azure-port")
        self.progress(f"starting Azurite on {self.endpoint} (tests.services; installed from npm on first use)")
        # Kept before it starts: an interrupted start may leave a running server.
        self.service = AzuriteService(self.workspace.path / "azurite", (self.port,))
        try:
            self.service.start()
        except ServiceError as exc:
            raise BenchmarkError(f"Azurite did not start: {exc}") from exc
        self.connection_string = self.service.connection_string
        self.version = self.service.version
        self.service_client().create_container(CONTAINER)
        os.environ.update(self.env)

    def stop(self) -> None:
        service, self.service = self.service, None
        if service is None:
            return
        try:
            service.stop()
        except ServiceError as exc:
            print(f"warning: could not stop Azurite: {exc}", file=sys.stderr)

    def pid(self) -> int | None:
        return self.service.process.pid() if self.service else None

    def service_client(self, **options):
        """A plain azure-storage-blob client of its own (not the storage's), for setting up and checking what the
        benchmarks measure, and for the references."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string, **options)

    def container_client(self, **options):
        return self.service_client(**options).get_container_client(CONTAINER)

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.workspace.path / "azurite" / "log", lines)


# --------------------------------------------------------------------------------------------------------------
# Counting the storage's requests
# --------------------------------------------------------------------------------------------------------------


def request_kind(method: str, url: str, headers) -> str:
    """The Blob service operation a request is, by its method, ``restype``/``comp`` and headers."""
    query = parse_qs(urlsplit(url).query)
    comp = query.get("comp", [""])[0]
    restype = query.get("restype", [""])[0]
    names = {name.lower() for name in headers}
    if comp == "batch":
        return "Blob Batch"
    if restype == "container" and comp == "list":
        return "List Blobs"
    if restype == "service" and comp == "properties":
        return "Get Blob Service Properties" if method == "GET" else "Set Blob Service Properties"
    if restype == "container" and not comp:
        return {"PUT": "Create Container", "DELETE": "Delete Container"}.get(method, f"{method} container")
    if comp == "block":
        return "Put Block"
    if comp == "blocklist":
        return "Put Block List" if method == "PUT" else "Get Block List"
    if comp == "copy":
        return "Abort Copy Blob"
    if comp == "userdelegationkey":
        return "Get User Delegation Key"
    if not comp:
        if method == "PUT":
            return "Copy Blob" if "x-ms-copy-source" in names else "Put Blob"
        if method == "HEAD":
            return "Get Blob Properties"
        if method == "GET":
            return "Get Blob (ranged)" if names & {"range", "x-ms-range"} else "Get Blob"
        if method == "DELETE":
            return "Delete Blob"
    return f"{method} comp={comp}" if comp else method


# A sub-request's request line inside a blob batch body (the SDK serializes them as application/http parts).
_BATCHED_REQUEST_LINE = re.compile(rb"^(GET|PUT|HEAD|DELETE|POST) (\S+) HTTP/1\.1\r?$", re.MULTILINE)


def batched_requests(body) -> list[tuple[str, str]]:
    """(method, path) of every sub-request in a blob batch body."""
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes | bytearray):
        return []
    return [(method.decode(), path.decode()) for method, path in _BATCHED_REQUEST_LINE.findall(body)]


def _content_length(headers) -> int:
    for name, value in headers.items():
        if name.lower() == "content-length":
            try:
                return int(value)
            except (TypeError, ValueError):
                return 0
    return 0


class AzureTraffic:
    """Counts the requests the storage's clients send, by Blob service operation, and the bytes they send and
    receive, through azure-storage-blob's own pipeline hooks (``raw_request_hook`` and ``raw_response_hook``, run
    for every attempt, retries included).

    django-storages builds its ``BlobServiceClient`` from the connection string without client options, so while
    this is active the storage uses one built from the same connection string with the two hooks; every client the
    storage derives from it (container, blobs, batches) runs through the same pipeline. Bytes are those of the HTTP
    messages: request line, headers, body; status line, headers and the body's ``Content-Length``. The sub-requests
    of a blob batch are counted too, in ``Traffic.batched`` (from the batch's body), and the time from each request's
    hook to its response's (the service's answer, as the client waited for it), in ``Traffic.waited``.
    """

    def __init__(self, storage):
        from azure.storage.blob import BlobServiceClient

        if not storage.connection_string:
            raise BenchmarkError("AzureTraffic needs a storage configured with a connection string")
        self.storage = storage
        self.total = Traffic()
        self._lock = threading.Lock()
        self._sent_at = threading.local()  # the pipeline is synchronous: a thread's request, then its response
        self._saved = (storage._service_client, storage._client)
        storage._service_client = BlobServiceClient.from_connection_string(
            storage.connection_string, raw_request_hook=self._on_request, raw_response_hook=self._on_response
        )
        storage._client = None  # the container client, derived again from the new service client on first use

    def close(self) -> None:
        self.storage._service_client, self.storage._client = self._saved

    def __enter__(self) -> AzureTraffic:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _on_request(self, pipeline_request) -> None:
        request = pipeline_request.http_request
        headers = dict(request.headers)
        body = request.body
        body_length = len(body) if isinstance(body, bytes | bytearray | str) else _content_length(headers)
        sent = len(f"{request.method} {request.url} HTTP/1.1\r\n") + header_bytes(headers.items()) + 2 + body_length
        kind = request_kind(request.method, request.url, headers)
        batched = batched_requests(body) if kind == "Blob Batch" else []
        self._sent_at.value = time.perf_counter()
        with self._lock:
            self.total.requests[kind] += 1
            self.total.sent += sent
            for method, path in batched:
                self.total.batched[request_kind(method, path, {})] += 1

    def _on_response(self, pipeline_response) -> None:
        waited = time.perf_counter() - getattr(self._sent_at, "value", time.perf_counter())
        request = pipeline_response.http_request
        kind = request_kind(request.method, request.url, dict(request.headers))
        response = pipeline_response.http_response
        headers = response.headers
        received = len("HTTP/1.1 200 OK\r\n") + header_bytes(headers.items()) + 2
        if request.method != "HEAD":  # a HEAD's Content-Length is the blob's, not a body's
            received += _content_length(headers)
        with self._lock:
            self.total.received += received
            self.total.waited[kind] += waited

    def reading(self) -> Traffic:
        with self._lock:
            return self.total.copy()
