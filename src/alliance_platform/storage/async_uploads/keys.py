"""Temporary keys, final keys, and the filenames inside them: the one home of the rule for names.

A temporary key is ``async-temp-files/YYYY/MM/DD/<random>-<filename>``: the date lets operators see the age of a
stray object at a glance, the random part makes keys unguessable and unique, and the filename keeps downloads of
a not-yet-promoted file readable.

The rule, whatever the backend (a name that fits the strictest store fits them all):

* Lengths are counted in UTF-8 bytes, as filesystems and S3 count them, not in characters: every path component we
  create fits ``MAX_FILENAME_LENGTH`` (255) bytes and a whole key ``MAX_KEY_LENGTH`` (1024) bytes; a model field's
  ``max_length`` (a database column, in characters) is respected as well.
* Shortening cuts the stem, never inside a character, and keeps the extension (capped at 16 bytes).
* A name with no usable character left gets the stem ``FALLBACK_STEM`` ("file"), never an empty or hidden name:
  no temporary or final name starts with a dot.
* The user-visible name (``sanitize_filename``) keeps its unicode; temporary names are ASCII
  (``storage_safe_filename``); final names keep what Django's ``get_valid_name`` keeps (``final_filename``).
"""

from __future__ import annotations

import os
import posixpath
import re
import secrets
import unicodedata

from django.core.exceptions import SuspiciousFileOperation
from django.utils import timezone

#: The first path component of every temporary key, unless a storage's ``temporary_key_prefix`` says otherwise: the
#: storage is what classifies keys (``AsyncUploadStorage.is_temporary_path``); these module defaults are its rule.
DEFAULT_TEMPORARY_KEY_PREFIX = "async-temp-files"
TEMPORARY_PREFIX = f"{DEFAULT_TEMPORARY_KEY_PREFIX}/"
#: The longest filename (path component) we keep or create, in UTF-8 bytes: most filesystems cap a name at 255
#: bytes, whatever its characters.
MAX_FILENAME_LENGTH = 255
#: The longest key we create, in UTF-8 bytes: S3's limit for an object key (Azure allows 1024 characters, and a
#: filesystem path relative to ``MEDIA_ROOT`` this long is well within ``PATH_MAX``).
MAX_KEY_LENGTH = 1024
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
    """The user-visible name of an uploaded file: its last path component, without control characters, at most
    ``MAX_FILENAME_LENGTH`` bytes (the extension kept).

    This strips rather than refuses: ``text.has_control_characters`` is the rule for refusing text (the plan
    endpoint refuses a filename with C0 controls or DEL before it gets here), while this also drops what that rule
    lets through but a name must not show, such as invisible formatting characters (Cf: right-to-left overrides,
    zero-width spaces) and C1 controls, so that callers that do not refuse still get a clean name.

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


def generate_temporary_path(
    filename: str, max_length: int | None = None, *, prefix: str = DEFAULT_TEMPORARY_KEY_PREFIX
) -> str:
    """A new temporary key for ``filename`` under ``prefix`` (a storage's ``temporary_key_prefix``), its stem shortened (never its extension) so that its last component
    fits ``MAX_FILENAME_LENGTH`` bytes and the key fits ``max_length`` characters and ``MAX_KEY_LENGTH`` bytes.

    The key is ASCII, so characters and bytes are the same count. Raises ``SuspiciousFileOperation`` when not even
    one character of the stem fits: the field's ``max_length`` is too small for any upload.
    """
    now = timezone.now()
    random_part = f"{secrets.token_hex(_RANDOM_BYTES)}-"
    prefix = f"{temporary_area(prefix)}{now:%Y/%m/%d}/{random_part}"
    stem, ext = os.path.splitext(storage_safe_filename(filename))
    ext = ext[:_MAX_EXTENSION]  # a name within 255 bytes may still be nearly all extension
    key_limit = MAX_KEY_LENGTH if max_length is None else min(max_length, MAX_KEY_LENGTH)
    room = min(MAX_FILENAME_LENGTH - len(random_part), key_limit - len(prefix)) - len(ext)
    if room < 1:
        raise SuspiciousFileOperation(
            f"A temporary key for {filename!r} cannot fit in {key_limit} characters; increase the field's max_length."
        )
    return f"{prefix}{stem[:room]}{ext}"


def final_key(name: str, max_length: int | None = None) -> str:
    """``name`` (what ``upload_to`` and the storage made of a user's filename) as the key a promoted file gets.

    Its basename is made safe by ``final_filename`` once more, because a callable ``upload_to`` may return any
    name (a hidden one, one too long), and its stem is shortened so that, with room for the suffix that
    ``get_available_name`` adds to a taken name, the key fits ``max_length`` characters (the field's column) and
    ``MAX_KEY_LENGTH`` bytes. The directory is ``upload_to``'s own and is kept as it is.

    Raises ``SuspiciousFileOperation`` when the directory alone leaves no room for a name: ``upload_to`` and
    ``max_length`` do not fit together.
    """
    directory, basename = posixpath.split(name)
    stem, ext = os.path.splitext(final_filename(basename))
    prefix = f"{directory}/" if directory else ""
    byte_room = MAX_KEY_LENGTH - _AVAILABLE_NAME_SUFFIX - _utf8_length(prefix) - _utf8_length(ext)
    stem = _truncate_utf8(stem, byte_room)
    if max_length is not None:
        stem = stem[: max(max_length - _AVAILABLE_NAME_SUFFIX - len(prefix) - len(ext), 0)]
    if not stem:
        raise SuspiciousFileOperation(
            f"No name for {basename!r} fits in {prefix!r} within {max_length} characters and {MAX_KEY_LENGTH} bytes; "
            "shorten upload_to or increase the field's max_length."
        )
    return f"{prefix}{stem}{ext}"


def temporary_area(prefix: str = DEFAULT_TEMPORARY_KEY_PREFIX) -> str:
    """The directory every temporary key under ``prefix`` lives in, with its trailing slash (``"async-temp-files/"``):
    a key is temporary when it starts with this, so ``async-temp-files-old/x`` is not."""
    return f"{prefix.strip('/')}/"


def is_temporary_path(name: str | None, *, prefix: str = DEFAULT_TEMPORARY_KEY_PREFIX) -> bool:
    """Whether ``name`` is a temporary key under ``prefix``; storages answer this through
    ``AsyncUploadStorage.is_temporary_path``, which a subclass may override."""
    return bool(name) and name.startswith(temporary_area(prefix))
