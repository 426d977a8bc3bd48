"""Who is uploading or submitting: the one home of the rule that an upload belongs to the user or anonymous
browser that planned it.

An upload planned by a logged-in user belongs to that user. One planned anonymously belongs to the browser,
through a random uploader token in a signed cookie of its own (``uploader_cookie``; never the session key
itself): Django changes the session key when the user logs in, so an upload made before logging in stays
submittable afterwards. The table keeps only a hash of the token. Tokens that earlier versions kept in the
session's data are still recognised.

Django form fields never see the request, yet verification must know who submits a key, and a project set up as
the reference's documentation says installs no middleware of ours. ``current_request`` therefore finds the request
being handled itself, in this order:

1. a request bound explicitly: by the optional ``AsyncUploadRequestMiddleware``, or with ``bind_request`` by code
   that validates outside a view (a task, a test);
2. the request of the view that is running on this thread's call stack: Django calls every synchronous view (and
   middleware) with its request as the argument ``request``, under WSGI and under ASGI (where the view runs in a
   worker thread), so the nearest frame holding an ``HttpRequest`` (or a DRF ``Request``) named ``request`` is the
   request the form belongs to, with the user every authentication middleware set on it;
3. the request Django's own ``request_started`` signal announced for this context: its session cookie, read with
   Django's session engine and ``django.contrib.auth.get_user`` only when a form asks. This covers code run from an
   async view under WSGI, whose frames are not on the worker thread's stack. (Under ASGI, Django 5 sends the signal
   from a task of its own, so nothing it records reaches the view; the call stack of step 2 does.)

Where there is no request at all (a shell, a task), verification refuses temporary keys, saying so, rather than
accepting them from anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
import hashlib
from importlib import import_module
import secrets
import sys
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from . import uploader_cookie

#: Where the anonymous uploader token lives in the session's data when it cannot be set as a cookie (a token
#: given out while validating a form, which has no response to carry it), and where earlier versions kept it.
UPLOADER_SESSION_KEY = "_alliance_platform_storage_uploader"

_current_request: ContextVar[HttpRequest | None] = ContextVar("alliance_platform_storage_request", default=None)


@contextmanager
def bind_request(request: HttpRequest | None) -> Iterator[None]:
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def current_request() -> HttpRequest | StartedRequest | None:
    """The request being handled (see the module's docstring for how it is found), or ``None`` outside any."""
    return _current_request.get() or request_on_call_stack() or _started_request.get()


#: How far up the call stack ``request_on_call_stack`` looks: a view under several layers of middleware and
#: form code is well within it, and a miss only falls back to the next way of finding the request.
_MAX_FRAMES = 300


def request_on_call_stack() -> Any:
    """The request of the nearest caller that holds one as its argument or variable ``request``, or ``None``.

    Only frames whose code declares a ``request`` variable are read, so the walk costs little more than following
    the frame links; it runs once per submitted upload, not per request.
    """
    frame = sys._getframe(1)
    for _depth in range(_MAX_FRAMES):
        if frame is None:
            return None
        if "request" in frame.f_code.co_varnames:
            candidate = frame.f_locals.get("request")
            # A DRF Request wraps Django's (and knows the user DRF authenticated); both have what Requester reads.
            if isinstance(candidate, HttpRequest) or isinstance(getattr(candidate, "_request", None), HttpRequest):
                return candidate
        frame = frame.f_back
    return None


class StartedRequest:
    """Who sends the request being handled, as far as its cookies tell: the two attributes ``Requester`` reads
    (``session``, ``user``), made on first use from the session cookie, the way Django's session and
    authentication middleware make them."""

    def __init__(self, cookie_header: str):
        self._cookie_header = cookie_header

    @cached_property
    def COOKIES(self) -> dict[str, str]:  # noqa: N802 (the name HttpRequest gives them)
        # Parsed on first use: the signal receiver that makes this object runs for every request of the site.
        return parse_cookie(self._cookie_header) if self._cookie_header else {}

    @cached_property
    def session(self) -> Any:
        if not apps.is_installed("django.contrib.sessions") and settings.SESSION_ENGINE.startswith(
            "django.contrib.sessions.backends.db"
        ):
            return None
        engine = import_module(settings.SESSION_ENGINE)
        return engine.SessionStore(self.COOKIES.get(settings.SESSION_COOKIE_NAME))

    @cached_property
    def user(self) -> Any:
        if not apps.is_installed("django.contrib.auth") or self.session is None:
            return None
        from django.contrib.auth import get_user

        return get_user(self)


_started_request: ContextVar[StartedRequest | None] = ContextVar(
    "alliance_platform_storage_started_request", default=None
)


def remember_started_request(sender: Any, environ: dict | None = None, scope: dict | None = None, **kwargs) -> None:
    """``request_started`` receiver: keep the cookies of the request that starts (WSGI ``environ`` or ASGI
    ``scope``) for ``current_request``. Nothing is read from the database here: most requests never ask."""
    if environ is not None:
        cookie_header = environ.get("HTTP_COOKIE", "")
    elif scope is not None:
        cookie_header = "; ".join(
            value.decode("latin-1") for name, value in scope.get("headers", []) if name.lower() == b"cookie"
        )
    else:
        cookie_header = ""
    _started_request.set(StartedRequest(cookie_header))


def forget_started_request(sender: Any, **kwargs) -> None:
    """``request_finished`` receiver: a WSGI server's thread serves the next request (or other work) with the same
    context, which must not inherit this request's user."""
    _started_request.set(None)


def fingerprint(secret: str | None) -> str:
    """Session secrets are credentials; the table keeps only a hash of them."""
    if not secret:
        return ""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Requester:
    user: Any
    session: Any  # a SessionBase, or None where the request has no session (an API client with a token)
    #: The uploader token of the request's signed cookie (``uploader_cookie``), if it carries a valid one.
    cookie_token: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest | None) -> Requester | None:
        if request is None:
            return None
        return cls(
            user=getattr(request, "user", None),
            session=getattr(request, "session", None),
            cookie_token=uploader_cookie.read_token(getattr(request, "COOKIES", None)),
        )

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None and self.user.is_authenticated

    @property
    def session_fingerprints(self) -> list[str]:
        """The hashes an anonymous upload of this browser may carry: of its cookie's uploader token, of a token
        kept in its session, and of its session key (how uploads planned before the token existed were
        recorded). The session is read only if the browser sends a session cookie."""
        secrets_ = [self.cookie_token]
        if self.session is not None:
            secrets_ += [self.session.get(UPLOADER_SESSION_KEY), self.session.session_key]
        return list(dict.fromkeys(fingerprint(secret) for secret in secrets_ if secret))

    def owner_fields(self, issue_token: Callable[[str], None] | None = None) -> dict[str, Any] | None:
        """What a new upload records about its owner, or ``None`` when there is nobody to record.

        An anonymous browser is recorded by its uploader token: the cookie's, else one its session already keeps.
        A browser with neither gets a new token here, handed to ``issue_token`` (the plan endpoint sets it as the
        cookie of its response) or, with no ``issue_token``, kept in the session, which the session middleware
        saves with the response.
        """
        if self.is_authenticated:
            return {"uploaded_by": self.user, "session_fingerprint": ""}
        if self.session is None:
            return None
        token = self.cookie_token or self.session.get(UPLOADER_SESSION_KEY)
        if not token:
            token = secrets.token_urlsafe(32)
            if issue_token is not None:
                issue_token(token)
            else:
                self.session[UPLOADER_SESSION_KEY] = token
        return {"uploaded_by": None, "session_fingerprint": fingerprint(token)}

    def owns(self, temp_file) -> bool:
        if temp_file.uploaded_by_id is not None:
            return self.is_authenticated and temp_file.uploaded_by_id == self.user.pk
        return bool(temp_file.session_fingerprint) and temp_file.session_fingerprint in self.session_fingerprints

    def may_submit(self, temp_file) -> bool:
        """Its owner may submit an upload; so may anyone an upload planned before the upgrade from 0.0.5, which
        accepted any submitter, until it is promoted (verification makes the first submitter its owner)."""
        return self.owns(temp_file) or (temp_file.planned_before_upgrade and not temp_file.moved_to_location)

    def ownership_filter(self) -> Q:
        """The uploads planned as this requester is now (for the pending cap): the user's own once logged in."""
        if self.is_authenticated:
            return Q(uploaded_by_id=self.user.pk)
        return Q(uploaded_by__isnull=True, session_fingerprint__in=self.session_fingerprints or [""])


def current_requester() -> Requester | None:
    return Requester.from_request(current_request())
