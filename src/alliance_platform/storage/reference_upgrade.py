"""Upgrading a database that alliance-platform-storage 0.0.5 (the package this one replaces) migrated.

That package's first migration is also called ``0001_initial`` but creates another table
(``alliance_platform_storage_async_temp_file``: the field as content type plus field name, no owner, ``error``
nullable). On such a database Django counts our ``0001_initial`` as applied, so our table does not exist when
our later migrations run. They therefore touch the database only where our table exists (``OnOurTable``), and
``0004_upgrade_from_reference_schema`` builds our table and converts the old rows (``convert_reference_table``).
On a database our own migrations created, both do nothing.

The code lives here rather than in the migration files so that the three migrations share one test for "whose
table is this"; it must stay as it is for as long as those migrations exist.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import StateApps

from .async_uploads.registry import field_id_for
from .async_uploads.temp_files import PLANNED_BEFORE_UPGRADE

APP_LABEL = "alliance_platform_storage"
REFERENCE_TABLE = "alliance_platform_storage_async_temp_file"
# Our table (the default name for our app label and model); the two names never collide.
OUR_TABLE = "alliance_platform_storage_asynctempfile"
CONTENT_TYPE_TABLE = "django_content_type"

# Lengths of our columns that the reference's text columns are copied into.
ORIGINAL_FILENAME_LENGTH = 1000
MOVED_TO_LOCATION_LENGTH = 1000


def has_table(schema_editor: BaseDatabaseSchemaEditor, table: str) -> bool:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return table in connection.introspection.table_names(cursor)


class OnOurTable(Operation):
    """Runs ``operation`` on the database only where our table exists; the migration state always advances.

    Where the reference's schema is still in place, our table is missing and ``0004`` creates it from the state
    these operations built, so skipping them loses nothing.
    """

    reduces_to_sql = True

    def __init__(self, operation: Operation):
        self.operation = operation

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [self.operation], {})

    @property
    def reversible(self) -> bool:  # type: ignore[override]
        return self.operation.reversible

    def state_forwards(self, app_label: str, state: Any) -> None:
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state, to_state):
        if has_table(schema_editor, OUR_TABLE):
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state, to_state):
        if has_table(schema_editor, OUR_TABLE):
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"{self.operation.describe()} (where this package's table exists)"

    @property
    def migration_name_fragment(self) -> str | None:
        return self.operation.migration_name_fragment


def model_label(apps: StateApps, app_label: str, model_name: str) -> str:
    """The label the field registry hashes (``app_label.ObjectName``, the class name as written): a content type
    stores only the lower-cased model name. The running project's model is what the registry will see; a model
    that no longer exists falls back to the migration state, then to the lower-cased name (its rows then belong
    to no field, and cleanup removes them through the default storage)."""
    for registry in (global_apps, apps):
        try:
            return registry.get_model(app_label, model_name)._meta.label
        except LookupError:
            continue
    return f"{app_label}.{model_name}"


def convert_reference_table(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Create our table if it is missing, then move the reference's rows into it and drop the reference's table.

    Each row keeps its key, creation time, original filename (cut to our column's length), final location and
    error (``NULL`` becomes empty); its field becomes the registry's field id. The reference recorded no owner
    and accepted a key from anyone, so an upload still waiting to be submitted is marked as planned before the
    upgrade: it is accepted from whoever submits it first, as the reference would have, and that submitter owns
    it from then on (a form open during the deploy still saves). Cleanup removes converted rows when they expire
    like any other. Two rows with the same key
    (which the reference allowed) become one, a promoted one when there is one. A promoted row whose final
    location does not fit our column is left out: it only told cleanup to leave the final file alone, and the
    temporary object it may leave behind is swept as an orphan.

    The legacy ``common_storage_async_temp_file`` table is not read: on PostgreSQL the reference's own second
    migration already copied it into the table converted here (reading it again would duplicate those rows), on
    SQLite that migration could never run, and its rows would be refused and cleaned up anyway. It is left in
    place for the project to drop.
    """
    model = apps.get_model(APP_LABEL, "AsyncTempFile")
    if not has_table(schema_editor, OUR_TABLE):
        schema_editor.create_model(model)
    if not has_table(schema_editor, REFERENCE_TABLE):
        return
    quote = schema_editor.quote_name
    old, new = quote(REFERENCE_TABLE), quote(model._meta.db_table)
    with schema_editor.connection.cursor() as cursor:
        # One row per key, preferring a promoted row, then the oldest.
        cursor.execute(
            f"SELECT {quote('id')}, {quote('key')}, {quote('moved_to_location')} FROM {old} "  # noqa: S608
            f"ORDER BY {quote('id')}"
        )
        kept: dict[str, tuple[int, bool]] = {}
        for row_id, key, moved in cursor.fetchall():
            promoted = bool(moved)
            if len(moved or "") > MOVED_TO_LOCATION_LENGTH:
                continue
            if key not in kept or (promoted and not kept[key][1]):
                kept[key] = (row_id, promoted)
        keep_ids = [row_id for row_id, _promoted in kept.values()]

        cursor.execute(
            f"SELECT DISTINCT t.{quote('content_type_id')}, t.{quote('field_name')}, ct.{quote('app_label')}, "  # noqa: S608
            f"ct.{quote('model')} FROM {old} t LEFT JOIN {quote(CONTENT_TYPE_TABLE)} ct "
            f"ON ct.{quote('id')} = t.{quote('content_type_id')}"
        )
        fields = cursor.fetchall()

        # Every column of our table as of 0003, the state this function runs in (later migrations add theirs to
        # the rows written here); the reference has no counterpart for most, which get their model defaults.
        columns = [
            "created_at",
            "original_filename",
            "key",
            "field_id",
            "session_fingerprint",
            "declared_size",
            "content_type",
            "upload_id",
            "planned_for",
            "verified_at",
            "verified_version",
            "lease_token",
            "lease_expires_at",
            "contended",
            "object_id",
            "moved_to_location",
            "error",
            "uploaded_by_id",
        ]
        for content_type_id, name, app_label, model_name in fields:
            label = model_label(apps, app_label, model_name) if app_label else f"unknown.{content_type_id}"
            for chunk in _chunks(keep_ids, 500):
                placeholders = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {new} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
                    f"SELECT {quote('created_at')}, SUBSTR({quote('original_filename')}, 1, %s), {quote('key')}, "
                    f"%s, '', NULL, '', '', '', NULL, '', '', NULL, %s, '', {quote('moved_to_location')}, "
                    f"COALESCE({quote('error')}, ''), NULL FROM {old} "
                    f"WHERE {quote('content_type_id')} = %s AND {quote('field_name')} = %s "
                    f"AND {quote('id')} IN ({placeholders})",
                    [ORIGINAL_FILENAME_LENGTH, field_id_for(label, name), False, content_type_id, name, *chunk],
                )
        cursor.execute(
            f"UPDATE {new} SET {quote('session_fingerprint')} = %s "  # noqa: S608
            f"WHERE {quote('moved_to_location')} = '' AND {quote('error')} = '' AND {quote('uploaded_by_id')} IS NULL "
            f"AND {quote('session_fingerprint')} = '' AND {quote('key')} IN (SELECT {quote('key')} FROM {old})",
            [PLANNED_BEFORE_UPGRADE],
        )
    schema_editor.execute(f"DROP TABLE {old}")


def _chunks(values: list[int], size: int) -> list[list[int]]:
    return [values[start : start + size] for start in range(0, len(values), size)]
