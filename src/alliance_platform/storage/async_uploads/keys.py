"""Temporary keys and the filenames inside them.

A temporary key is ``async-temp-files/YYYY/MM/DD/<random>-<filename>``: the date lets operators see the age of a
stray object at a glance, the random part makes keys unguessable and unique, and the filename keeps downloads of
a not-yet-promoted file readable.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata

from django.core.exceptions import SuspiciousFileOperation
from django.utils import timezone

TEMPORARY_PREFIX = "async-temp-files/"
#: The longest filename (path component) we keep or create, in UTF-8 bytes: most filesystems cap a name at 255
#: bytes, whatever its characters.
MAX_FILENAME_LENGTH = 255
#: A stem for names with no usable characters left ("😀", "()", "#.txt").
FALLBACK_STEM = "file"
#: Room a final name keeps for the suffix ``get_available_name`` adds when the name is taken ("_" + 7 characters).
_AVAILABLE_NAME_SUFFIX = 8
_MAX_EXTENSION = 16
_RANDOM_BYTES = 10
_VALID_NAME_CHARACTER = re.compile(r"[-\w.]")


def _utf8_length(value: str) -> int:
    return len(value.encode())


def _truncate_utf8(value: str, max_bytes: int) -> str:
    """``value`` cut to at most ``max_bytes`` UTF-8 bytes, never in the middle of a character."""
    return value.encode()[: max(max_bytes, 0)].decode(errors="ignore")


def _fit(stem: str, ext: str, max_bytes: int) -> str:
    """``stem + ext`` within ``max_bytes``, shortening the stem, never the extension (capped first)."""
    ext = _truncate_utf8(ext, _MAX_EXTENSION)
    return _truncate_utf8(stem, max_bytes - _utf8_length(ext)) + ext


def sanitize_filename(filename: str) -> str:
    """The user-visible name of an uploaded file: its last path component, without control characters.

    Returns an empty string when nothing usable is left (for example ``".."``), which callers report as invalid.
    """
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters (NUL, newlines...); Cf: invisible formatting such as right-to-left overrides.
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    name = name.strip().strip(".").strip()
    if _utf8_length(name) > MAX_FILENAME_LENGTH:
        name = _fit(*os.path.splitext(name), MAX_FILENAME_LENGTH)
    return name


def storage_safe_filename(filename: str) -> str:
    """A filename safe as the last component of a storage key: ASCII letters, digits, ``-_.`` only.

    Backends differ in what they accept and URL-encode; a conservative alphabet keeps keys identical everywhere.
    """
    stem, ext = os.path.splitext(sanitize_filename(filename))
    stem, ext = _ascii_token(stem).strip("._"), _ascii_token(ext)
    return (stem or FALLBACK_STEM) + (ext if len(ext) > 1 else "")


def final_filename(filename: str) -> str:
    """The name a promoted file gets from the user's ``filename``, before ``upload_to`` places it.

    Unicode letters are kept (``résumé.pdf``), but only what Django's ``get_valid_name`` keeps, so the storage does
    not empty the name later; a name with nothing usable gets ``FALLBACK_STEM``, a leading dot never survives
    (no hidden files), and the name fits in ``MAX_FILENAME_LENGTH`` bytes with room for the suffix that a taken
    name gets, keeping the extension.
    """
    stem, ext = os.path.splitext(sanitize_filename(filename).replace(" ", "_"))
    stem = "".join(_VALID_NAME_CHARACTER.findall(stem)).strip("._") or FALLBACK_STEM
    ext = "".join(_VALID_NAME_CHARACTER.findall(ext))
    ext = ext if len(ext) > 1 and ext.startswith(".") else ""
    return _fit(stem, ext, MAX_FILENAME_LENGTH - _AVAILABLE_NAME_SUFFIX)


def _ascii_token(value: str) -> str:
    ascii_value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ascii_value.replace(" ", "_"))


def generate_temporary_path(filename: str, max_length: int | None = None) -> str:
    """A new temporary key for ``filename``, truncating its stem (never its extension) to fit ``max_length``."""
    now = timezone.now()
    random_part = f"{secrets.token_hex(_RANDOM_BYTES)}-"
    prefix = f"{TEMPORARY_PREFIX}{now:%Y/%m/%d}/{random_part}"
    stem, ext = os.path.splitext(storage_safe_filename(filename))
    # The last component (random part, stem, extension; ASCII) within the filesystem's limit.
    stem = stem[: MAX_FILENAME_LENGTH - len(random_part) - len(ext)]
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
