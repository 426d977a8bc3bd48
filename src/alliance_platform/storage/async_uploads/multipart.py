"""Multipart upload plans: splitting a large file into parts and the signed token that names the upload.

The token is the browser's credential for one multipart upload (its key, field and upload id): with it, the
browser asks for part URLs in batches while it uploads, lists stored parts to resume, and completes or aborts.
"""

from __future__ import annotations

import math
from typing import Any

from django.core import signing

from ..settings import storage_settings

MULTIPART_SALT = "alliance_platform.storage.multipart"
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
MAX_PARTS = 10_000  # S3's maximum number of parts
MIB = 1024 * 1024


def part_size_for(
    size: int, *, configured: int | None = None, minimum: int = MIN_PART_SIZE, max_parts: int = MAX_PARTS
) -> int:
    """The configured part size (at least ``minimum``), raised in whole MiB until ``size`` fits in ``max_parts``.

    The defaults are S3's (``S3_MULTIPART_PART_SIZE``, 5 MiB, 10,000 parts); other backends pass their own limits.
    """
    if configured is None:
        configured = int(storage_settings.S3_MULTIPART_PART_SIZE)
    needed = math.ceil(size / max_parts / MIB) * MIB
    return max(int(configured), minimum, needed)


def sign_token(*, key: str, field_id: str, upload_id: str, part_size: int, part_count: int) -> str:
    payload = {"k": key, "f": field_id, "u": upload_id, "s": part_size, "n": part_count}
    return signing.dumps(payload, salt=MULTIPART_SALT, compress=True)


def load_token(token: str) -> dict[str, Any]:
    """The token's payload; raises ``signing.BadSignature`` (or ``SignatureExpired``) when it is not ours."""
    payload = signing.loads(token, salt=MULTIPART_SALT, max_age=storage_settings.MULTIPART_UPLOAD_EXPIRY)
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in "kfu"):
        raise signing.BadSignature("Malformed token payload")
    if not all(isinstance(payload.get(k), int) for k in "sn"):
        raise signing.BadSignature("Malformed token payload")
    return payload


def plan(
    *, key: str, field_id: str, upload_id: str, size: int, provider: str, registry, part_size: int | None = None
) -> dict[str, Any]:
    """The ``uploadUrl`` part of a plan for a multipart upload (``part_size`` defaults to S3's sizing)."""
    if part_size is None:
        part_size = part_size_for(size)
    part_count = max(1, math.ceil(size / part_size))
    token = sign_token(key=key, field_id=field_id, upload_id=upload_id, part_size=part_size, part_count=part_count)
    return {
        "url": "",
        "fields": {},
        "method": "MULTIPART",
        "provider": provider,
        "multipart": {
            "token": token,
            "uploadId": upload_id,
            "partSize": part_size,
            "partCount": part_count,
            "signUrl": registry.reverse("multipart_sign"),
            "listUrl": registry.reverse("multipart_list"),
            "completeUrl": registry.reverse("multipart_complete"),
            "abortUrl": registry.reverse("multipart_abort"),
        },
    }
