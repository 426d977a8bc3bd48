"""The lookups that run on every plan and promotion find their rows through an index, on SQLite and PostgreSQL,
although the indexes are partial (so that a plan's INSERT writes fewer index entries): the pending-upload count of
a user or a browser, and the search for a reserved final name."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
import pytest

from alliance_platform.storage.async_uploads.temp_files import RESERVED_NAMES, AsyncTempFile

pytestmark = pytest.mark.django_db


def plan_of(queryset) -> str:
    """The database's query plan for ``queryset``, with sequential scans ruled out where the database allows it
    (PostgreSQL prefers one on a small table, so only an unusable index makes it scan)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_a_users_pending_uploads_are_counted_through_the_user_index():
    user = get_user_model().objects.create_user("alice")
    plan = plan_of(AsyncTempFile.objects.pending().filter(uploaded_by_id=user.pk))
    assert "ap_storage_tmp_user_idx" in plan, plan


def test_a_browsers_pending_uploads_are_counted_through_the_session_index():
    plan = plan_of(AsyncTempFile.objects.pending().filter(uploaded_by__isnull=True, session_fingerprint__in=["ab"]))
    assert "ap_storage_tmp_session_idx" in plan, plan


def test_a_reserved_name_is_found_through_its_index():
    plan = plan_of(AsyncTempFile.objects.filter(RESERVED_NAMES, promoting_to="cloud/report.pdf"))
    assert "ap_storage_tmp_promoting_idx" in plan, plan
