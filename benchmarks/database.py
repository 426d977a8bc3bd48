"""The database the benchmarks run on: a SQLite file in the workspace (default) or a throwaway PostgreSQL cluster.

The choice reaches ``benchmarks/settings.py`` through environment variables (``AP_BENCH_DB``, ``AP_BENCH_PG_*``) set
in the runner's own environment before Django is set up, so the runner and every gunicorn server it starts (they
inherit that environment) use the same database.

PostgreSQL is started by the same code as the test suite's (``tests.services.PostgreSQL``: initdb into a fresh
directory inside the workspace, listening on ``127.0.0.1``), and stopped when the runner finishes, fails or is
interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import errno
import os
import socket
import sqlite3
import sys

from tests.services import PostgreSQL, ServiceError

from .harness import BenchmarkError, Workspace, log_tail

DATABASES = ("sqlite", "postgres")
PG_FIRST_PORT = PostgreSQL.default_ports[0]  # a system cluster may live on 5432
PG_PORTS_TRIED = 50
PG_DATABASE = "ap_storage_bench"
PG_HOST = "127.0.0.1"


@dataclass(frozen=True)
class PlanVariant:
    """The plan benchmark's third server: our endpoint once more, with one database setting changed.

    SQLite: ``synchronous=OFF``, commits do not wait for the disk. PostgreSQL: a new connection for every request
    (``CONN_MAX_AGE=0``, Django's default) instead of persistent connections. Waiting for the disk cannot be
    measured there: the service script starts the cluster with ``fsync=off`` (a command-line setting, which
    ``ALTER SYSTEM`` cannot override), so ``synchronous_commit=off`` would only repeat the first measurement.
    """

    env: dict[str, str]  # added to that server's environment
    row: str  # metric in the table
    name: str  # short name for progress lines and details


@dataclass
class Database:
    """Which database the benchmarks use, and how to describe it."""

    vendor: str
    description: str = ""
    env: dict[str, str] = field(default_factory=dict)  # for the runner and every server
    commit_description: str = "commit"  # what the submit benchmark's commit probe measures

    @property
    def plan_variant(self) -> PlanVariant:
        if self.vendor == "postgres":
            return PlanVariant(
                {"AP_BENCH_PG_CONN_MAX_AGE": "0"},
                "  ours with a new connection per request",
                "CONN_MAX_AGE=0",
            )
        return PlanVariant(
            {"AP_BENCH_SQLITE_PRAGMAS": "synchronous=OFF"},
            "  ours with SQLite synchronous=OFF (no fsync)",
            "synchronous=OFF",
        )

    def start(self) -> None:
        """Make the database available and export its environment variables into ``os.environ``."""
        os.environ.update(self.env)

    def stop(self) -> None:
        pass


class SqliteDatabase(Database):
    def __init__(self):
        super().__init__(
            "sqlite",
            f"SQLite {sqlite3.sqlite_version} file database (in the workspace)",
            {"AP_BENCH_DB": "sqlite"},
            "SQLite commit (single-row INSERT, fsync) on this disk",
        )


def port_is_free(port: int, host: str = PG_HOST) -> bool:
    """Nothing listens on ``host:port`` and the port can be bound (the same check as the service script, and more)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        if probe.connect_ex((host, port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def pick_pg_port() -> int:
    for port in range(PG_FIRST_PORT, PG_FIRST_PORT + PG_PORTS_TRIED):
        if port_is_free(port):
            return port
    last = PG_FIRST_PORT + PG_PORTS_TRIED - 1
    raise BenchmarkError(f"no free port for PostgreSQL on {PG_HOST} between {PG_FIRST_PORT} and {last}")


class PostgresDatabase(Database):
    """A throwaway PostgreSQL cluster in ``<workspace>/postgres``, with a database created for the benchmarks."""

    def __init__(self, workspace: Workspace, progress):
        super().__init__("postgres", "PostgreSQL")
        self.workspace = workspace
        self.progress = progress
        self.port = 0
        self.service: PostgreSQL | None = None

    def start(self) -> None:
        try:
            import psycopg
        except ImportError:
            raise BenchmarkError(
                "--database postgres needs psycopg 3 (pip install 'psycopg[binary]', part of the test extra)"
            ) from None
        # As root the cluster runs as the postgres user, which must be able to reach its directory inside.
        os.chmod(self.workspace.path, 0o755)
        self.port = pick_pg_port()
        self.progress(f"starting PostgreSQL on {PG_HOST}:{self.port} (tests.services)")
        # Kept before it starts: an interrupted start may leave a running server, and stopping one that never
        # started is a no-op.
        self.service = PostgreSQL(self.workspace.path / "postgres", (self.port,))
        try:
            self.service.start()
        except ServiceError as exc:
            raise BenchmarkError(f"PostgreSQL did not start: {exc}") from exc

        try:
            with psycopg.connect(
                host=PG_HOST, port=self.port, user="postgres", dbname="postgres", autocommit=True, connect_timeout=30
            ) as conn:
                conn.execute(f"CREATE DATABASE {PG_DATABASE}")
                version = conn.execute("SHOW server_version").fetchone()[0]
                fsync = conn.execute("SHOW fsync").fetchone()[0]
                synchronous_commit = conn.execute("SHOW synchronous_commit").fetchone()[0]
        except psycopg.Error as exc:
            raise BenchmarkError(
                f"could not create the database {PG_DATABASE} on {PG_HOST}:{self.port}: {exc}"
            ) from exc
        self.description = (
            f"PostgreSQL {version.split()[0]} on {PG_HOST}:{self.port} over TCP "
            f"(throwaway cluster, fsync={fsync}, synchronous_commit={synchronous_commit})"
        )
        waits = "waits for the WAL to reach the disk" if fsync == "on" else "does not wait for the disk"
        self.commit_description = f"PostgreSQL commit (single-row INSERT over TCP; fsync={fsync}: {waits})"
        self.env = {
            "AP_BENCH_DB": "postgres",
            "AP_BENCH_PG_HOST": PG_HOST,
            "AP_BENCH_PG_PORT": str(self.port),
            "AP_BENCH_PG_NAME": PG_DATABASE,
        }
        os.environ.update(self.env)

    def stop(self) -> None:
        service, self.service = self.service, None
        if service is None:
            return
        try:
            service.stop()
        except ServiceError as exc:
            print(f"warning: could not stop PostgreSQL: {exc}", file=sys.stderr)

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.workspace.path / "postgres" / "log", lines)


def make_database(vendor: str, workspace: Workspace, progress) -> Database:
    if vendor == "postgres":
        return PostgresDatabase(workspace, progress)
    return SqliteDatabase()
