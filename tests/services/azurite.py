"""A throwaway Azure Blob service: Azurite's blob server, with its published development account.

Azurite checks SAS signatures, permissions, blob scope and expiry, and CORS once service CORS rules are set, which
is what the tests need from it. It comes from npm, pinned to ``AZURITE_VERSION`` (the newest release that still runs
on Debian 12's Node.js 18), installed on first use into ``<checkout>/.azurite`` (git-ignored; ``$AZURITE_HOME``
overrides it). The binary is run directly, so nothing is fetched at start time.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import npm
from .base import Service
from .process import HOST, ROOT, ServerProcess, ServiceError, http_status, wait_until

AZURITE_VERSION = "3.35.0"
ACCOUNT = "devstoreaccount1"
# Azurite's documented development key: public, the same in every installation.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT = 60
STOP_TIMEOUT = 10


def azurite_home() -> Path:
    return Path(os.environ.get("AZURITE_HOME") or ROOT / ".azurite")


def azurite_binary(log: Path) -> Path:
    """The pinned ``azurite-blob``, installed from npm when it is missing or another version."""
    home = azurite_home()
    npm.ensure_package(home, "azurite", AZURITE_VERSION, log=log)
    binary = home / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise ServiceError(f"npm did not install {binary}")
    return binary


class Azurite(Service):
    name = "azure"
    default_ports = (10000,)

    def __init__(self, directory: Path, ports: tuple[int, ...] | None = None):
        super().__init__(directory, ports)
        self.process = ServerProcess(self.directory / "pid", f"--location {self.directory / 'data'}", STOP_TIMEOUT)

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    @property
    def version(self) -> str:
        return npm.installed_version(azurite_home(), "azurite")

    def launch(self) -> None:
        binary = azurite_binary(self.log)
        data = self.directory / "data"
        data.mkdir(mode=0o700)
        # --skipApiVersionCheck: the Python SDK may speak a newer API version than Azurite knows; the operations the
        # library uses are the same.
        self.process.launch(
            [
                str(binary),
                "--blobHost",
                HOST,
                "--blobPort",
                str(self.port),
                "--location",
                str(data),
                "--silent",
                "--disableTelemetry",
                "--skipApiVersionCheck",
            ],
            log=self.log,
            cwd=self.directory,
        )
        # Ready once the blob service answers HTTP at all (an anonymous request gets an error status, which is fine).
        wait_until(
            lambda: http_status(self.port, f"/{ACCOUNT}?comp=list") is not None,
            timeout=START_TIMEOUT,
            what="Azurite",
            alive=self.process.alive,
            log=self.log,
        )

    def shutdown(self) -> None:
        self.process.stop()

    def env(self) -> dict[str, str]:
        return {"AP_TEST_AZURE_CONNECTION_STRING": self.connection_string}
