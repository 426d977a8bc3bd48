"""Who is submitting: the user (or anonymous session) that a submitted upload key must belong to.

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
from typing import Any

from django.http import HttpRequest

from .temp_files import session_fingerprint

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


@dataclass(frozen=True)
class Requester:
    user: Any
    session_key: str | None

    @classmethod
    def from_request(cls, request: HttpRequest | None) -> Requester | None:
        if request is None:
            return None
        session = getattr(request, "session", None)
        return cls(user=getattr(request, "user", None), session_key=getattr(session, "session_key", None))

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None and self.user.is_authenticated

    def owns(self, temp_file) -> bool:
        if self.is_authenticated:
            return temp_file.uploaded_by_id == self.user.pk
        fingerprint = session_fingerprint(self.session_key)
        return bool(fingerprint) and temp_file.uploaded_by_id is None and temp_file.session_fingerprint == fingerprint


def current_requester() -> Requester | None:
    return Requester.from_request(current_request())
