"""The endpoint URLs handed to backends are reversed once and kept, yet follow the URLconf and the script prefix."""

from __future__ import annotations

from django.test import override_settings
from django.urls import include, path, set_script_prefix
import pytest

from alliance_platform.storage.async_uploads.registry import default_async_field_registry
from alliance_platform.storage.async_uploads.views.backend_calls import call_backend, endpoint_urls
from tests.testapp.models import Attachment

# A second URLconf (this module) serving the same registry under another prefix.
urlpatterns = [path("elsewhere/", include(default_async_field_registry.get_url_patterns()))]


@pytest.fixture
def storage():
    return Attachment._meta.get_field("other").storage


def test_the_urls_are_those_the_urlconf_serves_and_follow_a_change_of_it(storage):
    before = endpoint_urls(default_async_field_registry, storage)
    assert before["filesystem_upload"].startswith("/async-uploads/")

    with override_settings(ROOT_URLCONF=__name__):
        moved = endpoint_urls(default_async_field_registry, storage)
    assert moved["filesystem_upload"].startswith("/elsewhere/")
    assert moved.keys() == before.keys()
    assert endpoint_urls(default_async_field_registry, storage) == before


def test_the_urls_follow_the_script_prefix(storage):
    try:
        set_script_prefix("/mounted/")
        assert endpoint_urls(default_async_field_registry, storage)["filesystem_upload"].startswith("/mounted/")
    finally:
        set_script_prefix("/")
    assert endpoint_urls(default_async_field_registry, storage)["filesystem_upload"].startswith("/async-uploads/")


def test_each_caller_gets_its_own_copy(storage):
    first = endpoint_urls(default_async_field_registry, storage)
    first["filesystem_upload"] = "changed by a backend"
    assert endpoint_urls(default_async_field_registry, storage)["filesystem_upload"] != "changed by a backend"


def test_bound_methods_of_one_function_share_what_is_read_from_their_signature():
    class Backend:
        def __init__(self, name):
            self.name = name

        def generate(self, key, *, size=None, fields=None):
            return (self.name, key, size, fields)

    contract, extras = {"fields": {"a": 1}, "conditions": []}, {"size": 3, "endpoints": {}}
    assert call_backend(Backend("one").generate, "k", contract=contract, extras=extras) == ("one", "k", 3, {"a": 1})
    assert call_backend(Backend("two").generate, "k", contract=contract, extras=extras) == ("two", "k", 3, {"a": 1})
