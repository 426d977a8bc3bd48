"""Opt-in deletion of the files records stop using: replaced by another upload, cleared, or deleted with the record.

Django's ``FileField`` never deletes a file, and neither does this library unless asked to: ``delete_replaced=True``
on a field, or ``STORAGE["DELETE_REPLACED_FILES"] = True`` for every field that does not say otherwise. Then, like
django-cleanup, the file a saved change let go of is deleted once that change is committed. What makes it safe:

* The old name is the one the database row held when the change was written, read in the field's ``pre_save``
  (locked with ``SELECT ... FOR UPDATE`` inside a transaction), not the one the instance happened to load: a
  stale instance neither deletes the wrong file nor forgets the right one. The name each instance loaded (a
  ``post_init`` snapshot) only lets a save that changes nothing skip that read for fields that do not delete.
* Nothing happens before the commit (``transaction.on_commit``, through ``background.run_after_commit``): a
  rollback keeps the old file, and in task mode (``PROMOTION = "task"``) the deletion is the
  ``delete_replaced_file`` task.
* Right before deleting, the name is looked up again in every async field whose storage is of the same backend,
  on every row: a file that another record (of any model, or the same model) still holds is kept. A promoted file
  that the second record of a double submit may still copy from is kept too. Temporary uploads are never deleted
  here (a pending one is promotion's, an abandoned one cleanup's).
* On PostgreSQL a transaction-scoped advisory lock per name orders that last check with records that take the
  name over: a save that assigns a record a name its row did not hold (``b.file = a.file.name``) locks the name
  and checks that the object still exists, refusing the save (``MissingFileError``) when it is gone. The lock
  lasts until the commit only inside a transaction, so code that hands names between records should do it inside
  ``transaction.atomic()`` (the admin and ``ATOMIC_REQUESTS`` do).
* A field that overwrites (``allow_overwrite``) and is given an upload that promotion will store under exactly the
  old name keeps it: promotion replaces the object in place.

These checks run only for storages that some field deletes from: with the feature off, a save costs nothing more,
and ``post_delete`` is listened to only for models with a field that deletes (a listener costs cascades Django's
fast delete).
"""

from __future__ import annotations

import hashlib
import logging
import sys
from typing import TYPE_CHECKING, Any

from django.apps import apps as global_apps
from django.core.signals import setting_changed
from django.db import connections, router, transaction
from django.db.models import signals
from django.utils.translation import gettext

from ..settings import storage_settings
from .background import run_after_commit
from .registry import AsyncFieldRegistry

if TYPE_CHECKING:
    from django.db import models

    from .fields import AsyncFileMixin
    from .storage.base import AsyncUploadStorage

logger = logging.getLogger("alliance_platform.storage")

# Per-instance state, in the instance's __dict__ (never on the shared field object).
_LOADED = "_async_loaded_names"  # attname -> the name the instance loaded or last saved
_SAVING = "_async_saving_names"  # attname -> the name the save in progress writes
_REPLACED = "_async_replaced_names"  # attname -> (field id, the name the row held before the save in progress)
_LOCK_NAMESPACE = "alliance_platform.storage:name:"
_UNKNOWN = object()
# The async fields of each tracked model, found once as the model is prepared.
_TRACKED: dict[type[models.Model], list[AsyncFileMixin]] = {}


class MissingFileError(ValueError):
    """A record was given the name of a file that no longer exists (another record's file, deleted when that
    record let go of it). Raised by ``save()`` so that no record is saved pointing at a missing object."""


def deletes_replaced(field: AsyncFileMixin) -> bool:
    """Whether ``field`` deletes the files its records let go of: its own ``delete_replaced``, else the setting."""
    if field.delete_replaced is not None:
        return field.delete_replaced
    return bool(storage_settings.DELETE_REPLACED_FILES)


def _name(value: Any) -> str:
    return getattr(value, "name", value) or ""


def _related_storage(a: AsyncUploadStorage, b: AsyncUploadStorage) -> bool:
    """Whether two storages may hold the same objects. Erring towards "yes" only costs a lookup and keeps a file; a
    "no" that is wrong could delete one, so any two storages of one backend class count as the same."""
    return a is b or isinstance(a, type(b)) or isinstance(b, type(a))


def fields_sharing(storage: AsyncUploadStorage) -> list[AsyncFileMixin]:
    """Every registered async field (of every registry) whose records may hold names of ``storage``."""
    unique = {id(field): field for field in AsyncFieldRegistry.all_fields()}
    return [field for field in unique.values() if _related_storage(field.storage, storage)]


def _guarded(storage: AsyncUploadStorage) -> bool:
    """Whether some field deletes replaced files from ``storage`` (only then do saves need the checks here)."""
    return any(deletes_replaced(field) for field in fields_sharing(storage))


def _async_fields(model: type[models.Model]) -> list[AsyncFileMixin]:
    tracked = _TRACKED.get(model)
    if tracked is not None:
        return tracked
    # Looked up rather than imported: models are prepared while this package is still being imported, and none
    # can have an async field before the mixin exists.
    fields = sys.modules.get(f"{__package__}.fields")
    mixin = getattr(fields, "AsyncFileMixin", None)
    if mixin is None:
        return []
    return [field for field in model._meta.concrete_fields if isinstance(field, mixin)]


# What a save captures (called from the field's pre_save, inside the save).


def capture(field: AsyncFileMixin, instance: models.Model) -> None:
    """Note the name ``instance``'s row holds before this save writes ``field``, to delete after the commit when
    the field deletes replaced files, and refuse a name taken over from elsewhere whose object is gone."""
    storage = field.storage
    if not _guarded(storage):
        return
    new = _name(instance.__dict__.get(field.attname))
    enabled = deletes_replaced(field)
    loaded = instance.__dict__.get(_LOADED, {}).get(field.attname, _UNKNOWN)
    using = instance._state.db or router.db_for_write(type(instance), instance=instance)
    if instance._state.adding:
        stored = ""
    elif enabled or loaded is _UNKNOWN or loaded != new:
        stored = _stored_name(field, instance, using)
    else:
        stored = loaded
    instance.__dict__.setdefault(_SAVING, {})[field.attname] = new
    if new and new != stored and not storage.is_temporary_path(new):
        _take_over(field, new, using)
    replaced = instance.__dict__.setdefault(_REPLACED, {})
    if (
        enabled
        and stored
        and stored != new
        and not storage.is_temporary_path(stored)
        and not _promotion_overwrites(field, instance, stored, new, using)
    ):
        replaced[field.attname] = (field.async_field_id, stored)
    else:
        replaced.pop(field.attname, None)


def _stored_name(field: AsyncFileMixin, instance: models.Model, using: str) -> str:
    """The name the database row holds now; the row stays locked until the commit when in a transaction."""
    rows = field.model._base_manager.using(using).filter(pk=instance.pk)
    connection = connections[using]
    if connection.in_atomic_block and connection.features.has_select_for_update:
        rows = rows.select_for_update()
    return _name(rows.values_list(field.attname, flat=True).first())


def _take_over(field: AsyncFileMixin, name: str, using: str) -> None:
    """A record is given ``name``, which its row did not hold: lock the name (a deletion waits for this
    transaction and then sees the record) and make sure the object is still there."""
    lock_name(name, using)
    if not field.storage.exists(name):
        raise MissingFileError(
            gettext("The file %(name)s no longer exists in storage, so %(field)s cannot be set to it.")
            % {"name": name, "field": f"{field.model._meta.label}.{field.name}"}
        )


def _promotion_overwrites(field: AsyncFileMixin, instance: models.Model, stored: str, new: str, using: str) -> bool:
    """Whether promotion will store the new upload at exactly ``stored``, replacing the object in place (a field
    that overwrites, whose ``upload_to`` gives the new file the old name): that object must not be deleted."""
    if not new or not field.storage.is_temporary_path(new) or not field.overwrites_existing:
        return False
    from .fields import display_name
    from .temp_files import AsyncTempFile

    original = AsyncTempFile.objects.using(using).filter(key=new).values_list(
        "original_filename", flat=True
    ).first() or display_name(new, field.storage)
    try:
        return field.generate_filename(instance, original) == stored
    except Exception:  # noqa: BLE001 - an upload_to that fails here fails promotion too; keep the file meanwhile
        return True


def lock_name(name: str, using: str = "default") -> None:
    """Take PostgreSQL's transaction-scoped advisory lock for ``name`` (other databases: nothing; outside a
    transaction it would be released at once, so it is not taken)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    digest = hashlib.shake_256(f"{_LOCK_NAMESPACE}{name}".encode()).digest(8)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])


# Signal receivers, connected for each model with an async field (its own or inherited) as it is prepared.


def _start_save(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """``pre_save``: forget what an earlier save that failed may have captured."""
    instance.__dict__.pop(_SAVING, None)
    instance.__dict__.pop(_REPLACED, None)


def _remember_loaded(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """``post_init``: the names the instance starts with, so that a save changing none of them can skip a read."""
    values = instance.__dict__
    instance.__dict__[_LOADED] = {
        field.attname: _name(values[field.attname]) for field in _async_fields(sender) if field.attname in values
    }


def _schedule_after_save(
    sender: type[models.Model], instance: models.Model, raw: bool = False, using: str = "default", **kwargs: Any
) -> None:
    """``post_save``: delete what the save let go of once it is committed."""
    saving = instance.__dict__.pop(_SAVING, None)
    replaced = instance.__dict__.pop(_REPLACED, None)
    if saving:
        instance.__dict__.setdefault(_LOADED, {}).update(saving)
    if raw or not replaced:
        return
    for field_id, name in replaced.values():
        run_after_commit(delete_replaced_file, field_id, name, using, using=using)


def _schedule_after_delete(
    sender: type[models.Model], instance: models.Model, using: str = "default", **kwargs: Any
) -> None:
    """``post_delete``: a deleted record's files go too, once the deletion is committed (when the field deletes
    replaced files, and no other record holds them)."""
    for field in _async_fields(sender):
        if field.model._meta.concrete_model is not sender._meta.concrete_model:
            continue  # a multi-table parent's field: the parent row's own post_delete handles it
        name = _name(instance.__dict__.get(field.attname))
        if name and deletes_replaced(field) and not field.storage.is_temporary_path(name):
            run_after_commit(delete_replaced_file, field.async_field_id, name, using, using=using)


def _track_model(sender: type[models.Model], **kwargs: Any) -> None:
    """``class_prepared``: connect the receivers above for every concrete model (and proxy, and multi-table child)
    with an async field; one model at a time, so that deleting other models keeps Django's fast path."""
    if sender._meta.abstract or sender._meta.apps is not global_apps:
        return
    fields = _async_fields(sender)
    if not fields:
        return
    _TRACKED[sender] = fields
    uid = _receiver_uid(sender)
    signals.pre_save.connect(_start_save, sender=sender, dispatch_uid=uid)
    signals.post_init.connect(_remember_loaded, sender=sender, dispatch_uid=uid)
    signals.post_save.connect(_schedule_after_save, sender=sender, dispatch_uid=uid)
    _sync_delete_receiver(sender, fields)


def _receiver_uid(model: type[models.Model]) -> str:
    return f"alliance_platform_storage_replaced_files_{model._meta.label}"


def _sync_delete_receiver(model: type[models.Model], fields: list[AsyncFileMixin]) -> None:
    """Listen to ``post_delete`` of ``model`` only while one of its fields deletes files: any listener makes Django
    load every record a cascade deletes (no fast delete), which projects that keep files should not pay for."""
    if any(deletes_replaced(field) for field in fields):
        signals.post_delete.connect(_schedule_after_delete, sender=model, dispatch_uid=_receiver_uid(model))
    else:
        signals.post_delete.disconnect(sender=model, dispatch_uid=_receiver_uid(model))


def sync_delete_receivers(**kwargs: Any) -> None:
    """Follow a change of ``DELETE_REPLACED_FILES`` (``setting_changed``) or of a field's ``delete_replaced``."""
    if kwargs.get("setting", "ALLIANCE_PLATFORM") != "ALLIANCE_PLATFORM":
        return
    for model, fields in list(_TRACKED.items()):
        _sync_delete_receiver(model, fields)


signals.class_prepared.connect(_track_model, dispatch_uid="alliance_platform_storage_replaced_files")
setting_changed.connect(sync_delete_receivers, dispatch_uid="alliance_platform_storage_replaced_files")


# The deletion itself: what ``tasks.delete_replaced_file`` runs, or the commit calls in the request.


def holder_of(storage: AsyncUploadStorage, name: str, using: str = "default") -> str | None:
    """What still needs ``name`` (``"app.Model.field"``), or ``None`` when nothing does."""
    from .temp_files import AsyncTempFile

    for field in fields_sharing(storage):
        if field.model._base_manager.using(using).filter(**{field.attname: name}).exists():
            return f"{field.model._meta.label}.{field.name}"
    # A second record of a double submit copies the first record's promoted file when the temporary one is gone.
    contended = AsyncTempFile.objects.using(using).filter(moved_to_location=name, contended=True)
    for key, field_id in contended.values_list("key", "field_id"):
        field = AsyncFieldRegistry.find_field(field_id)
        if field is not None and field.model._base_manager.using(using).filter(**{field.attname: key}).exists():
            return f"{field.model._meta.label}.{field.name} (promotion from {name})"
    return None


def delete_replaced_file(field_id: str, name: str, using: str = "default") -> str:
    """Delete ``name`` from the storage of the field ``field_id`` unless a record still holds it, checked now,
    under the name's lock. Never raises (it runs after a commit that succeeded); returns what it did."""
    from .fields import AsyncFileMixin

    field = AsyncFieldRegistry.find_field(field_id)
    if not isinstance(field, AsyncFileMixin):
        logger.warning("Not deleting replaced file %s: no field %s", name, field_id)
        return "unknown field"
    storage = field.storage
    if not name or storage.is_temporary_path(name):
        return "kept: temporary upload"
    try:
        with transaction.atomic(using=using):
            lock_name(name, using)
            holder = holder_of(storage, name, using)
            if holder is not None:
                logger.info("Kept replaced file %s: still held by %s", name, holder)
                return f"kept: held by {holder}"
            storage.delete(name)
    except Exception as exc:
        logger.warning("Could not delete replaced file %s of %s: %s", name, field, exc, exc_info=exc)
        return f"failed: {type(exc).__name__}: {exc}"
    logger.info("Deleted replaced file %s of %s", name, field)
    return "deleted"
