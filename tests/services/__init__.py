"""The real services the test suite and the benchmarks run against, started and stopped by Python (one home for
it): PostgreSQL, SeaweedFS (S3), Azurite (Azure Blob), fake-gcs-server (Google Cloud Storage), Redis and ClamAV (clamd; both for background tasks and
virus scanning), each throwaway, in a directory of its own, on free ports of 127.0.0.1 (the usual ones when they
are free).

* The pytest plugin (``tests.services.plugin``, always loaded) starts the services a run asks for with
  ``--services=postgres,s3,azure,gcs,redis,clamd`` (``all``: every one but Redis and ClamAV, which are named when
  wanted) before Django reads its settings, and stops them at the end.
* The benchmarks start the same classes (``benchmarks/database.py``, ``s3.py``, ``azure.py``).
* ``python -m tests.services start|stop NAME DIR`` does it by hand, e.g. for the demo on Azurite.
"""

from __future__ import annotations

from .azurite import Azurite
from .base import Service
from .clamd import ClamAV
from .gcs import FakeGCSServer
from .postgres import PostgreSQL
from .process import ServiceError
from .redis import Redis
from .seaweedfs import SeaweedFS
from .set import ServiceSet

SERVICES: dict[str, type[Service]] = {
    service.name: service for service in (PostgreSQL, SeaweedFS, Azurite, FakeGCSServer, Redis, ClamAV)
}

__all__ = [
    "SERVICES",
    "Azurite",
    "ClamAV",
    "FakeGCSServer",
    "PostgreSQL",
    "Redis",
    "SeaweedFS",
    "Service",
    "ServiceError",
    "ServiceSet",
]
