"""The anonymous uploader token's cookie: how the plan endpoint hands a browser its token, and how it is read back.

An anonymous upload belongs to the browser that planned it, through a random token whose hash the upload's row
keeps (``requester``). The token used to live in the session's data only. Reading it from there costs a session
load on every plan (with the database engine, a query and the decoding of the session), and giving a browser its
first token creates a session row for a visitor who may never log in. The token now travels in a cookie of its
own, signed with ``SECRET_KEY`` (``django.core.signing``, with a timestamp and a salt of its own), ``HttpOnly`` and sent with the session cookie's
``Secure``, ``SameSite``, domain, path and lifetime settings, so it reaches exactly the requests the session
cookie reaches and for no longer.

Why this is as strong as the session: the token is 256 random bits the server chose, and a row keeps only its
hash, so it cannot be guessed or read back from the database; the signature means a cookie value is accepted only
if this site issued it. Like the session cookie it is a bearer credential for the browser's pending uploads, and
like the session's data it is kept when the user logs in (Django changes the session key then, not this cookie).

Tokens already kept in sessions (issued before the cookie existed) keep working: ``Requester`` accepts an upload
whose hash matches the cookie's token, the session's token or the session key.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpResponse

#: The cookie's name; the value is the token, signed (``TimestampSigner``: ``token:timestamp:signature``).
COOKIE_NAME = "ap_storage_uploader"
#: The signing salt: a signature made for another cookie or purpose is not accepted here.
SALT = "alliance_platform.storage.uploader"


def read_token(cookies: Any) -> str | None:
    """The uploader token of a request's ``COOKIES`` (a dict), or ``None`` when it has none or it is not valid.

    Refused: a value this site did not sign, or signed more than ``SESSION_COOKIE_AGE`` ago (the cookie's own
    lifetime, also checked here since a client can keep a cookie past its expiry).
    """
    value = cookies.get(COOKIE_NAME) if cookies else None
    if not value:
        return None
    try:
        token = signing.TimestampSigner(salt=SALT).unsign(value, max_age=settings.SESSION_COOKIE_AGE)
    except signing.BadSignature:
        return None
    return token or None


def set_token(response: HttpResponse, token: str) -> None:
    """Give the browser ``token`` with ``response``, under the session cookie's settings (see the module)."""
    max_age = None if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE else settings.SESSION_COOKIE_AGE
    response.set_cookie(
        COOKIE_NAME,
        signing.TimestampSigner(salt=SALT).sign(token),
        max_age=max_age,
        domain=settings.SESSION_COOKIE_DOMAIN,
        path=settings.SESSION_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE or None,
        httponly=True,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )
