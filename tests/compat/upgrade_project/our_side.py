"""Run with this package installed, after ``migrate`` upgraded the database the reference left: report the
migration state, the converted rows, what submitting a converted pending upload does (first as a user, then
again as someone else), whether the promoted
record's file still opens, and what cleanup then does with the converted rows.

Prints one JSON object for the test to check.
"""

import json

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django.forms import modelform_factory  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from legacyapp.models import Report  # noqa: E402

from alliance_platform.storage.async_uploads.models import AsyncTempFile  # noqa: E402
from alliance_platform.storage.async_uploads.requester import bind_request  # noqa: E402

APP = "alliance_platform_storage"


def migration_state() -> dict:
    executor = MigrationExecutor(connection)
    loader = executor.loader
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    return {
        "unapplied": [str(migration) for migration, _backwards in executor.migration_plan(loader.graph.leaf_nodes())],
        "ours_on_disk": sorted(name for app, name in loader.disk_migrations if app == APP),
        "ours_applied": sorted(name for app, name in loader.applied_migrations if app == APP),
        "tables": sorted(table for table in tables if "async_temp_file" in table or "asynctempfile" in table),
    }


def rows() -> dict:
    return {
        row.key: {
            "field_id": row.field_id,
            "original_filename": row.original_filename,
            "moved_to_location": row.moved_to_location,
            "error": row.error,
            "uploaded_by_id": row.uploaded_by_id,
            "session_fingerprint": row.session_fingerprint,
        }
        for row in AsyncTempFile.objects.order_by("pk")
    }


def submit(key: str, user) -> dict:
    """Submit ``key`` in a model form, as ``user`` with a session of their own."""
    session = SessionStore()
    session.create()
    request = RequestFactory().post("/")
    request.user = user
    request.session = session
    form_class = modelform_factory(Report, fields=["file"])
    with bind_request(request):
        form = form_class(data={"file": json.dumps({"key": key, "name": key.rsplit("-", 1)[-1]})})
        valid = form.is_valid()
        saved = form.save() if valid else None
    if saved is None:
        return {"valid": valid, "errors": form.errors.get("file", []), "saved": None}
    saved.refresh_from_db()
    with saved.file.open("rb") as f:
        stored = f.read().decode()
    return {"valid": valid, "errors": [], "saved": {"name": saved.file.name, "bytes": stored}}


def owner(key: str) -> dict:
    row = AsyncTempFile.objects.get(key=key)
    return {"uploaded_by": row.uploaded_by.username if row.uploaded_by else None, "moved": bool(row.moved_to_location)}


def main(report: dict) -> dict:
    report["migrations"] = migration_state()
    report["field_id"] = Report._meta.get_field("file").async_field_id
    report["rows"] = rows()
    pending_key = report["pending_key"]
    user = get_user_model().objects.create_user("after-upgrade")
    report["submit_as_user"] = submit(pending_key, user)
    report["owner_after_submit"] = owner(pending_key)
    report["submit_anonymously"] = submit(pending_key, AnonymousUser())
    report["pending_after_submit"] = {
        "row": AsyncTempFile.objects.filter(key=pending_key).exists(),
        "object": default_storage.exists(pending_key),
    }
    record = Report.objects.get(pk=report["record_pk"])
    with record.file.open("rb") as f:
        report["record_bytes"] = f.read().decode()
    call_command("cleanup_async_temp_files", "--quiet")
    report["after_cleanup"] = {
        "keys": sorted(AsyncTempFile.objects.values_list("key", flat=True)),
        "objects": {key: default_storage.exists(key) for key in report["check_objects"]},
    }
    return report


if __name__ == "__main__":
    import sys

    print(json.dumps(main(json.loads(sys.argv[1]))))
