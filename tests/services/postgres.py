"""A throwaway PostgreSQL cluster: ``initdb`` into the service directory, trust authentication for ``postgres``,
listening on 127.0.0.1 and a Unix socket in that directory. Durability is off (``fsync=off``, ``initdb
--no-sync``): the data is thrown away after the run.

The newest server under ``/usr/lib/postgresql/N/bin`` is used (Debian's ``postgresql`` package). ``initdb`` and
``postgres`` refuse to run as root, so as root they run as the ``postgres`` system user.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil

from .base import Service
from .process import HOST, ServiceError, run

SERVER_USER = "postgres"


def server_binaries() -> Path:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3].split(".")[0])
    )
    if not candidates:
        raise ServiceError("no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)")
    return candidates[-1].parent


class PostgreSQL(Service):
    name = "postgres"
    default_ports = (5433,)  # not 5432, where a system cluster may live

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def launch(self) -> None:
        binaries = server_binaries()
        if os.geteuid() == 0:
            shutil.chown(self.directory, SERVER_USER, SERVER_USER)
            self.log.touch()
            shutil.chown(self.log, SERVER_USER, SERVER_USER)
        user = SERVER_USER
        run(
            [
                str(binaries / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            log=self.log,
            what="initdb",
            user=user,
        )
        options = f"-c listen_addresses={HOST} -p {self.port} -k {self.directory} -c fsync=off"
        run(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            log=self.log,
            what="pg_ctl start",
            user=user,
        )
        # pg_ctl -w waited for the socket; this proves that the TCP listener, which the tests use, answers too.
        run(
            [str(binaries / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port), "-t", "30"],
            log=self.log,
            what=f"pg_isready on {HOST}:{self.port}",
        )

    def shutdown(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        pg_ctl = str(server_binaries() / "pg_ctl")
        try:
            # "fast" disconnects clients (a test run killed half way) instead of waiting for them.
            run(
                [pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"],
                log=self.log,
                what="pg_ctl stop",
                user=SERVER_USER,
            )
        except ServiceError:
            run(
                [pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                log=self.log,
                what="pg_ctl stop",
                user=SERVER_USER,
            )

    def env(self) -> dict[str, str]:
        return {"AP_TEST_DB": "postgres", "AP_TEST_PG_HOST": HOST, "AP_TEST_PG_PORT": str(self.port)}
