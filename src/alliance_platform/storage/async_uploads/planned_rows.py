"""Recording a planned upload in one SQL statement, with the per-requester cap checked inside that statement.

The plan endpoint is the library's busiest request: the widget asks for a plan each time a file is picked. Checking
``MAX_PENDING_UPLOADS`` with a ``COUNT`` and then inserting the row costs two round trips (and on SQLite two
statements' worth of locking) per plan. Here the row is written with ``INSERT ... SELECT ... WHERE (pending) < cap``:
the database counts the requester's pending uploads and inserts the row, or inserts nothing, in one statement, and
returns the new row's primary key. Without a cap it is a plain one-row ``INSERT``.

The count stops at the cap (``LIMIT``), so a requester with many pending uploads costs no more than one at the cap.
Like the two separate queries it replaces, the statement does not serialise concurrent plans of one requester: two
plans arriving at the same moment may both see room for one more (the cap bounds abuse, it is not an exact quota).

Databases that cannot return columns from an ``INSERT`` (Django's ``can_return_columns_from_insert``, false on
MySQL and old SQLite) fall back to the count and ``create()`` as before.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connections, models, router
from django.db.models import Field

from .requester import Requester
from .temp_files import AsyncTempFile


@cache
def _insert_fields() -> tuple[Field, ...]:
    """Every concrete field ``AsyncTempFile``'s INSERT writes: all but an auto-incremented primary key."""
    fields = AsyncTempFile._meta.local_concrete_fields
    return tuple(field for field in fields if not (field.primary_key and field.db_returning))


#: ``_insert_head`` by database vendor: the statement's start depends on nothing else.
_HEADS: dict[str, str] = {}


def _insert_head(connection) -> str:
    """``INSERT INTO <table> (<columns>) SELECT %s, ...``, the same for every plan on one kind of database, so it is
    built once per vendor rather than quoted and joined on every plan."""
    head = _HEADS.get(connection.vendor)
    if head is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in _insert_fields())
        placeholders = ", ".join(["%s"] * len(_insert_fields()))
        table = quote(AsyncTempFile._meta.db_table)
        head = _HEADS[connection.vendor] = f"INSERT INTO {table} ({columns}) SELECT {placeholders}"  # noqa: S608
    return head


#: Field classes whose database value for a ``str`` is that ``str`` on every backend (``get_prep_value`` is
#: ``to_python``, which returns a ``str`` unchanged, and no backend adapts text): their conversion is skipped.
_PLAIN_TEXT_FIELDS = (models.CharField, models.TextField)


def _insert_values(temp_file: AsyncTempFile, connection) -> list[Any]:
    """The database values of ``temp_file``'s columns, in ``_insert_fields`` order, as ``Model.save()`` converts
    them (for text that conversion changes nothing, and most of the row is text, so it is skipped for text)."""
    values = []
    for field in _insert_fields():
        value = field.pre_save(temp_file, add=True)
        if not (type(field) in _PLAIN_TEXT_FIELDS and type(value) is str):
            value = field.get_db_prep_save(value, connection=connection)
        values.append(value)
    return values


def _pending_count_sql(requester: Requester, cap: int, connection) -> tuple[str, tuple[Any, ...]]:
    """``SELECT COUNT(*)`` of the requester's pending uploads, counting no further than ``cap``."""
    pending = AsyncTempFile.objects.pending().owned_by(requester).values("pk")[:cap]
    sql, params = pending.query.get_compiler(connection=connection).as_sql()
    # Compiled by Django from the queryset above; every value in it is a parameter.
    return f"SELECT COUNT(*) FROM ({sql}) AS pending_uploads", tuple(params)  # noqa: S608


def insert_planned_upload(temp_file: AsyncTempFile, requester: Requester, cap: int | None) -> bool:
    """Save the new ``temp_file`` unless ``requester`` already has ``cap`` pending uploads (``None``: no cap).

    Returns whether the row was written; when it was, ``temp_file`` has its primary key and counts as saved, as
    after ``save()``. Sends no model signals: the plan endpoint sends its own ``upload_planned``.
    """
    using = router.db_for_write(AsyncTempFile, instance=temp_file)
    connection = connections[using]
    if not connection.features.can_return_columns_from_insert:
        if cap is not None and AsyncTempFile.objects.using(using).pending().owned_by(requester).count() >= cap:
            return False
        temp_file.save(using=using, force_insert=True)
        return True

    meta = AsyncTempFile._meta
    sql = _insert_head(connection)
    params: list[Any] = _insert_values(temp_file, connection)
    if cap is not None:
        count_sql, count_params = _pending_count_sql(requester, cap, connection)
        sql += f" WHERE ({count_sql}) < %s"
        params += [*count_params, cap]
    pk = meta.pk
    sql += f" RETURNING {connection.ops.quote_name(pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    temp_file.pk = pk.to_python(row[0])
    temp_file._state.adding = False
    temp_file._state.db = using
    return True
