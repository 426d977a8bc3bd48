"""The plan endpoint makes at most two SQL queries per plan, on SQLite and on PostgreSQL, with or without a cap.

What is counted: every query of the request, made by a browser that planned before (its first plan gives it its
uploader cookie). For an anonymous browser that is the library's one statement and nothing else: the INSERT of the
upload's row, which also checks the cap of pending uploads; its uploader token comes from a signed cookie, so no
session is created or read. For a logged-in user Django's ``AuthenticationMiddleware`` also reads the user's row, as it does
for every request of a logged-in user whatever view serves it; that one query is set aside, and the rest must
still be at most two.

The tests run in autocommit (``transaction=True``), as requests do in production: inside the test's own transaction
a ``SAVEPOINT`` pair would not show.
"""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
import pytest

from alliance_platform.storage.async_uploads.models import AsyncTempFile
from tests.conftest import field_id
from tests.testapp.models import Attachment

PLAN_URL = "/async-uploads/generate-upload-url/"
MAX_QUERIES = 2
USER_TABLE = '"auth_user"'

pytestmark = pytest.mark.django_db(transaction=True)


def plan(client, method: str, filename: str):
    data = {"fieldId": field_id(Attachment, "other"), "filename": filename, "size": "10"}
    return getattr(client, method)(PLAN_URL, data)


def captured_plan(client, method: str, filename: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = plan(client, method, filename)
    return response.status_code, [query["sql"] for query in captured.captured_queries]


def queries_beyond_authentication(queries: list[str]) -> list[str]:
    """Every query except the user lookup of ``AuthenticationMiddleware`` (a SELECT on the user table)."""
    return [sql for sql in queries if not (sql.lstrip().upper().startswith("SELECT") and f"FROM {USER_TABLE}" in sql)]


def temp_table_statements(queries: list[str]) -> list[str]:
    table = AsyncTempFile._meta.db_table
    return [sql for sql in queries if table in sql]


CAPS = [pytest.param(None, id="no-cap"), pytest.param(50, id="cap-50")]
METHODS = ["post", "get"]


@pytest.mark.parametrize("cap", CAPS)
@pytest.mark.parametrize("method", METHODS)
def test_an_anonymous_plan_makes_one_query(client, settings, cap, method):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"MAX_PENDING_UPLOADS": cap}}
    assert plan(client, method, "first.txt").status_code == 200  # gives the browser its uploader cookie

    status, queries = captured_plan(client, method, "second.txt")

    assert status == 200
    # One statement of the library's own, an INSERT: the cap is checked inside it, not by a COUNT before it. No
    # session is read (the browser has none: the token is in the uploader cookie).
    (statement,) = queries
    assert temp_table_statements(queries) == [statement]
    assert statement.lstrip().upper().startswith("INSERT")
    assert ("COUNT(" in statement.upper()) == (cap is not None)
    assert AsyncTempFile.objects.count() == 2


@pytest.mark.parametrize("cap", CAPS)
@pytest.mark.parametrize("method", METHODS)
def test_a_logged_in_plan_makes_at_most_two_queries_beyond_the_user_lookup(logged_in, settings, cap, method):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"MAX_PENDING_UPLOADS": cap}}
    assert plan(logged_in, method, "first.txt").status_code == 200

    status, queries = captured_plan(logged_in, method, "second.txt")

    assert status == 200
    # The user lookup is there (so it is the one query set aside), and at most two others.
    assert len(queries) - len(queries_beyond_authentication(queries)) == 1, "\n".join(queries)
    assert len(queries_beyond_authentication(queries)) <= MAX_QUERIES, "\n".join(queries)
    (statement,) = temp_table_statements(queries)
    assert statement.lstrip().upper().startswith("INSERT")


@pytest.mark.parametrize("method", METHODS)
def test_a_plan_refused_by_the_cap_makes_no_more_queries_and_records_nothing(client, settings, method):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"MAX_PENDING_UPLOADS": 3}}
    for name in ("one.txt", "two.txt"):
        assert plan(client, method, name).status_code == 200

    status, queries = captured_plan(client, method, "three.txt")  # the last one that fits
    assert status == 200
    assert len(queries) <= MAX_QUERIES, "\n".join(queries)

    status, queries = captured_plan(client, method, "four.txt")
    assert status == 429
    assert len(queries) <= MAX_QUERIES, "\n".join(queries)
    assert sorted(AsyncTempFile.objects.values_list("original_filename", flat=True)) == [
        "one.txt",
        "three.txt",
        "two.txt",
    ]


def test_only_pending_uploads_of_the_same_requester_count_towards_the_cap(client, client_for, user, settings):
    """The statement's count is the cap's rule: promoted or failed uploads and other people's do not count."""
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"MAX_PENDING_UPLOADS": 2}}
    assert plan(client, "post", "one.txt").status_code == 200
    assert plan(client, "post", "two.txt").status_code == 200
    assert plan(client, "post", "three.txt").status_code == 429

    # Somebody else's uploads leave this browser's count alone, and this browser's leave theirs alone.
    other = client_for(user)
    assert plan(other, "post", "theirs.txt").status_code == 200
    assert plan(other, "post", "theirs-too.txt").status_code == 200
    assert plan(client, "post", "three.txt").status_code == 429

    # A promoted upload and one that failed are no longer pending: each frees a place.
    AsyncTempFile.objects.filter(original_filename="one.txt").update(moved_to_location="other/one.txt")
    assert plan(client, "post", "three.txt").status_code == 200
    AsyncTempFile.objects.filter(original_filename="two.txt").update(error="promotion failed")
    assert plan(client, "post", "four.txt").status_code == 200
    assert plan(client, "post", "five.txt").status_code == 429


def test_the_row_written_by_the_single_statement_is_a_complete_upload_row(client):
    """Every column the plan records arrives, as ``create()`` would have written it, and the key is the one sent."""
    response = client.post(
        PLAN_URL,
        {"fieldId": field_id(Attachment, "other"), "filename": "notes.txt", "size": "10", "contentType": "text/plain"},
    )
    assert response.status_code == 200
    row = AsyncTempFile.objects.get()
    assert row.key == response.json()["key"]
    assert row.original_filename == "notes.txt"
    assert row.field_id == field_id(Attachment, "other")
    assert row.declared_size == 10
    assert row.content_type == "text/plain"
    assert row.uploaded_by_id is None and len(row.session_fingerprint) == 64
    assert row.created_at is not None and row.moved_to_location == "" and row.error == ""
