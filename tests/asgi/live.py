"""A real uvicorn process serving the test project, and a raw HTTP/1.1 client that decides when each byte is sent.

Each server has its own ``TMPDIR``, so that whatever Django or the library spools to a temporary file can be seen:
by name in the directory, and, for the unnamed files ``tempfile.TemporaryFile`` makes on Linux (``O_TMPFILE``), by
the server's open file descriptors in ``/proc``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import http.client
import json
import os
from pathlib import Path
import socket
import subprocess
import sys
import time
from typing import Any, TypeVar
from urllib.parse import urlencode

from tests.services.process import log_tail

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
MIB = 1024 * 1024
T = TypeVar("T")


def poll_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.01) -> T:
    """``condition()``'s first truthy value, checked every ``interval`` seconds until ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def server_environment(workdir: Path) -> dict[str, str]:
    """The environment of ``migrate`` and the servers: the test settings with this run's database and media root."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.asgi.server_settings",
        "AP_ASGI_TEST_DATABASE": str(workdir / "db.sqlite3"),
        "AP_ASGI_TEST_MEDIA_ROOT": str(workdir / "media"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "demo")]),
    }


def migrate(workdir: Path) -> None:
    (workdir / "media").mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=server_environment(workdir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"migrate failed:\n{result.stdout}\n{result.stderr}"


def stop_child(process: subprocess.Popen | None, *, patience: float) -> None:
    """Terminate a server this test process started, killing it if it has not exited after ``patience`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=patience)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class UvicornServer:
    """``python -m uvicorn <app>`` on a free loopback port, stopped (by its own process id) when the tests end."""

    def __init__(self, app: str, workdir: Path, name: str):
        self.app = app
        self.workdir = workdir
        self.media_root = workdir / "media"
        self.tmpdir = (workdir / f"tmp-{name}").resolve()
        self.log_path = workdir / f"uvicorn-{name}.log"
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self, attempts: int = 3, timeout: float = 60) -> None:
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        for _attempt in range(attempts):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        self.app,
                        "--host",
                        HOST,
                        "--port",
                        str(self.port),
                        "--lifespan",
                        "off",
                        "--log-level",
                        "warning",
                    ],
                    cwd=ROOT,
                    env={**server_environment(self.workdir), "TMPDIR": str(self.tmpdir)},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_ready(timeout):
                return
            # It exited: most likely the port was taken between free_port() and uvicorn's bind. Try another.
        raise AssertionError(f"uvicorn did not start:\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        """True once the server answers HTTP, False if it exited first."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.process.wait(timeout=0.05)
                return False
            except subprocess.TimeoutExpired:
                pass
            try:
                self.request("GET", "/admin/login/", timeout=5)
                return True
            except (OSError, http.client.HTTPException):
                continue
        raise AssertionError(f"uvicorn not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_child(process, patience=10)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    # Requests.

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout=30
    ) -> Response:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    def plan(self, field_id: str, plan_url: str, filename: str, size: int) -> dict[str, Any]:
        """Plan an upload through the server itself, so that its row is in the server's database."""
        query = urlencode({"fieldId": field_id, "filename": filename, "size": size})
        response = self.request("GET", f"{plan_url}?{query}")
        assert response.status == 200, response.body
        return response.json()

    def raw_put(self, url: str, content_length: int, extra_headers: str = "") -> RawRequest:
        return RawRequest(self, "PUT", url, content_length, extra_headers)

    # What the server left behind.

    def temporary_files(self) -> list[str]:
        """Every entry of the server's TMPDIR, and every file it has open there (unnamed ones included)."""
        found = sorted(os.listdir(self.tmpdir))
        assert self.process is not None
        descriptors = Path(f"/proc/{self.process.pid}/fd")
        if descriptors.is_dir():
            for descriptor in descriptors.iterdir():
                try:
                    target = os.readlink(descriptor)
                except OSError:
                    continue  # closed since the listing
                if target.startswith(f"{self.tmpdir}{os.sep}"):
                    found.append(f"open file {target}")
        return found

    def media_files(self) -> dict[str, int]:
        """Every file under the media root, with its size, keyed by its path relative to the root."""
        found = {}
        for directory, _dirs, files in os.walk(self.media_root):
            for name in files:
                path = Path(directory) / name
                try:
                    found[str(path.relative_to(self.media_root))] = path.stat().st_size
                except FileNotFoundError:
                    continue  # a partial file removed while we were walking
        return found


class RawRequest:
    """One request on its own connection: headers sent at once, the body only when the test sends it."""

    def __init__(self, server: UvicornServer, method: str, url: str, content_length: int, extra_headers: str = ""):
        self.sock = socket.create_connection((HOST, server.port), timeout=30)
        head = (
            f"{method} {url} HTTP/1.1\r\nHost: {HOST}:{server.port}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {content_length}\r\n{extra_headers}\r\n"
        )
        self.sock.sendall(head.encode("ascii"))
        self.body_bytes_sent = 0

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.body_bytes_sent += len(data)

    def response(self, timeout: float = 30) -> Response:
        """The next response on this connection (the server may answer before the body was sent)."""
        self.sock.settimeout(timeout)
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        return Response(response.status, response.headers, response.read())

    def read_until_closed(self, timeout: float = 30) -> bytes:
        """Everything the server sends until it closes the connection."""
        self.sock.settimeout(timeout)
        received = b""
        while chunk := self.sock.recv(65536):
            received += chunk
        return received

    def close(self) -> None:
        self.sock.close()
