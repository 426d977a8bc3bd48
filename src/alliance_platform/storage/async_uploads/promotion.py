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

from dataclasses import dataclass
from enum import Enum
from functools import cache, partial
import logging
import os
from typing import TYPE_CHECKING

from django.db import models, transaction
from django.db.models import F, Q
from django.utils.translation import gettext

from ..settings import storage_settings
from . import signals
from .claims import ClaimTimeout, claimed
from .fields import AsyncFileField, display_name, set_pending_upload
from .storage.base import ObjectChanged
from .temp_files import RESERVED_NAMES, AsyncTempFile, ScanStatus

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
            elif storage_settings.promotes_in_tasks:
                # Until the worker promotes it the record holds its temporary key, whose object exists and which
                # cleanup keeps (the row is claimed by the record).
                from .background import enqueue

                job = partial(enqueue, "promote_upload", field.async_field_id, record_pk, key, using)
                transaction.on_commit(job, using=using)
            else:
                transaction.on_commit(partial(promote, field, instance, key, using), using=using)


class UploadChanged(PromotionError):
    """The temporary object was rewritten after verification; it is not promoted and the record lets go of it."""


class Outcome(Enum):
    PROMOTED = "promoted"
    ALREADY_PROMOTED = "already promoted"
    NOTHING_TO_DO = "nothing to do"
    INFECTED = "infected"
    FAILED = "failed"
    BUSY = "busy"

    @property
    def may_succeed_later(self) -> bool:
        """Whether trying again can change the outcome (a background promotion retries these)."""
        return self in (Outcome.FAILED, Outcome.BUSY)


@dataclass(frozen=True)
class PromotionResult:
    outcome: Outcome
    key: str | None = None


def promote(field: AsyncFileField, instance: models.Model, temp_key: str, using: str = "default") -> str | None:
    """Promote ``temp_key`` for ``instance``; returns the final key, or ``None`` when it failed (and was recorded),
    the upload was infected, or there was nothing to do (the record no longer holds the key)."""
    return run_promotion(field, instance, temp_key, using).key


def run_promotion(
    field: AsyncFileField, instance: models.Model, temp_key: str, using: str = "default"
) -> PromotionResult:
    """Promote ``temp_key`` for ``instance`` and say how it went.

    Never raises: the record is already committed and valid, so a failure here must not turn a successful save into
    an error page. The failure is logged, stored on the temp row and sent as ``promotion_failed``, all under the
    upload's claim, so a concurrent successful promotion can never be followed by a false error. Running it again
    (a task delivered twice, a retry racing a resumed promotion) finds the work done and changes nothing.
    """
    try:
        with claimed(temp_key, using=using) as temp_file:
            try:
                result = _promote(field, instance, temp_key, temp_file, using)
            except Exception as exc:
                _record_failure(field, instance, temp_key, temp_file, exc, using)
                return PromotionResult(Outcome.FAILED)
    except ClaimTimeout:
        # Another process (cleanup, a second request, a worker) holds the upload for longer than we wait: it
        # promotes it and records the outcome (or, if it died, its lease expires and a retry finishes the work).
        logger.warning("Promotion of %s for %s pk=%s left to the process holding it", temp_key, field, instance.pk)
        return PromotionResult(Outcome.BUSY)
    if result.outcome is Outcome.PROMOTED:
        signals.file_promoted.send(
            sender=type(instance), temp_file=temp_file, field=field, instance=instance, key=result.key
        )
    return result


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
        AsyncTempFile.objects.using(using).filter(pk=temp_file.pk).update(
            error=_describe(exc), attempts=F("attempts") + 1
        )
    signals.promotion_failed.send(sender=type(instance), temp_key=temp_key, field=field, instance=instance, error=exc)


def _promote(
    field: AsyncFileField,
    instance: models.Model,
    temp_key: str,
    temp_file: AsyncTempFile | None,
    using: str,
) -> PromotionResult:
    storage = field.storage
    record_pk = str(instance.pk)
    # The upload belongs to the record that claimed it first. Another record that was given the same key (two
    # submissions racing) gets its own copy, never the owner's file, and leaves the owner's bookkeeping alone.
    ours = temp_file is None or temp_file.object_id in ("", record_pk)
    promoted = temp_file.moved_to_location if temp_file is not None and ours else ""
    if promoted and _record_holds(field, instance, promoted, using):
        # Promoted already (by an earlier save, by cleanup meanwhile, by the same task delivered twice).
        _show_final_key(field, instance, temp_key, promoted)
        return PromotionResult(Outcome.ALREADY_PROMOTED, promoted)
    if temp_file is not None and temp_file.is_infected:
        _quarantine(field, instance, temp_key, temp_file, using)
        return PromotionResult(Outcome.INFECTED)
    if not _record_holds(field, instance, temp_key, using):
        return PromotionResult(Outcome.NOTHING_TO_DO)  # saved again with another value meanwhile

    source, version = temp_key, temp_file.verified_version if temp_file is not None else ""
    if temp_file is not None and temp_file.moved_to_location and storage.stat_object(temp_key) is None:
        # Promoted for the owner, who no longer needed the temporary object: copy the owner's file instead.
        source, version = temp_file.moved_to_location, ""
    if source == temp_key and not _scanned_clean(field, instance, temp_key, version, temp_file, using):
        return PromotionResult(Outcome.INFECTED)
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
            field, instance, original_name, lambda key, overwrite: storage.move_file(temp_key, key), None, using
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
                temp_file if ours else None,
                using,
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
                    moved_to_location=final_key, object_id=record_pk, error="", attempts=F("attempts") + 1
                )
    except BaseException:
        # Nothing references the copy we just made: remove it, keeping the record on its temporary key. (A copy
        # that replaced an object under a fixed name may be what other records point at: it stays; and so does a
        # copy the record already holds, when an actor that took over our expired lease finished the same
        # promotion at the same reserved name.) A moved upload goes back to the temporary key the record holds.
        if moved:
            _move_back(storage, final_key, temp_key)
        elif copied and not field.overwrites_existing and not _record_holds(field, instance, final_key, using):
            _delete_quietly(storage, final_key)
        raise

    _show_final_key(field, instance, temp_key, final_key)
    if not moved:
        _release_temporary_object(field, temp_key, using)
    return PromotionResult(Outcome.PROMOTED, final_key)


def _scanned_clean(
    field: AsyncFileField,
    instance: models.Model,
    temp_key: str,
    version: str,
    temp_file: AsyncTempFile | None,
    using: str,
) -> bool:
    """Run the configured scanner on the verified version of the upload, once; ``False`` when it was infected
    (and is now quarantined). A scanner that cannot answer raises, which leaves the upload unpromoted, the reason
    on its row and a retry to come: nothing is promoted unscanned."""
    scanner = storage_settings.scanner_function()
    if scanner is None or (temp_file is not None and temp_file.scan_status == ScanStatus.CLEAN):
        return True
    verdict = scanner(partial(field.storage.open_version, temp_key, version), temp_file=temp_file, field=field)
    rows = AsyncTempFile.objects.using(using).filter(pk=temp_file.pk) if temp_file is not None else None
    if verdict.is_clean:
        if rows is not None:
            rows.update(scan_status=ScanStatus.CLEAN)
        return True
    logger.warning("Upload %s for %s pk=%s is infected: %s", temp_key, field, instance.pk, verdict.threat)
    if temp_file is not None:
        temp_file.scan_status, temp_file.threat = ScanStatus.INFECTED, verdict.threat[:255]
        temp_file.error = gettext("Infected (%(threat)s): it was not promoted.") % {"threat": temp_file.threat}
        rows.update(scan_status=temp_file.scan_status, threat=temp_file.threat, error=temp_file.error)
    _quarantine(field, instance, temp_key, temp_file, using)
    return False


def _quarantine(
    field: AsyncFileField, instance: models.Model, temp_key: str, temp_file: AsyncTempFile | None, using: str
) -> None:
    """Take an infected upload out of reach: the record lets go of it (its field is cleared, so it never points at
    a removed object), and the object is moved under ``QUARANTINE_PREFIX`` or deleted. Idempotent, so a retry
    after a failure here (or a second delivery) finishes the job; ``upload_infected`` is sent by the run that
    found the object still in place."""
    storage = field.storage
    _clear_field_holding(field, instance, temp_key, using)
    if storage.stat_object(temp_key) is None:
        return
    prefix = storage_settings.QUARANTINE_PREFIX
    quarantined = ""
    if prefix:
        quarantined = f"{prefix.rstrip('/')}/{temp_key}"
        version = temp_file.verified_version if temp_file is not None else ""
        storage.copy_file(temp_key, quarantined, overwrite=True, **({"source_version": version} if version else {}))
    storage.delete(temp_key)
    signals.upload_infected.send(
        sender=type(instance),
        temp_file=temp_file,
        field=field,
        instance=instance,
        threat=temp_file.threat if temp_file is not None else "",
        quarantined_key=quarantined,
    )


def _clear_field_holding(field: AsyncFileField, instance: models.Model, key: str, using: str) -> None:
    field.model._base_manager.using(using).filter(pk=instance.pk, **{field.attname: key}).update(**{field.attname: ""})
    if getattr(instance, field.attname).name == key:
        set_pending_upload(instance, field.attname, None)
        instance.__dict__[field.attname] = ""


def _let_go_of_changed_upload(field: AsyncFileField, instance: models.Model, temp_key: str, using: str) -> None:
    """What was verified is gone: the record stores nothing rather than bytes nobody checked."""
    _clear_field_holding(field, instance, temp_key, using)
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
    field: AsyncFileField,
    instance: models.Model,
    original_name: str,
    store: Callable[[str, bool], None],
    temp_file: AsyncTempFile | None,
    using: str,
) -> str:
    """Run ``store(final_key, overwrite)`` (a copy or a move) at the name the field gives ``original_name``.

    A field that overwrites gets exactly that name; otherwise a free one, tried again when the store raises
    ``FileExistsError`` because someone took the name between the check and the store. With the upload's row
    (``temp_file``) the name is reserved on it (``promoting_to``) before the store, so that other uploads skip it,
    and an attempt interrupted after its copy (a killed worker) is finished at the same name on the next try.
    """
    storage = field.storage
    wanted = field.generate_filename(instance, original_name)
    if field.overwrites_existing and len(wanted) <= field.max_length:
        store(wanted, True)
        return wanted
    rows = AsyncTempFile.objects.using(using)
    if temp_file is not None and temp_file.promoting_to:
        earlier = temp_file.promoting_to
        try:
            store(earlier, False)
        except FileExistsError:
            if _name_taken_by_another(field, earlier, temp_file, using, any_record=True):
                pass  # not the copy of ours it looked like: choose another name below
            else:
                store(earlier, True)  # our own interrupted copy: made again from the verified version
                return earlier
        else:
            return earlier
    candidate = wanted
    for _ in range(_NAME_ATTEMPTS):
        final_key = storage.get_available_name(candidate, max_length=field.max_length)
        if temp_file is not None:
            if _name_taken_by_another(field, final_key, temp_file, using):
                candidate = _alternative_name(storage, wanted)
                continue
            rows.filter(pk=temp_file.pk).update(promoting_to=final_key)
        try:
            store(final_key, False)
        except FileExistsError:
            continue  # someone took the name between the check and the store: pick another
        return final_key
    raise PromotionError(f"No free name found for {wanted!r} after {_NAME_ATTEMPTS} attempts.")


def _name_taken_by_another(
    field: AsyncFileField, name: str, temp_file: AsyncTempFile, using: str, *, any_record: bool = False
) -> bool:
    """Whether another upload has reserved (or was promoted to) ``name``; with ``any_record``, also whether a
    record of the field holds it (so an existing object there is someone's file, not our interrupted copy)."""
    reserved = Q(promoting_to=name) & RESERVED_NAMES
    taken = reserved | Q(moved_to_location=name) if any_record else reserved
    if AsyncTempFile.objects.using(using).exclude(pk=temp_file.pk).filter(taken).exists():
        return True
    return any_record and field.model._base_manager.using(using).filter(**{field.attname: name}).exists()


def _alternative_name(storage, wanted: str) -> str:
    directory, file_name = os.path.split(wanted)
    root, ext = os.path.splitext(file_name)
    return os.path.join(directory, storage.get_alternative_name(root, ext))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]
