"""A throwaway ClamAV daemon: Debian's ``clamd`` (``apt-get install clamav-daemon``), on a Unix socket in the
service directory and on a TCP port of 127.0.0.1.

No signatures are downloaded (freshclam is never run): the service writes its own database, one MD5 signature
matching the EICAR test file (``EICAR``, the anti-virus test string every scanner detects) and nothing else, so
it starts in about a second and scans tell clean bytes from EICAR only. clamd reports a match of a signature that
is not from the official databases with ``.UNOFFICIAL`` after its name (``FOUND_EICAR``).

Readiness is ``zPING`` answered with ``PONG`` over the Unix socket; ``scan`` sends bytes the way an application
would (``zINSTREAM``). As root, clamd runs as root (no ``User`` line: it would otherwise switch to that user, who
could not read the service directory). ``$CLAMD`` overrides the binary.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
import shutil
import socket
import struct

from .base import Service
from .process import HOST, ServerProcess, ServiceError, wait_until

START_TIMEOUT = 60  # seconds; it is ready in about one with its single signature
STOP_TIMEOUT = 10

#: The EICAR test file: harmless, and detected by every scanner by design (68 bytes).
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Test.EICAR.Local"
#: What ``scan`` answers for the EICAR bytes.
FOUND_EICAR = f"stream: {SIGNATURE}.UNOFFICIAL FOUND"
#: What ``scan`` answers for bytes that match no signature.
CLEAN = "stream: OK"
#: clamd refuses streams longer than this (``StreamMaxLength``).
STREAM_MAX_LENGTH = "8M"
#: The longest path of a Unix socket (``sun_path``, 108 bytes with its terminating NUL).
MAX_SOCKET_PATH = 107


def clamd_binary() -> str:
    configured = os.environ.get("CLAMD")
    found = configured or shutil.which("clamd") or "/usr/sbin/clamd"
    if not os.access(found, os.X_OK):
        raise ServiceError(f"no clamd at {found}: apt-get install clamav-daemon, or set CLAMD")
    return found


def signature_line(data: bytes, name: str) -> str:
    """A ClamAV hash signature (``.hdb``): the MD5 and the size of a whole file, and the name reported for it."""
    return f"{hashlib.md5(data).hexdigest()}:{len(data)}:{name}\n"


def _connect(address: str | tuple[str, int], timeout: float) -> socket.socket:
    if isinstance(address, str):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(timeout)
        try:
            connection.connect(address)
        except BaseException:
            connection.close()
            raise
        return connection
    return socket.create_connection(address, timeout=timeout)


def _answer(connection: socket.socket) -> str:
    """A reply of a ``z`` command: everything up to the NUL that ends it."""
    received = b""
    while not received.endswith(b"\0"):
        chunk = connection.recv(4096)
        if not chunk:
            raise ConnectionError(f"clamd closed the connection after {received!r}")
        received += chunk
    return received[:-1].decode(errors="replace")


def ping(address: str | tuple[str, int], timeout: float = 2.0) -> bool:
    """clamd at ``address`` (a Unix socket path, or a host and port) answers ``zPING``."""
    try:
        with _connect(address, timeout) as connection:
            connection.sendall(b"zPING\0")
            return _answer(connection) == "PONG"
    except OSError:
        return False


def scan(address: str | tuple[str, int], data: bytes, *, chunk_size: int = 64 * 1024, timeout: float = 30.0) -> str:
    """clamd's verdict on ``data``, sent with ``zINSTREAM`` (chunks, each after its 4-byte big-endian length, then
    a zero length): ``CLEAN``, ``"stream: <signature> FOUND"`` or an error such as ``INSTREAM size limit
    exceeded. ERROR``."""
    with _connect(address, timeout) as connection:
        connection.sendall(b"zINSTREAM\0")
        for start in range(0, len(data), chunk_size):
            chunk = data[start : start + chunk_size]
            connection.sendall(struct.pack(">I", len(chunk)) + chunk)
        connection.sendall(struct.pack(">I", 0))
        return _answer(connection)


class ClamAV(Service):
    name = "clamd"
    default_ports = (3311,)  # not 3310, clamd's usual TCP port
    in_all = False  # only for the tests of virus scanning, which name it

    def __init__(self, directory: Path, ports: tuple[int, ...] | None = None):
        super().__init__(directory, ports)
        self.config = self.directory / "clamd.conf"
        self.process = ServerProcess(self.directory / "pid", f"-c {self.config}", STOP_TIMEOUT)

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def socket_path(self) -> Path:
        return self.directory / "clamd.sock"

    def launch(self) -> None:
        if len(os.fsencode(self.socket_path)) > MAX_SOCKET_PATH:
            raise ServiceError(f"{self.socket_path} is too long for a Unix socket; give clamd a shorter directory")
        database = self.directory / "db"
        database.mkdir()
        (database / "local.hdb").write_text(signature_line(EICAR, SIGNATURE))
        settings = {
            "DatabaseDirectory": database,
            "LocalSocket": self.socket_path,
            "TCPSocket": self.port,
            "TCPAddr": HOST,
            "Foreground": "yes",
            # clamd writes its own log; its output (the same lines) goes to the service log.
            "LogFile": self.directory / "clamd.log",
            "PidFile": self.directory / "clamd.pid",
            "TemporaryDirectory": self.directory,
            # The service directory is fresh, but a socket left by a killed clamd must not stop a restart.
            "FixStaleSocket": "yes",
            # Never reloads: the database does not change.
            "SelfCheck": 0,
            # Small and explicit (clamd's built-in default differs between versions), so that the tests of a
            # stream over the limit send little: uploads the tests scan stay below it.
            "StreamMaxLength": STREAM_MAX_LENGTH,
        }
        self.config.write_text("".join(f"{key} {value}\n" for key, value in settings.items()))
        self.process.launch([clamd_binary(), "-c", str(self.config)], log=self.log, cwd=self.directory)
        wait_until(
            lambda: ping(str(self.socket_path)) and ping((HOST, self.port)),
            timeout=START_TIMEOUT,
            what="clamd",
            alive=self.process.alive,
            log=self.log,
        )

    def shutdown(self) -> None:
        self.process.stop()

    def env(self) -> dict[str, str]:
        return {
            "AP_TEST_CLAMD_SOCKET": str(self.socket_path),
            "AP_TEST_CLAMD_HOST": HOST,
            "AP_TEST_CLAMD_PORT": str(self.port),
        }
