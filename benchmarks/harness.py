"""Plumbing shared by the benchmarks: a temporary workspace, gunicorn servers, an HTTP client that streams a file,
memory readings of a process, and the results table."""

from __future__ import annotations

from collections.abc import Iterable
import contextlib
from dataclasses import dataclass, field
import http.client
import os
from pathlib import Path
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


class BenchmarkError(Exception):
    """A benchmark could not run or its result was wrong (a failed check, not a missed target)."""


# --------------------------------------------------------------------------------------------------------------
# Workspace
# --------------------------------------------------------------------------------------------------------------


class Workspace:
    """A temporary directory for the database, media root, server logs and the upload source file."""

    def __init__(self, keep: bool = False):
        self.path = Path(tempfile.mkdtemp(prefix="ap-storage-bench-"))
        self.keep = keep
        self._source_files: dict[int, Path] = {}

    def source_file(self, size: int) -> Path:
        """A file of ``size`` random bytes, written once per size.

        The first bytes are a fixed marker with a NUL in it so content sniffing always calls it "unknown binary"
        (random bytes could, rarely, look like an MP3 frame or a BMP header).
        """
        if size in self._source_files:
            return self._source_files[size]
        path = self.path / f"source-{size}.bin"
        marker = b"\x00AP-STORAGE-BENCH\x00"
        with open(path, "wb") as out:
            written = 0
            while written < size:
                chunk = os.urandom(min(MIB, size - written))
                if written == 0:
                    chunk = (marker + chunk[len(marker) :])[: len(chunk)]
                out.write(chunk)
                written += len(chunk)
        self._source_files[size] = path
        return path

    def cleanup(self) -> None:
        if self.keep:
            print(f"(kept the benchmark workspace: {self.path})", file=sys.stderr)
            return
        shutil.rmtree(self.path, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------------
# gunicorn
# --------------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nothing_listens(host: str, port: int) -> bool:
    """No server answers on ``host:port`` (the service scripts' own check). Not a test bind: a server stopped moments
    ago leaves connections in TIME_WAIT that would fail it, while the services, which bind with SO_REUSEADDR,
    start fine."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) != 0


def pick_free_ports(
    defaults: tuple[int, ...], step: int, tries: int, free, service: str, option: str
) -> tuple[int, ...]:
    """``defaults``, or all of them moved up by ``step`` (at most ``tries - 1`` times) while ``free(ports)`` says
    one is taken."""
    for attempt in range(tries):
        ports = tuple(port + attempt * step for port in defaults)
        if free(ports):
            return ports
    raise BenchmarkError(f"no free ports for {service} near {defaults}; choose some with {option}")


# Both servers run with exactly these settings; only the WSGI application differs.
GUNICORN_SETTINGS = ["--workers", "1", "--worker-class", "sync", "--timeout", "600", "--graceful-timeout", "5"]


class GunicornServer:
    """One gunicorn master with one sync worker, bound to a free loopback port, in its own process group."""

    def __init__(self, name: str, app: str, workspace: Workspace, env: dict[str, str], python: str | None = None):
        self.name = name
        self.app = app
        self.python = python or sys.executable  # another environment's Python serves another project (the reference)
        self.workspace = workspace
        self.env = env
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = workspace.path / f"gunicorn-{name}.log"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, deadline_seconds: float = 60) -> None:
        self.port = free_port()
        command = [self.python, "-m", "gunicorn", *GUNICORN_SETTINGS, "--bind", f"{self.host}:{self.port}"]
        command.append(self.app)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group: Ctrl-C reaches us, and we stop it cleanly
            )
        self._wait_ready(time.monotonic() + deadline_seconds)

    def _wait_ready(self, deadline: float) -> None:
        """Poll until the worker answers an HTTP request (any status), or fail with the server's log."""
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchmarkError(
                    f"gunicorn ({self.name}) exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
                try:
                    connection.request("GET", "/")
                    connection.getresponse().read()
                finally:
                    connection.close()
                self.worker_pid()  # the worker that answered must be findable too
                return
            except (OSError, http.client.HTTPException, BenchmarkError) as exc:
                last_error = exc
                time.sleep(0.05)
        raise BenchmarkError(f"gunicorn ({self.name}) not ready in time ({last_error}):\n{self.log_tail()}")

    def worker_pid(self) -> int:
        children = child_pids(self.process.pid)
        if len(children) != 1:
            raise BenchmarkError(f"expected one gunicorn worker for {self.name}, found {children}")
        return children[0]

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass


def child_pids(pid: int) -> list[int]:
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in children_file.read_text().split()]
    except OSError:
        pass
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses; the fields after the last ")" are fixed.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


# --------------------------------------------------------------------------------------------------------------
# Process measurements (Linux /proc)
# --------------------------------------------------------------------------------------------------------------


def status_kib(pid: int, name: str) -> int:
    """A ``kB`` line of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise BenchmarkError(f"/proc/{pid}/status has no {name}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class RssWatcher:
    """Peak resident memory of a process while a block runs, relative to its resident memory just before.

    Two readings, the larger wins: ``VmRSS`` polled every few milliseconds, and the kernel's own high-water mark
    ``VmHWM`` after resetting it (writing 5 to ``clear_refs``; allowed for our own processes). The reset matters:
    without it VmHWM would remember the largest request the worker ever served.
    """

    def __init__(self, pid: int, interval: float = 0.002):
        self.pid = pid
        self.interval = interval
        self.baseline_kib = 0
        self.polled_peak_kib = 0
        self.hwm_peak_kib: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hwm_reset = False

    def __enter__(self) -> RssWatcher:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self._hwm_reset = True
        except OSError:
            self._hwm_reset = False
        self.baseline_kib = status_kib(self.pid, "VmRSS")
        self.polled_peak_kib = self.baseline_kib
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self.polled_peak_kib = max(self.polled_peak_kib, status_kib(self.pid, "VmRSS"))
            except (OSError, BenchmarkError):
                return
            self._stop.wait(self.interval)

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.polled_peak_kib = max(self.polled_peak_kib, status_kib(self.pid, "VmRSS"))
        if self._hwm_reset:
            self.hwm_peak_kib = status_kib(self.pid, "VmHWM")

    @property
    def growth_mib(self) -> float:
        peak = max(self.polled_peak_kib, self.hwm_peak_kib or 0)
        return max(0, peak - self.baseline_kib) / 1024

    @property
    def method(self) -> str:
        return "VmHWM after reset + VmRSS polled every 2 ms" if self._hwm_reset else "VmRSS polled every 2 ms"


# --------------------------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------------------------


@dataclass
class PutResult:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def put_file(host: str, port: int, path: str, source: Path, headers: dict[str, str] | None = None) -> PutResult:
    """PUT ``source`` with a Content-Length, streaming it from disk, and read the whole response.

    The body goes out with ``socket.sendfile`` (zero-copy): on a two-core machine the client must not compete with
    the server for CPU more than it has to. The clock covers connecting, sending and reading the response.
    """
    size = source.stat().st_size
    connection = http.client.HTTPConnection(host, port, timeout=600)
    try:
        started = time.perf_counter()
        connection.putrequest("PUT", path, skip_accept_encoding=True)
        connection.putheader("Content-Type", "application/octet-stream")
        connection.putheader("Content-Length", str(size))
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        # If the server answers early (an error) it stops reading; its response says why.
        with open(source, "rb") as body, contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sock.sendfile(body)
        response = connection.getresponse()
        data = response.read()
        seconds = time.perf_counter() - started
        return PutResult(response.status, {k.lower(): v for k, v in response.getheaders()}, data, seconds)
    finally:
        connection.close()


def csrf_secret() -> str:
    """A CSRF cookie value as Django issues it (32 letters and digits); the header repeats it, like the widget."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(32))


# --------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------

PASS, FAIL, INFO, ERROR = "PASS", "FAIL", "info", "ERROR"
ABOVE_REF, BELOW_REF = "above ref", "below ref"


@dataclass
class Row:
    metric: str
    ours: str
    target: str = ""
    verdict: str = INFO


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def add(self, metric: str, ours: str, target: str = "", verdict: str = INFO) -> None:
        self.rows.append(Row(metric, ours, target, verdict))

    def note(self, text: str) -> None:
        self.details.append(text)


def check(ok: bool) -> str:
    return PASS if ok else FAIL


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def summarise(values: Iterable[float], stat: str, higher_is_better: bool = True) -> float:
    """``median`` of the runs, or ``best`` (the fastest run)."""
    values = list(values)
    if stat == "median":
        return statistics.median(values)
    return max(values) if higher_is_better else min(values)


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (from the first line of /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def fmt_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def render_table(sections: list[Section], colour: bool, title: str = "") -> str:
    headers = ("metric", "ours", "target / reference", "verdict")
    rows = [row for section in sections for row in section.rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, value in enumerate((row.metric, row.ours, row.target, row.verdict)):
            widths[i] = max(widths[i], len(value))
    inner = sum(widths) + 3 * len(widths) - 1  # a full-width line between the outer bars
    if len(title) + 2 > inner:  # a long title widens the metric column
        widths[0] += len(title) + 2 - inner
        inner = len(title) + 2
    colours = {PASS: "\033[32m", FAIL: "\033[31m", ERROR: "\033[1;31m", BELOW_REF: "\033[33m", ABOVE_REF: "\033[32m"}

    def line(char: str = "-", joint: str = "+") -> str:
        return joint + joint.join(char * (w + 2) for w in widths) + joint

    def cells(values: tuple[str, ...], verdict: str | None = None) -> str:
        parts = []
        for i, value in enumerate(values):
            text = f" {value.ljust(widths[i])} " if i != 1 else f" {value.rjust(widths[i])} "
            if i == 3 and colour and verdict in colours:
                text = f"{colours[verdict]}{text}\033[0m"
            parts.append(text)
        return "|" + "|".join(parts) + "|"

    out = [line()]
    if title:
        out += ["|" + f" {title} ".ljust(inner) + "|", line()]
    out += [cells(headers), line("=")]
    for section in sections:
        if not section.rows:
            continue
        out.append("|" + f" {section.title} ".ljust(inner) + "|")
        for row in section.rows:
            out.append(cells((row.metric, row.ours, row.target, row.verdict), row.verdict))
        out.append(line())
    return "\n".join(out)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
