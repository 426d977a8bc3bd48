"""Refusing requests that another site made the browser send, judged by the browser's own fetch metadata.

The session cookie goes along with a top-level navigation from any site (``SameSite=Lax`` allows it for GET), and
Django's CSRF check does not look at GET. A link or redirect on another site could therefore make a logged-in
user plan uploads, once per click, each one counting against that user's ``MAX_PENDING_UPLOADS`` until cleanup
runs: the user's own uploads would be refused meanwhile. Every current browser says where a request comes from
in ``Sec-Fetch-Site``; a request it marks ``cross-site`` is refused here, whatever its method, before anything is
recorded.

Requests the browser marks ``same-origin``, ``same-site`` or ``none`` (typed into the address bar, a bookmark)
are allowed, and so are those without the header (API clients, scripts, older browsers): the header is evidence
of a cross-site request when present, never a requirement. A page on another origin that is meant to call these
endpoints is let through when its ``Origin`` is in ``settings.CSRF_TRUSTED_ORIGINS``, matched as Django's CSRF
check matches it (exact origins, and ``https://*.example.com`` for subdomains), so one setting lists the sites
trusted with a user's session.

Only for endpoints that change state: a download link in an e-mail is a cross-site navigation that must work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import classonlymethod
from django.utils.http import is_same_domain
from django.utils.translation import gettext

from .common import json_error

#: The ``Sec-Fetch-Site`` value of a request that another site (not merely another origin of ours) started.
CROSS_SITE = "cross-site"


def is_trusted_origin(origin: str) -> bool:
    """Whether ``origin`` (an ``Origin`` header) is listed in ``CSRF_TRUSTED_ORIGINS``, wildcards included."""
    if not origin or origin == "null":
        return False
    trusted = list(getattr(settings, "CSRF_TRUSTED_ORIGINS", None) or [])
    if origin in (entry for entry in trusted if "*" not in entry):
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    if not parsed.scheme or not parsed.netloc:
        return False
    for entry in trusted:
        if "*" not in entry:
            continue
        pattern = urlsplit(entry)
        if pattern.scheme == parsed.scheme and is_same_domain(parsed.netloc, pattern.netloc.lstrip("*")):
            return True
    return False


def is_cross_site(request: HttpRequest) -> bool:
    """Whether the browser says another site started ``request`` (and that site is not a trusted origin)."""
    site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    return site == CROSS_SITE and not is_trusted_origin(request.headers.get("Origin", "").strip())


def cross_site_refusal(request: HttpRequest) -> JsonResponse | None:
    """The 403 to answer a cross-site ``request`` with, in the endpoints' ``{"detail": ...}`` shape, or ``None``."""
    if not is_cross_site(request):
        return None
    return json_error(403, detail=gettext("This request was sent from another site and was refused."))


class RefuseCrossSiteMixin:
    """For class-based views: answer cross-site requests with a 403 before the view (or its other mixins) runs.

    Put it first among the bases, so that nothing, not even authentication or a CSRF check, runs for a refused
    request. ``View.as_view`` copies decorator marks such as ``csrf_exempt`` from ``cls.dispatch`` only, which is
    this mixin's; it carries over those of the ``dispatch`` it runs in front of, so adding the mixin never changes
    how the view is checked for CSRF.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = cross_site_refusal(request)
        if refusal is not None:
            return refusal
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    @classonlymethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponse]:
        view = super().as_view(**initkwargs)  # type: ignore[misc]
        wrapped = super().dispatch  # type: ignore[misc]
        for name, value in vars(wrapped).items():
            if not name.startswith("_"):
                view.__dict__.setdefault(name, value)
        return view
