"""Recognise a file's real type from its first bytes.

Browsers report a type derived from the filename, which anyone can change. The signatures below cover the formats
people upload to business applications; anything not recognised is reported as unknown (``None``) rather than
guessed, and text is recognised by being valid UTF-8 without NUL bytes.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

#: How many leading bytes ``sniff_content_type`` needs.
SNIFF_LENGTH = 4096

# (offset, signature, MIME type); checked in order, so more specific signatures come first.
_SIGNATURES: list[tuple[int, bytes, str]] = [
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"\x00\x00\x01\x00", "image/x-icon"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"{\\rtf", "application/rtf"),
]

_FTYP_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"avif": "image/avif",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
}

_RIFF_FORMATS = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}


# What to call each type the signatures above recognise, in messages to the person who uploaded the file.
_NAMES = {
    "application/pdf": _("a PDF document"),
    "image/png": _("a PNG image"),
    "image/jpeg": _("a JPEG image"),
    "image/gif": _("a GIF image"),
    "image/bmp": _("a BMP image"),
    "image/tiff": _("a TIFF image"),
    "image/x-icon": _("an icon"),
    "image/webp": _("a WebP image"),
    "image/heic": _("a HEIC image"),
    "image/heif": _("a HEIF image"),
    "image/avif": _("an AVIF image"),
    "image/svg+xml": _("an SVG image"),
    "application/zip": _("a ZIP archive"),
    "application/gzip": _("a gzip archive"),
    "application/x-7z-compressed": _("a 7-Zip archive"),
    "application/vnd.rar": _("a RAR archive"),
    "application/x-ole-storage": _("a legacy Microsoft Office file"),
    "application/rtf": _("an RTF document"),
    "audio/mpeg": _("an MP3 audio file"),
    "audio/flac": _("a FLAC audio file"),
    "audio/ogg": _("an Ogg audio file"),
    "audio/wav": _("a WAV audio file"),
    "audio/mp4": _("an MPEG-4 audio file"),
    "video/webm": _("a WebM video"),
    "video/mp4": _("an MP4 video"),
    "video/quicktime": _("a QuickTime video"),
    "video/x-msvideo": _("an AVI video"),
    "text/plain": _("text"),
}


def describe_content_type(mime: str | None) -> str:
    """A phrase naming a sniffed type for a message ("a PNG image"); translated when it is displayed."""
    if mime is None:
        return _("a file of a type that was not recognised")
    return _NAMES.get(mime, mime)


def sniff_content_type(head: bytes) -> str | None:
    """The MIME type that ``head`` (the file's first bytes) shows, or ``None`` when it is not recognised."""
    for offset, signature, mime in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return mime
    if head[:4] == b"RIFF" and head[8:12] in _RIFF_FORMATS:
        return _RIFF_FORMATS[head[8:12]]
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "audio/mpeg"
    return _sniff_text(head)


def _sniff_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n").lower()
    if stripped.startswith("<svg") or (stripped.startswith("<?xml") and "<svg" in stripped):
        return "image/svg+xml"
    return "text/plain"
