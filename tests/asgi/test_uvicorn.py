"""The filesystem backend's upload endpoint under a real uvicorn, served through ``alliance_platform.storage.asgi``.

Uploads are planned through the server itself (so that their rows are in its database), then sent on raw sockets
so that each test decides how much of a body exists when it reads the server's answer. The last tests run the same
steps against Django's own ASGI handler: they show what the streaming handler changes, and that the checks used
here (the server's TMPDIR and open files, a ``100 Continue``) do see it when it happens.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
import json
import os
import re
from urllib.parse import urlencode

from alliance_platform.storage.async_uploads.registry import default_async_field_registry
from tests.testapp.models import Attachment

from .live import MIB, UvicornServer, poll_until


def field_id(name: str) -> str:
    """``Attachment.file`` allows 1 MiB of PDF; ``Attachment.other`` the default 100 MiB of anything."""
    return Attachment._meta.get_field(name).async_field_id


def plan_url() -> str:
    return default_async_field_registry.reverse("generate_upload_url")


def new_files(server: UvicornServer, before: dict[str, int], key: str) -> dict[str, int]:
    """Files under the media root that were not there ``before``, other than the upload's final file: its partial
    file while it is being received (whatever the storage names it)."""
    return {name: size for name, size in server.media_files().items() if name not in before and name != key}


def split_response(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """Status line, header block and body of one raw HTTP/1.1 response."""
    status_line, _, rest = raw.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    return status_line, headers, body


def test_upload_arrives_byte_exact(server: UvicornServer):
    content = os.urandom(3 * MIB + 12345)
    plan = server.plan(field_id("other"), plan_url(), "data.bin", len(content))
    assert plan["uploadUrl"]["method"] == "PUT"

    response = server.request(
        "PUT", plan["uploadUrl"]["url"], body=content, headers={"Content-Type": "application/octet-stream"}
    )

    assert response.status == 201, response.body
    assert response.headers["X-Upload-Size"] == str(len(content))
    assert (server.media_root / plan["key"]).read_bytes() == content
    # The request went through Django's middleware chain, as under WSGI: these come from SecurityMiddleware and
    # XFrameOptionsMiddleware, the outermost and innermost of tests.settings.MIDDLEWARE.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert server.temporary_files() == []


def test_oversized_content_length_is_refused_before_the_body_is_sent(server: UvicornServer):
    plan = server.plan(field_id("file"), plan_url(), "big.pdf", 1000)
    declared = 100 * MIB
    before = server.media_files()

    put = server.raw_put(plan["uploadUrl"]["url"], declared)
    try:
        put.send(b"%PDF-1.4\n" + os.urandom(64 * 1024))  # the headers and a first chunk: nothing more is ever sent
        raw = put.read_until_closed(timeout=30)  # times out if the server waits for the rest
    finally:
        put.close()

    status_line, headers, body = split_response(raw)
    assert status_line.startswith(b"HTTP/1.1 413 "), raw[:300]
    assert b"\r\nconnection: close" in b"\r\n" + headers.lower()
    assert "detail" in json.loads(body)
    assert put.body_bytes_sent == 9 + 64 * 1024
    assert server.media_files() == before
    assert server.temporary_files() == []


def test_client_expecting_100_continue_is_refused_without_sending_any_body(server: UvicornServer):
    plan = server.plan(field_id("file"), plan_url(), "big.pdf", 1000)

    put = server.raw_put(plan["uploadUrl"]["url"], 100 * MIB, "Expect: 100-continue\r\n")
    try:
        raw = put.read_until_closed(timeout=30)
    finally:
        put.close()

    # The final answer comes first: the view never read the body, so the server never invited the client to send it.
    assert raw.startswith(b"HTTP/1.1 413 "), raw[:300]
    assert put.body_bytes_sent == 0


def test_refused_token_is_answered_before_the_body_is_sent(server: UvicornServer):
    put = server.raw_put("/async-uploads/filesystem-upload/?token=forged", 50 * MIB)
    try:
        put.send(os.urandom(64 * 1024))
        response = put.response(timeout=30)
    finally:
        put.close()
    assert response.status == 403
    assert "detail" in response.json()


def test_large_upload_streams_to_disk_without_a_temporary_copy(server: UvicornServer):
    content = os.urandom(24 * MIB)
    plan = server.plan(field_id("other"), plan_url(), "large.bin", len(content))
    key = plan["key"]
    before = server.media_files()
    temporary: list[str] = []

    put = server.raw_put(plan["uploadUrl"]["url"], len(content))
    try:
        for offset in range(0, 12 * MIB, MIB):
            put.send(content[offset : offset + MIB])
            temporary += server.temporary_files()
        # Half the body is still to come, yet the view is already writing it to its partial file.
        poll_until(lambda: sum(new_files(server, before, key).values()) >= MIB, 30, "the partial file to grow")
        assert not (server.media_root / key).exists()
        for offset in range(12 * MIB, len(content), MIB):
            put.send(content[offset : offset + MIB])
            temporary += server.temporary_files()
        response = put.response(timeout=60)
    finally:
        put.close()

    assert response.status == 201, response.body
    assert temporary == []
    assert server.temporary_files() == []
    assert (server.media_root / key).read_bytes() == content
    assert new_files(server, before, key) == {}


def test_client_disconnecting_mid_upload_leaves_no_file(server: UvicornServer):
    content = os.urandom(16 * MIB)
    plan = server.plan(field_id("other"), plan_url(), "dropped.bin", len(content))
    key = plan["key"]
    before = server.media_files()

    put = server.raw_put(plan["uploadUrl"]["url"], len(content))
    put.send(content[: 4 * MIB])
    poll_until(lambda: sum(new_files(server, before, key).values()) > 0, 30, "the upload to start")
    put.close()

    poll_until(lambda: not new_files(server, before, key), 30, "the partial file to be removed")
    assert not (server.media_root / key).exists()
    assert server.temporary_files() == []
    # Nothing was stored at the key, so the same URL still takes the whole file.
    retry = server.request(
        "PUT", plan["uploadUrl"]["url"], body=content, headers={"Content-Type": "application/octet-stream"}
    )
    assert retry.status == 201, retry.body
    assert (server.media_root / key).read_bytes() == content


def test_plain_django_pages_are_served_unchanged(server: UvicornServer):
    page = server.request("GET", "/admin/login/")
    assert page.status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert token is not None
    cookies = SimpleCookie()
    for header in page.headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    assert "csrftoken" in cookies

    form = {"csrfmiddlewaretoken": token.group(1).decode(), "username": "nobody", "password": "wrong"}
    login = server.request(
        "POST",
        "/admin/login/?next=/admin/",
        body=urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken'].value}",
        },
    )
    # Django read the form body itself: its CSRF token was accepted (no 403) and the credentials were checked.
    assert login.status == 200
    assert b"errornote" in login.body


# Django's own handler, for comparison.


def test_django_handler_invites_the_whole_oversized_body(django_server: UvicornServer):
    plan = django_server.plan(field_id("file"), plan_url(), "big.pdf", 1000)

    put = django_server.raw_put(plan["uploadUrl"]["url"], 100 * MIB, "Expect: 100-continue\r\n")
    try:
        first_line = put.sock.makefile("rb").readline()
    finally:
        put.close()

    # It reads the body before any view runs, so the server asks the client to send all 100 MiB.
    assert first_line.startswith(b"HTTP/1.1 100 "), first_line


def test_django_handler_spools_the_body_to_tmpdir_first(django_server: UvicornServer):
    size = 24 * MIB
    content = os.urandom(size)
    plan = django_server.plan(field_id("other"), plan_url(), "spooled.bin", len(content))
    key = plan["key"]
    before = django_server.media_files()

    put = django_server.raw_put(plan["uploadUrl"]["url"], len(content))
    try:
        put.send(content[: size // 2])
        spooled = poll_until(django_server.temporary_files, 30, "Django to spool the body to its TMPDIR")
        # The view has not started: nothing is written to the media root until the whole body was spooled.
        assert new_files(django_server, before, key) == {}
        put.send(content[size // 2 :])
        response = put.response(timeout=60)
    finally:
        put.close()

    assert spooled
    assert response.status == 201, response.body
    assert (django_server.media_root / key).read_bytes() == content
