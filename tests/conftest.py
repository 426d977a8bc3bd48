"""Fixtures shared by the whole suite: users, a logged-in client, and helpers that run a real upload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import io
import json
import os

from django.contrib.auth.models import Permission
from django.test import Client
import pytest

from alliance_platform.storage.async_uploads.registry import default_async_field_registry

PDF_BYTES = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"


def png_bytes(width: int = 37, height: int = 23, colour: str = "red") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def media_files() -> dict[str, bytes]:
    """Every file under MEDIA_ROOT with its bytes, keyed by its path relative to the root."""
    from django.conf import settings

    root = settings.MEDIA_ROOT
    found = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, root)] = f.read()
    return found


def read(key: str) -> bytes:
    """The bytes of ``key`` in the default storage."""
    from django.core.files.storage import default_storage

    with default_storage.open(key) as f:
        return f.read()


def request_for(client):
    """A request carrying ``client``'s identity (user, or an anonymous browser's cookies and session), for
    ``bind_request``."""
    from django.contrib.auth import get_user
    from django.test import RequestFactory

    cookies = "; ".join(f"{morsel.key}={morsel.coded_value}" for morsel in client.cookies.values())
    request = RequestFactory().post("/", HTTP_COOKIE=cookies)
    request.session = client.session
    request.user = get_user(request)
    return request


def field_id(model, name: str) -> str:
    return model._meta.get_field(name).async_field_id


@dataclass
class Upload:
    key: str
    plan: dict
    put_status: int

    def value(self, name: str | None = None, **extra) -> str:
        return json.dumps({"key": self.key, "name": name or self.key.rsplit("-", 1)[-1], **extra})


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test gets an empty media directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    os.makedirs(settings.MEDIA_ROOT)
    yield


@pytest.fixture
def user(django_user_model):
    user = django_user_model.objects.create_user("alice", password="pw")
    codenames = ["add_document", "change_document", "view_document", "add_photo", "change_photo", "view_photo"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def alice(django_user_model, client):
    """A user without permissions, logged in with the test's ``client`` (for models that check none)."""
    user = django_user_model.objects.create_user("alice", password="pw")
    client.force_login(user)
    return user


@pytest.fixture
def other_user(django_user_model):
    user = django_user_model.objects.create_user("bob", password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_document", "change_document"]))
    return user


@pytest.fixture
def client_for() -> Callable[[object], Client]:
    def make(user=None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def logged_in(client_for, user) -> Client:
    return client_for(user)


@pytest.fixture
def upload() -> Callable[..., Upload]:
    """Plan an upload through the endpoint, then PUT the bytes to the filesystem backend's URL."""

    def do_upload(client: Client, model, field: str, filename: str, content: bytes, **params) -> Upload:
        response = client.post(
            default_registry_url(model, field),
            {"fieldId": field_id(model, field), "filename": filename, "size": len(content), **params},
        )
        assert response.status_code == 200, response.content
        plan = response.json()
        put = client.generic(
            plan["uploadUrl"]["method"], plan["uploadUrl"]["url"], content, content_type="application/octet-stream"
        )
        return Upload(key=plan["key"], plan=plan, put_status=put.status_code)

    return do_upload


def default_registry_url(model, field: str) -> str:
    return model._meta.get_field(field).async_field_registry.reverse("generate_upload_url")


@pytest.fixture
def registry():
    return default_async_field_registry


def cleanup_after_upload_window(age_hours: float):
    """Run cleanup as if every upload URL issued so far had expired: cleanup never touches an upload (nor an
    object with no row) while its URL could still be in use, however small the age."""
    from django.conf import settings
    from django.test import override_settings

    from alliance_platform.storage.async_uploads import cleanup

    storage = dict((getattr(settings, "ALLIANCE_PLATFORM", None) or {}).get("STORAGE") or {})
    storage.update(UPLOAD_URL_EXPIRY=0, MULTIPART_UPLOAD_EXPIRY=0)
    with override_settings(ALLIANCE_PLATFORM={"STORAGE": storage}):
        return cleanup.cleanup_expired(age_hours)


def service_variable(variable: str, service: str) -> str:
    """The value of ``variable``, set by the services plugin when the run started ``service``. Without it the test
    is skipped, or fails when the run was meant to have every service (``AP_TEST_REQUIRE_SERVICES``)."""
    value = os.environ.get(variable)
    if not value:
        message = f"{variable} is not set: run pytest with --services=...,{service}"
        if os.environ.get("AP_TEST_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return value


def mark_folder(items: list[pytest.Item], folder: str, marker: pytest.MarkDecorator) -> None:
    """Give every test collected from ``tests/<folder>/`` the ``marker`` (for a folder conftest's
    ``pytest_collection_modifyitems``), so ``-m "not <marker>"`` deselects the folder."""
    for item in items:
        if f"tests/{folder}/" in item.nodeid.replace("\\", "/"):
            item.add_marker(marker)


def require_postgresql(suite: str) -> None:
    """Fail a test of ``suite`` that runs on another database: its races and workers need PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail(f"The {suite} run against PostgreSQL (AP_TEST_DB=postgres): deselect them with -m.")


@pytest.fixture(scope="session")
def clamd() -> dict[str, str]:
    """clamd's addresses as the scanner takes them: ``unix`` (its socket) and ``tcp`` (its port on 127.0.0.1)."""
    socket_path = service_variable("AP_TEST_CLAMD_SOCKET", "clamd")
    return {
        "unix": f"unix://{socket_path}",
        "tcp": f"tcp://{os.environ['AP_TEST_CLAMD_HOST']}:{os.environ['AP_TEST_CLAMD_PORT']}",
    }
