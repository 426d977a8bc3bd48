"""A throwaway Redis: Debian's ``redis-server`` (``apt-get install redis-server``), listening on 127.0.0.1 only,
with persistence off (no RDB snapshots, no append-only file): the data is thrown away after the run.

Readiness is a ``PING`` over the socket in Redis's own protocol (RESP, see ``command``), so no Redis client
library is needed to start it. ``$REDIS_SERVER`` overrides the binary.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import socket

from .base import Service
from .process import HOST, ServerProcess, ServiceError, wait_until

START_TIMEOUT = 30  # seconds; it is ready in well under one
STOP_TIMEOUT = 10


class RedisError(Exception):
    """Redis answered a command with an error reply (``-ERR ...``)."""


def redis_server_binary() -> str:
    configured = os.environ.get("REDIS_SERVER")
    found = configured or shutil.which("redis-server")
    if not found or not os.access(found, os.X_OK):
        raise ServiceError(f"no redis-server at {found or 'PATH'}: apt-get install redis-server, or set REDIS_SERVER")
    return found


def encode(*args: str | bytes) -> bytes:
    """A command as a RESP array of bulk strings."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def read_reply(reader) -> bytes | int | list | None:
    """One RESP reply from the binary file ``reader``: simple and bulk strings as bytes, integers as int, arrays
    as lists, a null as ``None``; an error reply raises ``RedisError``."""
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("Redis closed the connection in the middle of a reply")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return None
        data = reader.read(length + 2)
        if len(data) != length + 2:
            raise ConnectionError("Redis closed the connection in the middle of a reply")
        return data[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [read_reply(reader) for _ in range(count)]
    raise ConnectionError(f"not a RESP reply: {line[:80]!r}")


def command(port: int, *args: str | bytes, host: str = HOST, timeout: float = 5.0) -> bytes | int | list | None:
    """Send one command to the Redis on ``host:port`` over a fresh connection and return its reply (see
    ``read_reply``)."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(encode(*args))
        with connection.makefile("rb") as reader:
            return read_reply(reader)


def answers_ping(port: int) -> bool:
    try:
        return command(port, "PING", timeout=2.0) == b"PONG"
    except (OSError, RedisError):
        return False


class Redis(Service):
    name = "redis"
    default_ports = (6380,)  # not 6379, where a system Redis may live
    in_all = False  # only for the tests of background tasks, which name it

    def __init__(self, directory: Path, ports: tuple[int, ...] | None = None):
        super().__init__(directory, ports)
        # "--dir <directory>" comes last on the command line, so this (with the separator after it) names this
        # service only, not one in "<directory>2".
        self.process = ServerProcess(self.directory / "pid", f"--dir {self.directory} ", STOP_TIMEOUT)

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def launch(self) -> None:
        self.process.launch(
            [
                redis_server_binary(),
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                # Redis rewrites its command line (the process title) otherwise, and the pid check reads it.
                "--set-proc-title",
                "no",
                "--dir",
                str(self.directory),
            ],
            log=self.log,
            cwd=self.directory,
        )
        wait_until(
            lambda: answers_ping(self.port),
            timeout=START_TIMEOUT,
            what="redis-server",
            alive=self.process.alive,
            log=self.log,
        )

    def shutdown(self) -> None:
        self.process.stop()

    def env(self) -> dict[str, str]:
        return {"AP_TEST_REDIS_URL": self.url}
