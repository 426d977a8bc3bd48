"""Multipart upload plans: splitting a large file into parts and the signed token that names the upload.

The token is the browser's credential for one multipart upload (its key, field and upload id): with it, the
browser asks for part URLs in batches while it uploads, lists stored parts to resume, and completes or aborts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math
from typing import Any

from ..settings import storage_settings
from . import tokens

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


def part_lengths(size: int, part_size: int, part_numbers: list[int]) -> dict[int, int]:
    """The exact length of each of ``part_numbers`` when ``size`` bytes are cut into ``part_size`` parts, as the
    plan lays them out: every part but the last is ``part_size`` long (R2 refuses to assemble unequal parts)."""
    count = max(1, math.ceil(size / part_size))
    return {number: part_size if number < count else size - (count - 1) * part_size for number in part_numbers}


@dataclass(frozen=True)
class MultipartToken:
    """What a multipart token names: one upload (``upload_id``) of one temporary ``key`` for one field, and the
    part layout it was planned with, so that part numbers and sizes can be checked without a lookup."""

    key: str
    field_id: str
    upload_id: str
    part_size: int
    part_count: int


def sign_token(*, key: str, field_id: str, upload_id: str, part_size: int, part_count: int) -> str:
    """The browser's credential for the multipart upload these arguments describe (see ``tokens``)."""
    payload = MultipartToken(
        key=key, field_id=field_id, upload_id=upload_id, part_size=part_size, part_count=part_count
    )
    return tokens.sign(payload, salt=MULTIPART_SALT)


def load_token(token: str) -> MultipartToken:
    """What ``token`` names; raises ``signing.SignatureExpired`` after ``MULTIPART_UPLOAD_EXPIRY`` and
    ``signing.BadSignature`` for any token ``sign_token`` did not make."""
    return tokens.load(token, MultipartToken, salt=MULTIPART_SALT, max_age=storage_settings.MULTIPART_UPLOAD_EXPIRY)


#: The endpoints a multipart plan points the browser at, by purpose; the views layer serves them and passes their
#: URLs to the backend as ``endpoints``.
ENDPOINT_PURPOSES = ("multipart_sign", "multipart_list", "multipart_complete", "multipart_abort")


def plan(
    *,
    key: str,
    field_id: str,
    upload_id: str,
    size: int,
    provider: str,
    endpoints: Mapping[str, str] | None,
    part_size: int | None = None,
) -> dict[str, Any]:
    """The ``uploadUrl`` part of a plan for a multipart upload (``part_size`` defaults to S3's sizing).

    ``endpoints`` holds the URLs of ``ENDPOINT_PURPOSES`` (what the plan endpoint passes a multipart backend):
    without them the browser could not finish the upload, so their absence is a programming error.
    """
    missing = [purpose for purpose in ENDPOINT_PURPOSES if not (endpoints or {}).get(purpose)]
    if endpoints is None or missing:
        raise ValueError(f"A multipart plan needs the URLs of {', '.join(missing)} in endpoints.")
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
            "signUrl": endpoints["multipart_sign"],
            "listUrl": endpoints["multipart_list"],
            "completeUrl": endpoints["multipart_complete"],
            "abortUrl": endpoints["multipart_abort"],
        },
    }
