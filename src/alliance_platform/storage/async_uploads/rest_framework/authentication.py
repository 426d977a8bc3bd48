"""Recognising token-authenticated API clients on the library's own (plain Django) endpoints."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings


def authenticate(request: HttpRequest) -> Any | None:
    """The user DRF's ``DEFAULT_AUTHENTICATION_CLASSES`` find for ``request``, or ``None``.

    Use it as the ``AUTHENTICATE_REQUEST`` setting so that clients of your API that send a token (or any other
    header credentials DRF accepts) can plan uploads and follow download URLs the same way. Session
    authentication is left out: Django's middleware already handled the cookie, with its CSRF check. Wrong
    credentials count as none, so the endpoint answers 403 as it would for an anonymous caller.
    """
    authenticators = [
        authentication()
        for authentication in api_settings.DEFAULT_AUTHENTICATION_CLASSES
        if not issubclass(authentication, SessionAuthentication)
    ]
    if not authenticators:
        return None
    drf_request = Request(request, authenticators=authenticators)
    for authenticator in authenticators:
        try:
            result = authenticator.authenticate(drf_request)
        except APIException:
            return None
        if result is not None:
            return result[0]
    return None
