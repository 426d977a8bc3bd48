"""The one rule for the content type an uploaded object is stored and served with.

A browser renders some types as active content (HTML, SVG, XML, scripts) that can run in the storage's origin. On
S3 and Azure the object is served by the storage itself, with the type it was stored with or the one the download
URL names, so a type a client declared (or sent as a header an Azure SAS cannot pin) must never be one of those.
Downloads are attachments as well; this is the second lock on the same door.
"""

from __future__ import annotations

import mimetypes
import re

NEUTRAL = "application/octet-stream"

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf"^\s*({_TOKEN})/({_TOKEN})\s*(;.*)?$")
_ACTIVE = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/xsl",
    "application/xslt+xml",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "text/ecmascript",
    "application/ecmascript",
    "text/jscript",
    "application/wasm",
    "text/css",
    "multipart/x-mixed-replace",
}


def is_active(media_type: str) -> bool:
    return media_type in _ACTIVE or media_type.endswith("+xml")


def storable_content_type(declared: str | None) -> str | None:
    """``declared`` as it may be stored (lower-cased type, parameters kept), ``NEUTRAL`` for active or malformed
    types; ``None`` when nothing was declared."""
    if not declared:
        return None
    match = _MEDIA_TYPE.match(declared)
    if match is None:
        return NEUTRAL
    media_type = f"{match.group(1)}/{match.group(2)}".lower()
    if is_active(media_type):
        return NEUTRAL
    return media_type + (match.group(3) or "")


def download_content_type(filename: str, requested: str | None = None) -> str:
    """The type a download URL names: ``requested`` (a field's ``download_params``) or the one the filename
    suggests, through the same rule."""
    guessed = requested or mimetypes.guess_type(filename)[0]
    return storable_content_type(guessed) or NEUTRAL
