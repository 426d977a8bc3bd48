"""What ``file_restrictions`` allow, checked twice: on the declared name/type when an upload is planned, and on
the sniffed content when the upload is submitted.

Entries are extensions (``".pdf"``), MIME types (``"application/pdf"``) or MIME wildcards (``"image/*"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import mimetypes
import os
from typing import Any

from django.utils.translation import gettext_lazy as _

from .sniffing import describe_content_type

# Extensions whose content we can recognise, with the sniffed types that count as genuine for them.
# Office Open XML and OpenDocument files are ZIP containers; legacy Office files are OLE containers.
_ZIP = {"application/zip"}
_CONTENT_FOR_EXTENSION: dict[str, set[str]] = {
    ".pdf": {"application/pdf"},
    ".png": {"image/png"},
    ".jpg": {"image/jpeg"},
    ".jpeg": {"image/jpeg"},
    ".jpe": {"image/jpeg"},
    ".gif": {"image/gif"},
    ".bmp": {"image/bmp"},
    ".tif": {"image/tiff"},
    ".tiff": {"image/tiff"},
    ".webp": {"image/webp"},
    ".ico": {"image/x-icon"},
    ".heic": {"image/heic", "image/heif"},
    ".heif": {"image/heic", "image/heif"},
    ".avif": {"image/avif"},
    ".svg": {"image/svg+xml"},
    ".zip": _ZIP,
    ".docx": _ZIP,
    ".xlsx": _ZIP,
    ".pptx": _ZIP,
    ".odt": _ZIP,
    ".ods": _ZIP,
    ".odp": _ZIP,
    ".epub": _ZIP,
    ".doc": {"application/x-ole-storage"},
    ".xls": {"application/x-ole-storage"},
    ".ppt": {"application/x-ole-storage"},
    ".msg": {"application/x-ole-storage"},
    ".gz": {"application/gzip"},
    ".tgz": {"application/gzip"},
    ".7z": {"application/x-7z-compressed"},
    ".rar": {"application/vnd.rar"},
    ".mp3": {"audio/mpeg"},
    ".flac": {"audio/flac"},
    ".ogg": {"audio/ogg"},
    ".oga": {"audio/ogg"},
    ".wav": {"audio/wav"},
    ".webm": {"video/webm"},
    ".mp4": {"video/mp4"},
    ".m4v": {"video/mp4"},
    ".m4a": {"audio/mp4", "video/mp4"},
    ".mov": {"video/quicktime"},
    ".avi": {"video/x-msvideo"},
    ".rtf": {"application/rtf", "text/plain"},
}
_CONTAINERS = _ZIP | {"application/x-ole-storage"}
_TEXT_EXTENSIONS = {".txt", ".csv", ".tsv", ".json", ".xml", ".md", ".log", ".ics", ".vcf", ".html", ".htm"}


def extension_of(filename: str) -> str:
    return os.path.splitext(filename)[1].lower()


def content_matches_extension(filename: str, sniffed: str | None) -> bool:
    """Whether the sniffed content is plausible for the filename's extension.

    Extensions we know the signature of must match it; text extensions need text; for anything else we cannot
    tell, so only a recognised binary format that belongs to another extension is refused.
    """
    ext = extension_of(filename)
    if ext in _CONTENT_FOR_EXTENSION:
        return sniffed in _CONTENT_FOR_EXTENSION[ext]
    if ext in _TEXT_EXTENSIONS:
        return sniffed == "text/plain"
    return sniffed is None or sniffed == "text/plain"


def expected_content(filename: str) -> str:
    """A phrase naming what a file called ``filename`` should contain ("a PDF document"), for messages.

    Container formats (``.docx`` is a ZIP archive) and extensions without a known signature are named by their
    extension: calling a Word file "a ZIP archive" would confuse the person who uploaded it.
    """
    ext = extension_of(filename)
    if ext in _TEXT_EXTENSIONS:
        return describe_content_type("text/plain")
    known = _CONTENT_FOR_EXTENSION.get(ext, set())
    if ext == ".zip" or (len(known) == 1 and not known & _CONTAINERS):
        return describe_content_type(next(iter(known)))
    return _("what its extension “%(extension)s” says") % {"extension": ext}


@dataclass(frozen=True)
class Refusal:
    """Why ``FileRestrictions.refusal`` refuses content: ``code`` names the message (``verification.MESSAGES``),
    ``params`` fill it in."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


def _mime_matches(pattern: str, mime: str | None) -> bool:
    if not mime:
        return False
    pattern, mime = pattern.lower(), mime.lower()
    if pattern.endswith("/*"):
        return mime.startswith(pattern[:-1])
    return pattern == mime


class FileRestrictions:
    """A field's ``file_restrictions``; an empty list allows every type."""

    def __init__(self, entries: Sequence[str] | None):
        self.entries = [entry.strip().lower() for entry in entries or [] if entry and entry.strip()]

    def __bool__(self) -> bool:
        return bool(self.entries)

    def describe(self) -> str:
        return ", ".join(self.entries)

    def accept_attribute(self) -> str:
        """The value for ``<input type=file accept>``: browsers understand all three entry kinds."""
        return ",".join(self.entries)

    def allows_declared(self, filename: str, content_type: str | None) -> bool:
        """Check the name and type a client declares when planning; a fast, friendly first filter.

        The filename's own type wins over the declared one, so ``program.exe`` cannot pass as ``image/png``.
        """
        if not self.entries:
            return True
        ext = extension_of(filename)
        named_type = mimetypes.guess_type(filename)[0] or (content_type if not ext else None)
        return any(
            ext == entry if entry.startswith(".") else _mime_matches(entry, named_type) for entry in self.entries
        )

    def refusal(self, filename: str, sniffed: str | None) -> Refusal | None:
        """Why the content that arrived is refused, or ``None`` when ``allows_content``.

        The reason given is the real one: content that contradicts its name (a PNG called ``x.pdf``) is refused
        for that, even where PNGs are allowed, since "this type is not allowed" would send the user looking for
        another file of the same kind. Only content that matches its name (or a name without an extension) is
        refused as a type the field does not take.
        """
        if self.allows_content(filename, sniffed):
            return None
        if extension_of(filename) and not content_matches_extension(filename, sniffed):
            return Refusal(
                "content_mismatch",
                {"name": filename, "expected": expected_content(filename), "actual": describe_content_type(sniffed)},
            )
        return Refusal("invalid_type", {"allowed": self.describe()})

    def allows_content(self, filename: str, sniffed: str | None) -> bool:
        """Check what actually arrived: the sniffed type (not the name) must satisfy an entry, and must not
        contradict the filename (a PNG may be called ``.jpg``, but not ``.exe``)."""
        if not self.entries:
            return True
        ext = extension_of(filename)
        named_type = mimetypes.guess_type(filename)[0]
        for entry in self.entries:
            if entry.startswith("."):
                if ext == entry and content_matches_extension(filename, sniffed):
                    return True
            elif _mime_matches(entry, sniffed) and _same_family(named_type, sniffed, filename):
                return True
            elif (
                sniffed == "text/plain"
                and content_matches_extension(filename, sniffed)
                and _mime_matches(entry, named_type)
            ):
                # Text formats (CSV, JSON...) all sniff as text; the extension tells them apart.
                return True
        return False


def _same_family(named_type: str | None, sniffed: str | None, filename: str) -> bool:
    if named_type is None and not extension_of(filename):
        return True  # no extension: nothing to contradict
    if content_matches_extension(filename, sniffed):
        return True
    return bool(named_type and sniffed) and named_type.split("/")[0] == sniffed.split("/")[0]
