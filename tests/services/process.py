"""What every service needs: free ports, a server process that can be stopped from any process, and waiting for
readiness with a deadline (polling, never a fixed sleep)."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import http.client
import os
from pathlib import Path
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"
#: The checkout: Azurite is installed into it, and commands run from it.
ROOT = Path(__file__).resolve().parents[2]


class ServiceError(Exception):
    """A service could not be started or stopped; the message says why and ends with the tail of its log."""


def nothing_listens(port: int, host: str = HOST) -> bool:
    """No server accepts connections on ``host:port``.

    Not a test bind: a server stopped moments ago leaves connections in TIME_WAIT that would fail one, while the
    services bind with SO_REUSEADDR and start fine.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) != 0


def pick_ports(
    defaults: tuple[int, ...], is_free: Callable[[tuple[int, ...]], bool], step: int = 50, tries: int = 20
) -> tuple[int, ...]:
    """``defaults``, or all of them moved up by ``step`` (at most ``tries - 1`` times) while one of them is taken, so
    that a developer's own servers on the default ports do not stop a test run."""
    for attempt in range(tries):
        ports = tuple(port + attempt * step for port in defaults)
        if is_free(ports):
            return ports
    raise ServiceError(f"no free ports near {defaults} on {HOST}")


def http_status(port: int, path: str, timeout: float = 2.0) -> int | None:
    """The status of ``GET path`` on ``127.0.0.1:port``, or ``None`` when nothing answers."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def environment_without_aws() -> dict[str, str]:
    """This process's environment without any ``AWS_*`` variable: a caller's access key, profile, region or endpoint
    must not reach a server (or boto3) behind the tests' back."""
    return {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}


def wait_until(ready: Callable[[], bool], *, timeout: float, what: str, alive: Callable[[], bool], log: Path) -> None:
    """Poll ``ready`` until it holds; ``ServiceError`` (with the log's tail) once ``timeout`` seconds have passed or
    as soon as the server is no longer ``alive``."""
    deadline = time.monotonic() + timeout
    while not ready():
        if not alive():
            raise ServiceError(f"{what} exited during start-up:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} was not ready after {timeout:.0f} s:\n{log_tail(log)}")
        time.sleep(0.1)


def as_user(user: str | None, command: list[str]) -> list[str]:
    """``command`` run as ``user`` when this process is root and a user is named (servers that refuse root)."""
    if user and os.geteuid() == 0:
        return ["runuser", "-u", user, "--", *command]
    return command


def run(command: list[str], *, log: Path, what: str, timeout: float = 120, user: str | None = None) -> None:
    """Run a set-up command to completion, its output appended to ``log``; ``ServiceError`` if it fails."""
    with open(log, "ab") as out:
        try:
            completed = subprocess.run(
                as_user(user, command),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd="/",  # a server's user may not be allowed into the caller's directory
                timeout=timeout,
                env=environment_without_aws(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(f"{what} took longer than {timeout:.0f} s:\n{log_tail(log)}") from None
    if completed.returncode != 0:
        raise ServiceError(f"{what} failed (exit {completed.returncode}):\n{log_tail(log)}")


class ServerProcess:
    """A long-running server started in its own session, its pid in ``pid_file``, so that it can be stopped later
    by this process or another one (the test command's exit handler, a developer's ``stop``).

    The pid is trusted only while ``/proc/<pid>/cmdline`` still contains ``marker`` (the server's data directory),
    so a reused pid is never signalled.
    """

    def __init__(self, pid_file: Path, marker: str, stop_timeout: float):
        self.pid_file = pid_file
        self.marker = marker
        self.stop_timeout = stop_timeout

    def launch(self, command: list[str], *, log: Path, cwd: Path) -> None:
        # Output goes to the log only, so the server does not hold a CI log pipe open after the run.
        with open(log, "ab") as out:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=cwd,
                env=environment_without_aws(),
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        self._process = process

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return None
        if state == "Z" or self.marker not in cmdline:
            return None
        return pid

    def alive(self) -> bool:
        process = getattr(self, "_process", None)
        if process is not None:
            return process.poll() is None
        return self.pid() is not None

    def stop(self) -> None:
        """SIGTERM, up to ``stop_timeout`` seconds to exit, then SIGKILL; a no-op when it is not running."""
        pid = self.pid()
        if pid is not None:
            for sig, patience in ((signal.SIGTERM, self.stop_timeout), (signal.SIGKILL, 10.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                deadline = time.monotonic() + patience
                while self._running(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not self._running(pid):
                    break
            else:
                raise ServiceError(f"pid {pid} survived SIGKILL")
        self.pid_file.unlink(missing_ok=True)

    def _running(self, pid: int) -> bool:
        process = getattr(self, "_process", None)
        if process is not None and process.pid == pid:
            return process.poll() is None  # reaps our own child, which would otherwise linger as a zombie
        return self.pid() == pid
