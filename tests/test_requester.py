"""How verification learns who submits, with no middleware: explicit binding, the view's request on the call stack,
and the request Django's ``request_started`` signal announced; and nothing at all outside a request."""

from __future__ import annotations

import contextvars

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.test.client import Client
import pytest
from rest_framework.request import Request

from alliance_platform.storage.async_uploads import requester
from alliance_platform.storage.async_uploads.requester import (
    Requester,
    bind_request,
    current_request,
    current_requester,
)
from alliance_platform.storage.async_uploads.uploader_cookie import COOKIE_NAME
from tests.conftest import request_for

pytestmark = pytest.mark.django_db


def send(signal, **kwargs) -> None:
    """Send ``request_started``/``request_finished`` as a handler would, without Django's ``close_old_connections``
    (which listens to both and would close the test's database connection; the test client does the same)."""
    signal.disconnect(close_old_connections)
    try:
        signal.send(sender=None, **kwargs)
    finally:
        signal.connect(close_old_connections)


def in_fresh_context(function, *args):
    """Run ``function`` as a new request would start: no request bound or announced. (A copy of this context,
    not an empty one: Django keeps its database connections in context variables too.)"""

    def run():
        requester._current_request.set(None)
        requester._started_request.set(None)
        return function(*args)

    return contextvars.copy_context().run(run)


def test_outside_any_request_there_is_no_requester():
    assert in_fresh_context(current_requester) is None


def test_the_request_of_a_calling_view_is_found_on_the_call_stack():
    request = RequestFactory().get("/")

    def view(request):
        return form_validation()

    def form_validation():
        return current_request()

    assert in_fresh_context(view, request) is request


def test_a_variable_named_request_that_is_not_an_http_request_is_passed_over():
    outer = RequestFactory().get("/")

    def view(request):
        def helper():
            request = "not a request"  # noqa: F841 - what the walk must skip
            return current_request()

        return helper()

    assert in_fresh_context(view, outer) is outer


def test_a_drf_request_is_used_as_it_is_with_the_user_drf_authenticated():
    drf_request = Request(RequestFactory().get("/"))
    drf_request.user = AnonymousUser()

    def view(request):
        return current_request()

    assert in_fresh_context(view, drf_request) is drf_request


def test_an_explicitly_bound_request_wins_over_the_call_stack():
    on_stack, bound = RequestFactory().get("/"), RequestFactory().get("/")

    def view(request):
        with bind_request(bound):
            return current_request()

    assert in_fresh_context(view, on_stack) is bound


def cookie_header(client: Client) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def all_cookies(client: Client) -> str:
    """The Cookie header ``client`` sends: for an anonymous browser, its uploader cookie."""
    return "; ".join(f"{morsel.key}={morsel.coded_value}" for morsel in client.cookies.values())


def test_request_started_under_wsgi_gives_the_session_and_user_of_its_cookie(user, client_for):
    client = client_for(user)

    def request_lifetime():
        send(request_started, environ={"HTTP_COOKIE": cookie_header(client)})
        during = Requester.from_request(current_request())
        send(request_finished)
        return during, current_request()

    during, after = in_fresh_context(request_lifetime)

    assert during.is_authenticated and during.user.pk == user.pk
    assert during.session.session_key == client.session.session_key
    assert after is None, "request_finished forgets it"


def test_request_started_under_asgi_reads_the_cookie_headers_of_the_scope(user, client_for):
    client = client_for(user)
    scope = {"type": "http", "headers": [(b"accept", b"*/*"), (b"cookie", f"a=b; {cookie_header(client)}".encode())]}

    def request_lifetime():
        send(request_started, scope=scope)
        return Requester.from_request(current_request())

    assert in_fresh_context(request_lifetime).user.pk == user.pk


def test_a_request_without_a_session_cookie_is_an_anonymous_browser_with_a_new_session():
    def request_lifetime():
        send(request_started, environ={})
        return Requester.from_request(current_request())

    requester = in_fresh_context(request_lifetime)
    assert not requester.is_authenticated
    assert requester.session.session_key is None
    assert requester.session_fingerprints == []


def test_an_anonymous_upload_is_owned_by_the_browser_whose_cookie_is_announced(client, upload):
    from tests.testapp.models import Attachment

    planned = upload(client, Attachment, "other", "notes.txt", b"hello")
    temp_file = planned_row(planned.key)

    def owner_check(header: str) -> bool:
        send(request_started, environ={"HTTP_COOKIE": header})
        return Requester.from_request(current_request()).owns(temp_file)

    assert in_fresh_context(owner_check, all_cookies(client))
    assert not in_fresh_context(owner_check, f"{settings.SESSION_COOKIE_NAME}=someone-else")
    assert not in_fresh_context(owner_check, f"{COOKIE_NAME}=someone-else")


def planned_row(key: str):
    from alliance_platform.storage.async_uploads.models import AsyncTempFile

    return AsyncTempFile.objects.get(key=key)


def test_explicit_binding_still_works_for_code_outside_a_view(logged_in, user):
    with bind_request(request_for(logged_in)):
        assert in_fresh_context(current_requester) is None, "a fresh context has no binding"
        assert current_requester().user.pk == user.pk
