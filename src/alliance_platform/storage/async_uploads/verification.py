"""Is this upload what it claims to be? One set of checks, used by Django forms and DRF alike.

A submitted temporary key is only accepted when its temp row exists for this field and was issued to the same
user (or anonymous session), the object exists, its size is within ``max_size``, its content (sniffed from the
first bytes, not the filename) satisfies ``file_restrictions``, and, for image fields, the server can read the
image's dimensions from its header. A rejected object is deleted with its row: it can never be used.

Verification holds the upload's claim (``claims``) while it reads, so cleanup cannot delete the object under it,
and it records what it checked: when (cleanup counts the upload's age from then, so the form that submitted it
can still save it) and the object's version, which promotion copies and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from io import BytesIO
import logging
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..auth import has_permission
from .claims import ClaimTimeout, claimed, finish
from .fields import AsyncFileField, AsyncImageField
from .input_data import AsyncFileInputData
from .requester import Requester
from .sniffing import SNIFF_LENGTH, sniff_content_type
from .storage.base import ObjectChanged, StoredObject
from .temp_files import AsyncTempFile

logger = logging.getLogger("alliance_platform.storage")

# Growing prefixes to read an image header from; JPEG metadata can push the size marker far into the file.
_IMAGE_HEADER_READS = (64 * 1024, 1024 * 1024, 8 * 1024 * 1024)

#: Why an upload was refused, by ``UploadRejected.code``. "Invalid upload received" is the text projects (and their
#: tests) already know for a key that is neither a new upload nor the record's own file.
MESSAGES: dict[str, Any] = {
    "no_requester": _(
        "This upload cannot be verified outside a web request: there is no user or session to check it against."
    ),
    "unknown_upload": _("This upload was not found or has expired. Please upload the file again."),
    "already_used": _("This upload has already been saved with another record. Please upload the file again."),
    "missing": _("The uploaded file was not found. Please upload it again."),
    "too_large": _("The file is too large (%(size)s). The maximum size is %(max_size)s."),
    "invalid_type": _("This type of file is not allowed. Allowed types: %(allowed)s."),
    "content_mismatch": _("The content of “%(name)s” is not %(expected)s (it looks like %(actual)s)."),
    "invalid_image": _("Upload a valid image. The file you uploaded was either not an image or a corrupted image."),
    "not_current": _(
        "Invalid upload received: this file does not belong to this record. Please upload the file again."
    ),
    "not_permitted": _("This upload was made for another record. Please upload the file again."),
    "changed": _("The file changed while it was being checked. Please upload it again."),
    "busy": _("This upload is being processed by another request. Please try again in a moment."),
}


class UploadRejected(Exception):
    """A submitted value failed verification. ``code`` selects the message; forms and DRF phrase it."""

    def __init__(self, code: str, **params: Any):
        super().__init__(MESSAGES[code] % params if params else MESSAGES[code])
        self.code = code
        self.params = params


@dataclass(frozen=True)
class VerificationContext:
    """What verification needs to know besides the value: who submits it, for which record."""

    requester: Requester | None
    instance: models.Model | None
    current_key: str | None


def verify_submission(
    field: AsyncFileField, data: AsyncFileInputData, context: VerificationContext
) -> AsyncFileInputData:
    """Return the value to assign (server-read name and dimensions), or raise ``UploadRejected``.

    ``data`` has passed ``input_data.validate_input`` (no client-reported error, a key that fits the field).
    """
    check_key(field, data.key, context.current_key)
    if data.key == context.current_key:
        return data
    return _verify_temporary(field, data.key, context)


def check_key(field: AsyncFileField, key: str, current_key: str | None) -> None:
    """The one rule for which keys a value may carry: a temporary key (a new upload, verified next) or the key the
    record already has (nothing changes). Any other key names some other object in the store, perhaps another
    record's file: accepting it would hand that file to this record, so it is refused and logged.
    """
    if field.storage.is_temporary_path(key) or key == current_key:
        return
    logger.warning(
        "Refused %r for %s.%s: it is neither a temporary upload key nor the record's current value %r. The "
        "submission may have been altered to refer to another record's file.",
        key,
        field.model.__name__ if hasattr(field, "model") else "?",
        field.name,
        current_key,
    )
    raise UploadRejected("not_current")


def _verify_temporary(field: AsyncFileField, key: str, context: VerificationContext) -> AsyncFileInputData:
    if context.requester is None:
        raise UploadRejected("no_requester")
    requester = context.requester
    try:
        with claimed(key) as temp_file:
            if temp_file is None or temp_file.field_id != field.async_field_id or not requester.may_submit(temp_file):
                raise UploadRejected("unknown_upload")
            _check_target(field, temp_file, context)
            if temp_file.moved_to_location:
                return _resubmitted(field, temp_file, context)
            instance = context.instance
            if temp_file.object_id and (instance is None or temp_file.object_id != str(instance.pk)):
                raise UploadRejected("already_used")  # claimed by a record whose save has not committed yet
            result, stored = _check_object(field, temp_file)
            adopted = (requester.owner_fields() or {}) if temp_file.planned_before_upgrade else {}
            finish(temp_file, verified_at=timezone.now(), verified_version=stored.version, **adopted)
            return result
    except ClaimTimeout:
        raise UploadRejected("busy") from None


def _check_target(field: AsyncFileField, temp_file: AsyncTempFile, context: VerificationContext) -> None:
    """A key planned for one record (or for a new one) goes to another only with the permission that one needs:
    planning checked ``perm_create`` or ``perm_update`` for the record named then, not for this one."""
    instance = context.instance
    existing = instance is not None and instance.pk is not None and not instance._state.adding
    target = str(instance.pk) if existing else ""
    if temp_file.planned_for == target:
        return
    user = context.requester.user if context.requester is not None else None
    perm = field.perm_update if existing else field.perm_create
    if not has_permission(user or AnonymousUser(), perm, instance if existing else None):
        raise UploadRejected("not_permitted")


def _check_object(field: AsyncFileField, temp_file: AsyncTempFile) -> tuple[AsyncFileInputData, StoredObject]:
    """Size, sniffed type and image header of the object, all read from one version of it."""
    storage = field.storage
    key = temp_file.key
    stored = storage.stat_object(key)
    if stored is None:
        raise UploadRejected("missing")
    max_bytes = field.max_size_bytes
    if max_bytes is not None and stored.size > max_bytes:
        _discard(field, temp_file)
        raise UploadRejected("too_large", size=filesizeformat(stored.size), max_size=filesizeformat(max_bytes))
    try:
        head = _read_head(storage, key, SNIFF_LENGTH, stored)
        sniffed = sniff_content_type(head)
        refusal = field.restrictions.refusal(temp_file.original_filename, sniffed)
        if refusal is not None:
            _discard(field, temp_file)
            raise UploadRejected(refusal.code, **refusal.params)
        result = AsyncFileInputData(key=key, name=temp_file.original_filename)
        if isinstance(field, AsyncImageField):
            dimensions = _read_image_dimensions(field, key, head, stored)
            if dimensions is None:
                _discard(field, temp_file)
                raise UploadRejected("invalid_image")
            result = replace(result, width=dimensions[0], height=dimensions[1])
    except FileNotFoundError:
        raise UploadRejected("missing") from None
    except ObjectChanged:
        raise UploadRejected("changed") from None
    return result, stored


def _resubmitted(field: AsyncFileField, temp_file: AsyncTempFile, context: VerificationContext) -> AsyncFileInputData:
    """A form submitted again after its upload was promoted: fine for the same record, never for another."""
    instance = context.instance
    if instance is None or instance.pk is None or temp_file.object_id != str(instance.pk):
        raise UploadRejected("already_used")
    if field.storage.stat_object(temp_file.moved_to_location) is None:
        raise UploadRejected("missing")
    return AsyncFileInputData(key=temp_file.moved_to_location, name=temp_file.original_filename)


def _read_head(storage, key: str, length: int, stored: StoredObject) -> bytes:
    # Only versioned objects are read pinned, so backends written before pinning existed keep working.
    return storage.read_head(key, length, version=stored.version) if stored.version else storage.read_head(key, length)


def _read_image_dimensions(
    field: AsyncFileField, key: str, head: bytes, stored: StoredObject
) -> tuple[int, int] | None:
    from PIL import Image

    for length in _IMAGE_HEADER_READS:
        data = head if length <= len(head) else _read_head(field.storage, key, length, stored)
        try:
            with Image.open(BytesIO(data)) as image:
                return image.size
        except Exception:  # noqa: BLE001 - Pillow raises many types for "not (enough of) an image"
            if len(data) >= stored.size:
                return None
    return None


def _discard(field: AsyncFileField, temp_file: AsyncTempFile) -> None:
    """A rejected upload is removed at once so it cannot be resubmitted or left behind."""
    try:
        field.storage.delete(temp_file.key)
    except Exception:
        logger.exception("Could not delete rejected upload %s", temp_file.key)
        return
    temp_file.delete()
