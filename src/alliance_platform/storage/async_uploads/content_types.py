"""The one rule for the content type an uploaded object is stored and served with.

A browser renders some types as active content (HTML, SVG, XML, scripts) that can run in the storage's origin. On
S3 and Azure the object is served by the storage itself, with the type it was stored with or the one the download
URL names, so a type a client declared (or sent as a header an Azure SAS cannot pin) must never be one of those.
Downloads are attachments as well; this is the second lock on the same door.
"""

from __future__ import annotations

import mimetypes
import re

from .text import has_control_characters

NEUTRAL = "application/octet-stream"

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf"({_TOKEN})/({_TOKEN})")
_CHARSET = re.compile(rf"charset\s*=\s*\"?({_TOKEN})\"?", re.IGNORECASE)
#: Encodings in which harmless-looking bytes have decoded to markup (UTF-7 in old browsers): never named.
_UNSAFE_CHARSETS = {"utf-7", "utf7", "csutf7", "unicode-1-1-utf-7"}
_ACTIVE = {
    # Documents a browser renders, with scripts.
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "application/xml-dtd",
    "text/xml-external-parsed-entity",
    "text/xsl",
    "application/xslt+xml",
    "application/vnd.wap.xhtml+xml",
    "text/vnd.wap.wml",
    # Scripts and what pages load as code or styles.
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "text/ecmascript",
    "application/ecmascript",
    "text/jscript",
    "text/vbscript",
    "application/wasm",
    "text/css",
    # Archives of a page (MHTML) and other containers some browsers render.
    "multipart/related",
    "multipart/x-mixed-replace",
    "message/rfc822",
    "application/x-mimearchive",
    "application/x-shockwave-flash",
}


def is_active(media_type: str) -> bool:
    """Whether a browser may run ``media_type`` (lower case, no parameters) as content of the storage's origin.
    Every ``+xml`` type counts: browsers render XML with its stylesheets and scripts whatever its vocabulary."""
    return media_type in _ACTIVE or media_type.endswith("+xml")


def storable_content_type(declared: str | None) -> str | None:
    """``declared`` as it may be stored and served: the lower-cased type with only a ``charset`` parameter kept
    (not UTF-7), ``NEUTRAL`` for active or malformed types; ``None`` when nothing was declared.

    Other parameters are dropped rather than checked, because none changes how a download is handled and each is
    text a client chose that would otherwise reach a response header.
    """
    if not declared:
        return None
    if has_control_characters(declared):
        return NEUTRAL
    media_type, _, parameters = declared.partition(";")
    match = _MEDIA_TYPE.fullmatch(media_type.strip())
    if match is None:
        return NEUTRAL
    media_type = f"{match.group(1)}/{match.group(2)}".lower()
    if is_active(media_type):
        return NEUTRAL
    for parameter in parameters.split(";"):
        charset = _CHARSET.fullmatch(parameter.strip())
        if charset is not None and charset.group(1).lower() not in _UNSAFE_CHARSETS:
            return f"{media_type}; charset={charset.group(1).lower()}"
    return media_type


def download_content_type(filename: str, requested: str | None = None) -> str:
    """The type a download URL names: ``requested`` (a field's ``download_params``) or the one the filename
    suggests, through the same rule. It is always named, so the type stored with the object (which on Azure the
    uploading client may have chosen) never reaches the browser."""
    guessed = requested or mimetypes.guess_type(filename)[0]
    return storable_content_type(guessed) or NEUTRAL
