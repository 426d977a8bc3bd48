"""Who is calling the upload-plan and download endpoints: a session user, or an API client with a token.

Browsers authenticate with the session cookie, which a cross-site page can make them send, so their POSTs keep
Django's CSRF check. API clients authenticate with a header (``Authorization: Token ...``) that no other site can
add, through the ``AUTHENTICATE_REQUEST`` hook; CSRF does not apply to them, as in DRF.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from ...settings import storage_settings

_CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"


def authenticate_api_client(request: HttpRequest) -> bool:
    """Set ``request.user`` from the ``AUTHENTICATE_REQUEST`` hook when no session user is logged in.

    Returns whether the hook authenticated the request.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    hook = storage_settings.authenticate_request_function()
    if hook is None:
        return False
    found = hook(request)
    if found is None or not found.is_authenticated:
        return False
    request.user = found
    return True


#: The methods Django's CSRF check lets through without looking at a token (RFC 9110's safe methods).
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _csrf_rejection(request: HttpRequest) -> HttpResponse | None:
    """The answer Django's CSRF check gives ``request``, or ``None`` when it passes (or the project has no check).

    A safe method passes Django's check whatever it carries, so it is passed here without building the check:
    plans are often GETs, and this runs for every one of them.
    """
    if request.method in _SAFE_METHODS:
        return None
    if _CSRF_MIDDLEWARE not in getattr(settings, "MIDDLEWARE", []):
        return None
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, None, (), {})


class ApiClientAuthenticationMixin:
    """For views API clients call: token-authenticated requests skip CSRF, every other request keeps it."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not authenticate_api_client(request):
            rejection = _csrf_rejection(request)
            if rejection is not None:
                return rejection
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    # Django's CsrfViewMiddleware leaves the check to ``dispatch``: ``View.as_view`` copies this mark from
    # ``dispatch`` to the view, as it copies what ``method_decorator(csrf_exempt)`` would set. The mark is set
    # directly because that decorator wraps ``dispatch`` anew on every request.
    dispatch.csrf_exempt = True  # type: ignore[attr-defined]
