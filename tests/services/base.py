"""The contract of a service: started in a fresh directory of its own on free ports of 127.0.0.1, described by
the environment variables the tests read, stopped again by anyone who knows the directory."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import ClassVar

from .process import ServiceError, nothing_listens, pick_ports


class Service:
    """One throwaway server.

    ``start()`` needs ``directory`` to be missing or empty and writes everything there (data, ``log``, ``pid``,
    ``service.json``); ``stop()`` works from any process given the same directory, since ``service.json`` records
    the ports that were chosen.
    """

    name: ClassVar[str]
    #: The ports tried first, moved up together when one is taken (see ``process.pick_ports``).
    default_ports: ClassVar[tuple[int, ...]]
    #: Started by ``--services=all``. The services only some tests need are named one by one instead.
    in_all: ClassVar[bool] = True

    def __init__(self, directory: Path, ports: tuple[int, ...] | None = None):
        self.directory = Path(directory).resolve()
        self.requested_ports = ports
        self.ports: tuple[int, ...] = ports or ()
        self.log = self.directory / "log"

    # What subclasses provide.

    def bound_ports(self, ports: tuple[int, ...]) -> tuple[int, ...]:
        """Every port the server listens on when started with ``ports`` (more than its API port for some)."""
        return ports

    def launch(self) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """The environment variables through which the tests (and benchmarks) find this server."""
        raise NotImplementedError

    # The life cycle.

    def ports_free(self, ports: tuple[int, ...]) -> bool:
        return all(nothing_listens(port) for port in self.bound_ports(ports))

    def start(self) -> Service:
        if self.directory.exists() and any(self.directory.iterdir()):
            raise ServiceError(f"{self.directory} is not empty; give {self.name} a fresh directory")
        if self.requested_ports:
            if not self.ports_free(self.requested_ports):
                raise ServiceError(f"{self.name}: a port of {self.bound_ports(self.requested_ports)} is taken")
            self.ports = self.requested_ports
        else:
            self.ports = pick_ports(self.default_ports, self.ports_free)
        self.directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        (self.directory / "service.json").write_text(json.dumps({"name": self.name, "ports": self.ports}))
        try:
            self.launch()
        except BaseException:
            # Whatever half-started must not outlive a failed (or interrupted) start.
            with contextlib.suppress(ServiceError):
                self.shutdown()
            raise
        return self

    def stop(self) -> None:
        self.shutdown()

    @classmethod
    def attach(cls, directory: Path) -> Service:
        """The service started in ``directory`` (by this process or another), to stop it or read its env."""
        recorded = json.loads((Path(directory) / "service.json").read_text())
        service = cls(directory, tuple(recorded["ports"]))
        service.ports = tuple(recorded["ports"])
        return service
