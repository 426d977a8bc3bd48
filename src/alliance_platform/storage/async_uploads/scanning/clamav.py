"""A scanner that streams each upload from storage to ClamAV's ``clamd`` with its ``INSTREAM`` command.

Point ``STORAGE["SCANNER"]`` at ``"alliance_platform.storage.async_uploads.scanning.clamav.scan"`` and
``STORAGE["CLAMD_ADDRESS"]`` at the daemon (``unix:///run/clamav/clamd.ctl``, Debian's socket, by default; or
``tcp://127.0.0.1:3310``). The object is read from storage in chunks and written to the socket as it is read, so
memory stays at one chunk whatever the file's size, and the bytes pass through the process that promotes (the
task worker when promotion runs in tasks), never through a web request.

``clamd`` refuses a stream longer than its ``StreamMaxLength`` (25 MB by default): set it above the largest
upload a field accepts, or such uploads can never be scanned and so are never promoted. Any answer but a verdict
(the daemon down, a timeout, a size limit, a scan error) raises ``ScannerUnavailable``, which leaves the upload
waiting with the reason on its temp row, to be tried again.
"""

from __future__ import annotations

from collections.abc import Callable
import socket
import struct
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import ScannerUnavailable, ScanResult

if TYPE_CHECKING:
    from ..fields import AsyncFileField
    from ..temp_files import AsyncTempFile

#: Bytes read from storage and sent to clamd at a time.
CHUNK_SIZE = 256 * 1024
#: The length prefix of each ``INSTREAM`` chunk: 4 bytes, unsigned, network byte order.
_CHUNK_LENGTH = struct.Struct("!L")

Address = str | tuple[str, int]


def parse_address(address: str) -> Address:
    """``unix:///path`` (or a bare absolute path) as a socket path, ``tcp://host:port`` as ``(host, port)``.

    Raises ``ValueError`` for anything else, so a typo is a system check error instead of every scan failing.
    """
    if address.startswith("/"):
        return address
    parts = urlsplit(address)
    if parts.scheme == "unix" and parts.path and not parts.netloc:
        return parts.path
    if parts.scheme == "tcp" and parts.hostname and not parts.path.strip("/"):
        try:
            port = parts.port
        except ValueError:
            port = None
        if port:
            return (parts.hostname, port)
    raise ValueError(f"{address!r} is not unix:///path/to/clamd.sock or tcp://host:port")


def _connect(address: Address, timeout: float) -> socket.socket:
    if not isinstance(address, str):
        # Resolves the host name and tries each of its addresses (IPv4 or IPv6), as any client should.
        return socket.create_connection(address, timeout=timeout)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    try:
        connection.connect(address)
    except BaseException:
        connection.close()
        raise
    return connection


def _read_reply(connection: socket.socket) -> str:
    """clamd's answer to a ``z`` command: everything up to its terminating NUL."""
    received = bytearray()
    while not received.endswith(b"\0"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.rstrip(b"\0").decode("utf-8", "replace").strip()


def ping(address: str, timeout: float = 5) -> bool:
    """Whether clamd at ``address`` answers ``PING``: for health checks and deployment scripts."""
    try:
        with _connect(parse_address(address), timeout) as connection:
            connection.sendall(b"zPING\0")
            return _read_reply(connection) == "PONG"
    except (OSError, ValueError):
        return False


def verdict_from_reply(reply: str) -> ScanResult:
    """The verdict in clamd's reply to ``INSTREAM`` (``stream: OK`` or ``stream: <name> FOUND``); any other
    reply (``... ERROR``, e.g. the stream over ``StreamMaxLength``) means there is none."""
    subject, _, outcome = reply.partition(": ")
    if outcome == "OK":
        return ScanResult.clean()
    if outcome.endswith(" FOUND"):
        return ScanResult.infected(outcome.removesuffix(" FOUND"))
    raise ScannerUnavailable(f"clamd gave no verdict: {reply or 'no answer'}")


class ClamAVScanner:
    """Scans with clamd at ``address`` (default: the ``CLAMD_ADDRESS`` setting, read at each scan), waiting at
    most ``timeout`` seconds (default ``CLAMD_TIMEOUT``) for any one read or write."""

    def __init__(self, address: str | None = None, timeout: float | None = None, chunk_size: int = CHUNK_SIZE):
        self.address = address
        self.timeout = timeout
        self.chunk_size = chunk_size

    def __call__(
        self,
        open_file: Callable[[], IO[bytes]],
        *,
        temp_file: AsyncTempFile | None = None,
        field: AsyncFileField | None = None,
        **kwargs: Any,
    ) -> ScanResult:
        from ...settings import storage_settings

        address = self.address or storage_settings.CLAMD_ADDRESS
        timeout = self.timeout if self.timeout is not None else storage_settings.CLAMD_TIMEOUT
        try:
            target = parse_address(address)
        except ValueError as exc:
            raise ScannerUnavailable(str(exc)) from None
        try:
            with _connect(target, timeout) as connection:
                return verdict_from_reply(self._stream(open_file, connection))
        except OSError as exc:  # refused, no such socket, timed out
            raise ScannerUnavailable(f"clamd at {address} could not scan: {exc}") from exc

    def _stream(self, open_file: Callable[[], IO[bytes]], connection: socket.socket) -> str:
        connection.sendall(b"zINSTREAM\0")
        with open_file() as source:
            while chunk := source.read(self.chunk_size):
                try:
                    connection.sendall(_CHUNK_LENGTH.pack(len(chunk)) + chunk)
                except (BrokenPipeError, ConnectionResetError):
                    # clamd stops reading once the stream is over its StreamMaxLength, and says so before
                    # closing: its reply explains the broken pipe.
                    return _read_reply(connection)
        connection.sendall(_CHUNK_LENGTH.pack(0))
        return _read_reply(connection)


#: The scanner to name in ``STORAGE["SCANNER"]``, configured by ``CLAMD_ADDRESS`` and ``CLAMD_TIMEOUT``.
scan = ClamAVScanner()

__all__ = ["ClamAVScanner", "parse_address", "ping", "scan", "verdict_from_reply"]
