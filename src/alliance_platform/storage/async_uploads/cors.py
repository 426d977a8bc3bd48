"""The CORS rules that let the browser talk to cloud storage directly, for every place the async fields upload to.

Uploads and downloads go from the site's pages straight to a bucket or storage account, another origin: without
rules allowing the site's origin there, the browser blocks every request. Each backend knows its provider's rule
format (``AsyncUploadStorage.cors_rules``); this module finds the distinct places to configure.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from .registry import AsyncFieldRegistry
from .storage.base import AsyncUploadStorage


@dataclass(frozen=True)
class CorsTarget:
    description: str
    storage: AsyncUploadStorage


def cors_targets() -> list[CorsTarget]:
    """One entry per bucket/account that needs rules, in a stable order."""
    targets: dict[str, CorsTarget] = {}
    for storage in AsyncFieldRegistry.all_storages():
        description = storage.cors_target()
        if description is not None:
            targets.setdefault(description, CorsTarget(description, storage))
    return sorted(targets.values(), key=lambda target: target.description)


def validate_origin(origin: str) -> str:
    """An origin exactly as browsers send it (scheme, host, optional port) or ``*``; raises ``ValueError``."""
    if origin == "*":
        return origin
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{origin!r} is not an origin: expected scheme://host[:port], e.g. https://www.example.com")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{origin!r} is not an origin: drop the path, query and credentials (no trailing slash)")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"{origin!r} has an invalid port") from exc
    return origin
