"""S3 plumbing for ``--backend s3``: a throwaway SeaweedFS, a boto3 client for the runner's own set-up work, and a
counter of the requests (and bytes) one boto3 client sends.

SeaweedFS is started by the same code as the test suite's (``tests.services.SeaweedFS``: ``weed mini``, master,
volume server, filer and S3 gateway in one process, with credentials so that signatures and POST policies are
checked), in a ``seaweedfs`` directory inside the workspace, and stopped when the runner finishes, fails or is
interrupted. The choice reaches ``benchmarks/settings.py`` through environment
variables (``AP_BENCH_STORAGE=s3``, ``AP_BENCH_S3_*``) set before Django starts, so the runner and every gunicorn
server use the same bucket.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys

from tests.services import SeaweedFS as SeaweedFSService, ServiceError
from tests.services.seaweedfs import weed_binary as service_weed_binary

from .harness import BenchmarkError, Workspace, log_tail, nothing_listens, pick_free_ports
from .traffic import Traffic, header_bytes

# S3 API, filer, master and volume server; SeaweedFS also listens on each of them + 10000 (gRPC). Chosen away from
# the test suite's defaults (8333, 8888, 9333, 9340).
DEFAULT_PORTS = (7333, 7338, 7343, 7348)
PORT_STEP = 50  # when a default port is taken, all four move up by this much (at most PORT_TRIES times)
PORT_TRIES = 8
ACCESS_KEY = "ap-bench-access"
SECRET_KEY = "ap-bench-secret-key-0123456789"
BUCKET = "ap-storage-bench"
REGION = "us-east-1"
HOST = "127.0.0.1"


def ports_free(ports: tuple[int, ...]) -> bool:
    return all(nothing_listens(HOST, port) and nothing_listens(HOST, port + 10_000) for port in ports)


def pick_ports() -> tuple[int, ...]:
    return pick_free_ports(DEFAULT_PORTS, PORT_STEP, PORT_TRIES, ports_free, "SeaweedFS", "--s3-ports")


def weed_binary() -> str | None:
    try:
        return str(service_weed_binary())
    except ServiceError:
        return None


class SeaweedFS:
    """A throwaway SeaweedFS in ``<workspace>/seaweedfs`` with one bucket for the benchmarks."""

    def __init__(self, workspace: Workspace, progress, ports: tuple[int, ...] | None = None):
        self.workspace = workspace
        self.progress = progress
        self.requested_ports = ports
        self.ports: tuple[int, ...] = ()
        self.version = ""
        self.service: SeaweedFSService | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.ports[0]}"

    @property
    def description(self) -> str:
        return f"SeaweedFS {self.version} (weed mini, throwaway, data on this disk) on {HOST}:{self.ports[0]}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "AP_BENCH_STORAGE": "s3",
            "AP_BENCH_S3_ENDPOINT": self.endpoint,
            "AP_BENCH_S3_BUCKET": BUCKET,
            "AP_BENCH_S3_ACCESS_KEY": ACCESS_KEY,
            "AP_BENCH_S3_SECRET_KEY": SECRET_KEY,
        }

    def start(self) -> None:
        try:
            import boto3  # noqa: F401
            import storages  # noqa: F401
        except ImportError:
            raise BenchmarkError(
                "--backend s3 needs django-storages with boto3 (pip install 'alliance-platform-storage[s3]', "
                "part of the test extra)"
            ) from None
        if self.requested_ports:
            self.ports = self.requested_ports
            if not ports_free(self.ports):
                raise BenchmarkError(f"--s3-ports {self.ports}: a port (or port + 10000) is taken")
        else:
            self.ports = pick_ports()
        self.progress(f"starting SeaweedFS on {self.endpoint} (tests.services)")
        # Kept before it starts: an interrupted start may leave a running server.
        self.service = SeaweedFSService(
            self.workspace.path / "seaweedfs", self.ports, access_key=ACCESS_KEY, secret_key=SECRET_KEY
        )
        try:
            self.service.start()
        except ServiceError as exc:
            raise BenchmarkError(f"SeaweedFS did not start: {exc}") from exc
        self.version = self._version()
        client = self.client()
        client.create_bucket(Bucket=BUCKET)
        os.environ.update(self.env)

    def stop(self) -> None:
        service, self.service = self.service, None
        if service is None:
            return
        try:
            service.stop()
        except ServiceError as exc:
            print(f"warning: could not stop SeaweedFS: {exc}", file=sys.stderr)

    def pid(self) -> int | None:
        return self.service.process.pid() if self.service else None

    def client(self, max_pool_connections: int = 10):
        """A boto3 client of its own (not the storage's), for setting up and checking what the benchmarks measure."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                max_pool_connections=max_pool_connections,
            ),
        )

    def _version(self) -> str:
        weed = weed_binary()
        if weed is None:
            return ""
        try:
            output = subprocess.run([weed, "version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
        match = re.search(r"\b(\d+\.\d+(?:\.\d+)?)\b", output)
        return match.group(1) if match else ""

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.workspace.path / "seaweedfs" / "log", lines)


# --------------------------------------------------------------------------------------------------------------
# Counting a client's requests
# --------------------------------------------------------------------------------------------------------------


def _body_length(body, headers) -> int:
    if body is None:
        return 0
    if isinstance(body, bytes | bytearray | str):
        return len(body)
    from botocore.utils import determine_content_length

    length = determine_content_length(body)
    if length is None:
        length = int(dict(headers).get("Content-Length") or 0)
    return length


class S3Traffic:
    """Counts the requests one boto3 client sends, by operation, and the bytes it sends and receives, through the
    client's own events: ``before-send`` (every HTTP attempt, just before it goes out) and ``response-received``.

    Bytes are those of the HTTP messages as botocore builds and reads them (request line, headers, body; status
    line, headers, body); a streamed response body (``GetObject``) counts as far as it was read from the socket.
    """

    def __init__(self, client):
        self.events = client.meta.events
        self.total = Traffic()
        self._streams: list = []
        self.events.register("before-send.s3", self._on_send, unique_id="ap-bench-traffic-send")
        self.events.register("response-received.s3", self._on_response, unique_id="ap-bench-traffic-received")

    def close(self) -> None:
        self.events.unregister("before-send.s3", self._on_send, unique_id="ap-bench-traffic-send")
        self.events.unregister("response-received.s3", self._on_response, unique_id="ap-bench-traffic-received")

    def __enter__(self) -> S3Traffic:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _on_send(self, request, event_name: str, **kwargs) -> None:
        self.total.requests[event_name.rsplit(".", 1)[-1]] += 1
        headers = list(request.headers.items())
        request_line = len(f"{request.method} {request.url} HTTP/1.1\r\n")
        self.total.sent += request_line + header_bytes(headers) + 2 + _body_length(request.body, headers)

    def _on_response(self, response_dict, **kwargs) -> None:
        if response_dict is None:  # no answer at all (a connection error); nothing was received
            return
        self.total.received += len("HTTP/1.1 200 OK\r\n") + header_bytes(response_dict["headers"].items()) + 2
        body = response_dict["body"]
        if isinstance(body, bytes | bytearray):
            self.total.received += len(body)
        else:
            self._streams.append(body)

    def _streamed(self) -> int:
        total = 0
        for body in self._streams:
            raw = getattr(body, "_raw_stream", None)  # the urllib3 response under botocore's StreamingBody
            with contextlib.suppress(Exception):
                total += raw.tell()
        return total

    def reading(self) -> Traffic:
        reading = self.total.copy()
        reading.received += self._streamed()
        return reading
