"""Temporary keys and the filenames inside them.

A temporary key is ``async-temp-files/YYYY/MM/DD/<random>-<filename>``: the date lets operators see the age of a
stray object at a glance, the random part makes keys unguessable and unique, and the filename keeps downloads of
a not-yet-promoted file readable.
"""

from __future__ import annotations

import os
import secrets
import unicodedata

from django.core.exceptions import SuspiciousFileOperation
from django.utils import timezone

TEMPORARY_PREFIX = "async-temp-files/"
#: The longest original filename we keep (most filesystems cap a name at 255 bytes).
MAX_FILENAME_LENGTH = 255
_RANDOM_BYTES = 10


def sanitize_filename(filename: str) -> str:
    """The user-visible name of an uploaded file: its last path component, without control characters.

    Returns an empty string when nothing usable is left (for example ``".."``), which callers report as invalid.
    """
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters (NUL, newlines...); Cf: invisible formatting such as right-to-left overrides.
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    name = name.strip().strip(".").strip()
    if len(name) > MAX_FILENAME_LENGTH:
        stem, ext = os.path.splitext(name)
        ext = ext[:16]
        name = stem[: MAX_FILENAME_LENGTH - len(ext)] + ext
    return name


def storage_safe_filename(filename: str) -> str:
    """A filename safe as the last component of a storage key: ASCII letters, digits, ``-_.`` only.

    Backends differ in what they accept and URL-encode; a conservative alphabet keeps keys identical everywhere.
    """
    stem, ext = os.path.splitext(sanitize_filename(filename))
    stem, ext = _ascii_token(stem).strip("._"), _ascii_token(ext)
    return (stem or "file") + (ext if len(ext) > 1 else "")


def _ascii_token(value: str) -> str:
    ascii_value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ascii_value.replace(" ", "_"))


def generate_temporary_path(filename: str, max_length: int | None = None) -> str:
    """A new temporary key for ``filename``, truncating its stem (never its extension) to fit ``max_length``."""
    now = timezone.now()
    prefix = f"{TEMPORARY_PREFIX}{now:%Y/%m/%d}/{secrets.token_hex(_RANDOM_BYTES)}-"
    stem, ext = os.path.splitext(storage_safe_filename(filename))
    if max_length is not None:
        room = max_length - len(prefix) - len(ext)
        if room < 1:
            raise SuspiciousFileOperation(
                f"A temporary key for {filename!r} cannot fit in {max_length} characters; "
                "increase the field's max_length."
            )
        stem = stem[:room]
    return f"{prefix}{stem}{ext}"


def is_temporary_path(name: str | None) -> bool:
    return bool(name) and name.startswith(TEMPORARY_PREFIX)
