"""Who is uploading or submitting: the one home of the rule that an upload belongs to the user or anonymous
browser that planned it.

An upload planned by a logged-in user belongs to that user. One planned anonymously belongs to the browser's
session, through a random uploader token kept in the session's data (never the session key itself): Django keeps
session data but changes the key when the user logs in, so an upload made before logging in stays submittable
afterwards. The table keeps only a hash of the token.

Django form fields never see the request, yet verification must know who submits a key. The middleware binds the
current request to a context variable for the duration of the request; code outside a request (a task, a test)
binds one explicitly with ``bind_request``. Without a bound request, verification refuses temporary keys rather
than accepting them from anyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
import hashlib
import secrets
from typing import Any

from django.db.models import Q
from django.http import HttpRequest

#: Where the anonymous uploader token lives in the session's data.
UPLOADER_SESSION_KEY = "_alliance_platform_storage_uploader"

_current_request: ContextVar[HttpRequest | None] = ContextVar("alliance_platform_storage_request", default=None)


@contextmanager
def bind_request(request: HttpRequest | None) -> Iterator[None]:
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def current_request() -> HttpRequest | None:
    return _current_request.get()


def fingerprint(secret: str | None) -> str:
    """Session secrets are credentials; the table keeps only a hash of them."""
    if not secret:
        return ""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Requester:
    user: Any
    session: Any  # a SessionBase, or None where the request has no session (an API client with a token)

    @classmethod
    def from_request(cls, request: HttpRequest | None) -> Requester | None:
        if request is None:
            return None
        return cls(user=getattr(request, "user", None), session=getattr(request, "session", None))

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None and self.user.is_authenticated

    @property
    def session_fingerprints(self) -> list[str]:
        """The hashes an anonymous upload of this browser may carry: of its uploader token, and of its session key
        (how uploads planned before the token existed were recorded)."""
        if self.session is None:
            return []
        secrets_ = (self.session.get(UPLOADER_SESSION_KEY), self.session.session_key)
        return [fingerprint(secret) for secret in secrets_ if secret]

    def owner_fields(self) -> dict[str, Any] | None:
        """What a new upload records about its owner, or ``None`` when there is nobody to record.

        An anonymous browser gets its uploader token here; the session middleware saves it with the response.
        """
        if self.is_authenticated:
            return {"uploaded_by": self.user, "session_fingerprint": ""}
        if self.session is None:
            return None
        token = self.session.get(UPLOADER_SESSION_KEY)
        if not token:
            token = secrets.token_urlsafe(32)
            self.session[UPLOADER_SESSION_KEY] = token
        return {"uploaded_by": None, "session_fingerprint": fingerprint(token)}

    def owns(self, temp_file) -> bool:
        if temp_file.uploaded_by_id is not None:
            return self.is_authenticated and temp_file.uploaded_by_id == self.user.pk
        return bool(temp_file.session_fingerprint) and temp_file.session_fingerprint in self.session_fingerprints

    def ownership_filter(self) -> Q:
        """The uploads planned as this requester is now (for the pending cap): the user's own once logged in."""
        if self.is_authenticated:
            return Q(uploaded_by_id=self.user.pk)
        return Q(uploaded_by__isnull=True, session_fingerprint__in=self.session_fingerprints or [""])


def current_requester() -> Requester | None:
    return Requester.from_request(current_request())
