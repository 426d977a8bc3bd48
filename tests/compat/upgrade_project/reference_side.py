"""Run with alliance-platform-storage 0.0.5 installed: migrate a fresh database the way a project using it did,
then leave behind what such a project has: a record whose file was promoted, uploads still pending, an upload
whose promotion failed, a duplicated key, and rows copied from the legacy ``common_storage`` table.

Prints a JSON description of what it made for the test to check after the upgrade.
"""

from datetime import timedelta
import json

import django

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

LEGACY_TABLE = "common_storage_async_temp_file"
PROMOTED_BYTES = b"%PDF-1.4\npromoted by the reference\n%%EOF\n"
PENDING_BYTES = b"%PDF-1.4\nwaiting in a form\n%%EOF\n"
ABANDONED_BYTES = b"%PDF-1.4\nnever submitted\n%%EOF\n"


def create_legacy_table(content_type_id: int, key: str) -> None:
    """The table of the app the reference replaced, with one old row (the reference's second migration copies it
    on PostgreSQL)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {quote(LEGACY_TABLE)} (id integer PRIMARY KEY, created_at timestamp with time zone NOT NULL, "
            "original_filename text NOT NULL, key varchar(500) NOT NULL, field_name varchar(100) NOT NULL, "
            "content_type_id integer NOT NULL, error text NULL, moved_to_location text NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {quote(LEGACY_TABLE)} VALUES (1, %s, 'legacy.pdf', %s, 'file', %s, NULL, '')",
            [timezone.now() - timedelta(days=30), key, content_type_id],
        )


def migrate() -> None:
    # Everything the reference's tables point at first, so the legacy row can name a real content type.
    for app in ("contenttypes", "auth", "sessions", "legacyapp"):
        call_command("migrate", app, verbosity=0)
    from legacyapp.models import Report

    create_legacy_table(
        ContentType.objects.get_for_model(Report).pk, "async-temp-files/2020/01/01/legacy0000-legacy.pdf"
    )
    if connection.vendor == "sqlite":
        # The reference's 0002 is PostgreSQL-only SQL and fails on SQLite: its SQLite projects recorded it as
        # applied without running it.
        call_command("migrate", "alliance_platform_storage", "0001", verbosity=0)
        call_command("migrate", "alliance_platform_storage", "0002", fake=True, verbosity=0)
    call_command("migrate", verbosity=0)


def make_data() -> dict:
    from legacyapp.models import Report

    from alliance_platform.storage.async_uploads.models import AsyncTempFile

    field = Report._meta.get_field("file")
    three_days_ago = timezone.now() - timedelta(days=3)

    promoted = AsyncTempFile.create_for_field(field, "annual report.pdf")
    default_storage.save(promoted.key, ContentFile(PROMOTED_BYTES))
    record = Report(file=promoted.key)
    record.save()  # the reference moves the file into place and records where
    promoted.refresh_from_db()
    assert promoted.moved_to_location and record.file.name == promoted.moved_to_location
    # The same key planned twice (the reference's table allows it); the promoted row must win.
    AsyncTempFile.objects.create(
        original_filename="annual report.pdf",
        content_type=promoted.content_type,
        field_name="file",
        key=promoted.key,
        moved_to_location="",
    )

    pending = AsyncTempFile.create_for_field(field, "waiting.pdf")
    default_storage.save(pending.key, ContentFile(PENDING_BYTES))

    abandoned = AsyncTempFile.create_for_field(field, "abandoned.pdf")
    default_storage.save(abandoned.key, ContentFile(ABANDONED_BYTES))

    failed = AsyncTempFile.create_for_field(field, "lost.pdf")
    failed_record = Report(file=failed.key)
    failed_record.save()  # nothing was uploaded to the key: the reference records the error
    failed.refresh_from_db()
    assert failed.error

    AsyncTempFile.objects.filter(pk__in=[promoted.pk, abandoned.pk, failed.pk]).update(created_at=three_days_ago)
    rows = {
        row.key: {"original_filename": row.original_filename, "moved_to_location": row.moved_to_location}
        for row in AsyncTempFile.objects.order_by("pk")
    }
    return {
        "vendor": connection.vendor,
        "record": {"pk": record.pk, "name": record.file.name, "bytes": PROMOTED_BYTES.decode()},
        "failed_record": {"pk": failed_record.pk, "name": failed_record.file.name},
        "promoted": {"key": promoted.key, "moved_to_location": promoted.moved_to_location},
        "pending": {"key": pending.key, "bytes": PENDING_BYTES.decode()},
        "abandoned": {"key": abandoned.key},
        "failed": {"key": failed.key, "error": failed.error},
        "rows": rows,
    }


if __name__ == "__main__":
    migrate()
    print(json.dumps(make_data()))
