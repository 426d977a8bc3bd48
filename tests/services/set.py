"""Several services started together under one directory, and stopped together whatever happens."""

from __future__ import annotations

from pathlib import Path
import sys

from .base import Service
from .process import ServiceError


class ServiceSet:
    """``services`` (name to class) started in ``root/<name>``, in order; ``stop()`` stops every one that was
    started, in reverse order, and reports (rather than raises) what could not be stopped, so that one stuck server
    does not leave the others running."""

    def __init__(self, root: Path, services: dict[str, type[Service]]):
        self.root = Path(root)
        self.classes = services
        self.started: list[Service] = []

    def start(self) -> dict[str, str]:
        """Start every service; the environment variables they publish, merged."""
        env: dict[str, str] = {}
        for name, service_class in self.classes.items():
            service = service_class(self.root / name)
            # Recorded before it starts: an interrupted start may leave something running that stop() must end.
            self.started.append(service)
            service.start()
            env.update(service.env())
        return env

    def stop(self) -> list[str]:
        problems = []
        while self.started:
            service = self.started.pop()
            try:
                service.stop()
            except (ServiceError, OSError) as exc:
                problems.append(f"could not stop {service.name} in {service.directory}: {exc}")
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
        return problems

    def __enter__(self) -> dict[str, str]:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info) -> None:
        self.stop()
