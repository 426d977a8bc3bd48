"""Promotion: moving a submitted temporary upload to its final key.

The order of steps is what keeps every saved record pointing at an object that exists:

1. The record is saved holding the temporary key (that object exists), and claims the upload in the same
   transaction (the temp row's ``object_id``; one conditional ``UPDATE``, so exactly one record wins).
2. After the surrounding transaction commits, promotion takes the upload's claim lock (``claims``) and re-reads
   its state; everything below happens under that lock, so cleanup, a second promotion of the same upload (the
   request and cleanup at once) or a double submit's second record wait or step aside instead of interleaving.
3. The object is copied to its final key (a hard link on the filesystem, a server-side copy in the cloud), only
   in the version that verification checked: rewritten since, nothing is stored. Nothing is overwritten: a taken
   name gets a new one.
4. One ``UPDATE`` switches the record to the final key, only if it still holds the temporary key, and the temp row
   records where the file went. No ``save()`` is called, so no second ``post_save`` fires.
5. Only after that commit is the temporary object deleted, and only when no other record holds it.

A record saved with a key another record already claimed (two submits racing) gets its own copy, made from the
temporary object (kept for it) or from the owner's promoted file: never the owner's object, never a missing one.

A rollback before step 3 leaves the old value; a failure at any step leaves the record on an object that exists
and the reason on the temp row. A crash between 3 and 5 leaves at worst a stray copy or a temporary object that is
still referenced, which cleanup recognises and keeps.

A backend that overrides ``move_file`` (the reference contract's one object operation) is promoted by moving
instead, which changes steps 3 and 5: the move cannot be pinned to the verified version, and the temporary object
is gone from the move until the ``UPDATE`` of step 4, so during that moment (and after a crash inside it) the
record holds a key with no object. A failed ``UPDATE`` moves the file back. A second record of a double submit
copies the owner's promoted file (``copy_file``, by default through the plain ``Storage`` API).
"""

from __future__ import annotations

from functools import cache, partial
import logging
from typing import TYPE_CHECKING

from django.db import models, transaction

from . import signals
from .claims import ClaimTimeout, claimed
from .fields import AsyncFileField, display_name, set_pending_upload
from .storage.base import ObjectChanged
from .temp_files import AsyncTempFile

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

logger = logging.getLogger("alliance_platform.storage")

_NAME_ATTEMPTS = 5


class PromotionError(Exception):
    pass


@cache
def async_fields_of(model: type[models.Model]) -> tuple[AsyncFileField, ...]:
    """The async fields a model saves (including those inherited from concrete parents)."""
    return tuple(f for f in model._meta.concrete_fields if isinstance(f, AsyncFileField))


def schedule_promotions(
    sender: type[models.Model],
    instance: models.Model,
    raw: bool = False,
    using: str = "default",
    update_fields: Iterable[str] | None = None,
    **kwargs,
) -> None:
    """``post_save`` receiver: claim each temporary key the record now holds, and promote it after the commit
    (at once for a backend that promotes by moving, see below).

    The claim (the temp row's ``object_id``) is written in the saving transaction, so a form submitted again with
    the same key sees it and is refused, and it disappears with a rollback. A record that loses the claim to
    another marks the upload contended, which keeps the temporary object for its own copy.
    """
    if raw:
        return
    for field in async_fields_of(sender):
        if update_fields is not None and field.name not in update_fields and field.attname not in update_fields:
            continue
        key = getattr(instance, field.attname).name
        if field.storage.is_temporary_path(key):
            rows = AsyncTempFile.objects.using(using).filter(key=key)
            record_pk = str(instance.pk)
            if not rows.filter(object_id="").update(object_id=record_pk):
                rows.exclude(object_id=record_pk).update(contended=True)
            if field.storage.promotes_by_moving:
                # A backend written to the reference's contract (it overrides move_file) is promoted when the
                # record is saved, as the reference did: a move cannot wait for the commit and be undone
                # afterwards, and its projects (and their tests, inside TestCase) expect the final name at once.
                promote(field, instance, key, using)
            else:
                transaction.on_commit(partial(promote, field, instance, key, using), using=using)


class UploadChanged(PromotionError):
    """The temporary object was rewritten after verification; it is not promoted and the record lets go of it."""


def promote(field: AsyncFileField, instance: models.Model, temp_key: str, using: str = "default") -> str | None:
    """Promote ``temp_key`` for ``instance``; returns the final key, or ``None`` when it failed (and was recorded)
    or there was nothing to do (the record no longer holds the key).

    Never raises: the record is already committed and valid, so a failure here must not turn a successful save into
    an error page. The failure is logged, stored on the temp row and sent as ``promotion_failed``, all under the
    upload's claim, so a concurrent successful promotion can never be followed by a false error.
    """
    try:
        with claimed(temp_key, using=using) as temp_file:
            try:
                final_key = _promote(field, instance, temp_key, temp_file, using)
            except Exception as exc:
                _record_failure(field, instance, temp_key, temp_file, exc, using)
                return None
    except ClaimTimeout:
        # Another process (cleanup, a second request) holds the upload for longer than we wait: it promotes it
        # and records the outcome.
        logger.warning("Promotion of %s for %s pk=%s left to the process holding it", temp_key, field, instance.pk)
        return None
    if final_key is not None:
        signals.file_promoted.send(
            sender=type(instance), temp_file=temp_file, field=field, instance=instance, key=final_key
        )
    return final_key


def _record_failure(
    field: AsyncFileField,
    instance: models.Model,
    temp_key: str,
    temp_file: AsyncTempFile | None,
    exc: Exception,
    using: str,
) -> None:
    logger.error("Promotion of %s for %s pk=%s failed: %s", temp_key, field, instance.pk, exc, exc_info=exc)
    if temp_file is not None and temp_file.object_id in ("", str(instance.pk)):
        AsyncTempFile.objects.using(using).filter(pk=temp_file.pk).update(error=_describe(exc))
    signals.promotion_failed.send(sender=type(instance), temp_key=temp_key, field=field, instance=instance, error=exc)


def _promote(
    field: AsyncFileField,
    instance: models.Model,
    temp_key: str,
    temp_file: AsyncTempFile | None,
    using: str,
) -> str | None:
    storage = field.storage
    record_pk = str(instance.pk)
    # The upload belongs to the record that claimed it first. Another record that was given the same key (two
    # submissions racing) gets its own copy, never the owner's file, and leaves the owner's bookkeeping alone.
    ours = temp_file is None or temp_file.object_id in ("", record_pk)
    promoted = temp_file.moved_to_location if temp_file is not None and ours else ""
    if promoted and _record_holds(field, instance, promoted, using):
        # Promoted already (by an earlier save, or by cleanup meanwhile).
        _show_final_key(field, instance, temp_key, promoted)
        return promoted
    if not _record_holds(field, instance, temp_key, using):
        return None  # saved again with another value meanwhile: nothing of ours to promote

    source, version = temp_key, temp_file.verified_version if temp_file is not None else ""
    if temp_file is not None and temp_file.moved_to_location and storage.stat_object(temp_key) is None:
        # Promoted for the owner, who no longer needed the temporary object: copy the owner's file instead.
        source, version = temp_file.moved_to_location, ""
    if temp_file is not None and ours and not temp_file.moved_to_location:
        signals.pre_promote.send(
            sender=type(instance),
            temp_file=temp_file,
            field=field,
            instance=instance,
            open_file=partial(storage.open_version, temp_key, version),
        )
    copied = moved = False
    if temp_file is not None and ours and temp_file.moved_to_location:
        final_key = temp_file.moved_to_location
    elif ours and source == temp_key and storage.promotes_by_moving:
        # A backend that only knows how to move (the documented minimal contract): the upload itself goes to
        # its final key. Nothing can be pinned, and the temporary object is gone before the record switches.
        original_name = temp_file.original_filename if temp_file else display_name(temp_key, storage)
        final_key = _store_at_free_name(
            field, instance, original_name, lambda key, overwrite: storage.move_file(temp_key, key)
        )
        moved = True
    else:
        original_name = temp_file.original_filename if temp_file else display_name(temp_key, storage)
        # Only pinned copies name a version (and only overwriting ones say so), so backends written before
        # either existed keep working.
        pinned = {"source_version": version} if version else {}
        try:
            final_key = _store_at_free_name(
                field,
                instance,
                original_name,
                lambda key, overwrite: storage.copy_file(
                    source, key, **({"overwrite": True} if overwrite else {}), **pinned
                ),
            )
        except ObjectChanged:
            _let_go_of_changed_upload(field, instance, temp_key, using)
            raise UploadChanged(
                f"{temp_key} was rewritten after it was verified; it was not promoted and pk={record_pk} "
                "no longer holds it."
            ) from None
        copied = True

    try:
        with transaction.atomic(using=using):
            switched = (
                field.model._base_manager.using(using)
                .filter(pk=instance.pk, **{field.attname: temp_key})
                .update(**{field.attname: final_key})
            )
            if not switched:
                raise PromotionError(f"Record pk={record_pk} no longer holds {temp_key}; nothing was promoted.")
            if temp_file is not None and ours:
                AsyncTempFile.objects.using(using).filter(pk=temp_file.pk).update(
                    moved_to_location=final_key, object_id=record_pk, error=""
                )
    except BaseException:
        # Nothing references the copy we just made: remove it, keeping the record on its temporary key. (A copy
        # that replaced an object under a fixed name may be what other records point at: it stays.) A moved
        # upload goes back to the temporary key the record still holds.
        if moved:
            _move_back(storage, final_key, temp_key)
        elif copied and not field.overwrites_existing:
            _delete_quietly(storage, final_key)
        raise

    _show_final_key(field, instance, temp_key, final_key)
    if not moved:
        _release_temporary_object(field, temp_key, using)
    return final_key


def _let_go_of_changed_upload(field: AsyncFileField, instance: models.Model, temp_key: str, using: str) -> None:
    """What was verified is gone: the record stores nothing rather than bytes nobody checked."""
    field.model._base_manager.using(using).filter(pk=instance.pk, **{field.attname: temp_key}).update(
        **{field.attname: ""}
    )
    if getattr(instance, field.attname).name == temp_key:
        set_pending_upload(instance, field.attname, None)
        instance.__dict__[field.attname] = ""
    _delete_quietly(field.storage, temp_key)


def _release_temporary_object(field: AsyncFileField, temp_key: str, using: str) -> None:
    """Delete the temporary object once promoted, unless a second record of a double submit still holds it
    (it copies from it next). Called under the upload's claim; a leftover is deleted by cleanup."""
    row = AsyncTempFile.objects.using(using).filter(key=temp_key).values("contended").first()
    contended = row is not None and row["contended"]
    if contended and field.model._base_manager.using(using).filter(**{field.attname: temp_key}).exists():
        return
    _delete_quietly(field.storage, temp_key)


def _record_holds(field: AsyncFileField, instance: models.Model, key: str, using: str) -> bool:
    return field.model._base_manager.using(using).filter(pk=instance.pk, **{field.attname: key}).exists()


def _show_final_key(field: AsyncFileField, instance: models.Model, temp_key: str, final_key: str) -> None:
    """Let the caller's instance see the final key, unless the code that saved it has moved on to another value."""
    if getattr(instance, field.attname).name == temp_key:
        set_pending_upload(instance, field.attname, None)
        instance.__dict__[field.attname] = final_key


def _delete_quietly(storage, key: str) -> None:
    try:
        storage.delete(key)
    except Exception as exc:
        logger.warning("Could not delete %s: %s", key, exc)


def _move_back(storage, final_key: str, temp_key: str) -> None:
    """Undo a move whose record did not switch, so that the record's temporary key has its object again."""
    try:
        storage.move_file(final_key, temp_key)
    except Exception as exc:
        logger.error("Could not move %s back to %s; the file stays at %s: %s", final_key, temp_key, final_key, exc)


def _store_at_free_name(
    field: AsyncFileField, instance: models.Model, original_name: str, store: Callable[[str, bool], None]
) -> str:
    """Run ``store(final_key, overwrite)`` (a copy or a move) at the name the field gives ``original_name``.

    A field that overwrites gets exactly that name; otherwise a free one, tried again when the store raises
    ``FileExistsError`` because someone took the name between the check and the store.
    """
    storage = field.storage
    wanted = field.generate_filename(instance, original_name)
    if field.overwrites_existing and len(wanted) <= field.max_length:
        store(wanted, True)
        return wanted
    for _ in range(_NAME_ATTEMPTS):
        final_key = storage.get_available_name(wanted, max_length=field.max_length)
        try:
            store(final_key, False)
        except FileExistsError:
            continue  # someone took the name between the check and the store: pick another
        return final_key
    raise PromotionError(f"No free name found for {wanted!r} after {_NAME_ATTEMPTS} attempts.")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]
