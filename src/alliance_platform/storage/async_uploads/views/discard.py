"""``DiscardUploadView``: the owner of a pending upload takes it back (the widget's Cancel and Remove).

Without it an upload that no form will submit stays recorded until cleanup, up to two days later, and counts
against its owner's ``MAX_PENDING_UPLOADS`` all that time: a user who picks the wrong file a few dozen times is
refused new uploads. Discarding removes the object (and aborts a multipart upload still in progress) and the
temp row, at once.

Only an upload that is still pending can go: one a record has claimed or that was promoted belongs to that record
now (409), so a Remove clicked after the form was saved can never take a record's file away. Uploads of other
users, of other fields and unknown keys all answer 404, so the endpoint tells nobody whether someone else's key
exists. The work happens under the upload's claim (``claims.claimed``), so it cannot interleave with a submit
verifying the upload, its promotion or cleanup; the state is checked again on the row the claim yields.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext, gettext_lazy
from django.views import View

from ..claims import ClaimTimeout, claimed
from ..registry import AsyncFieldRegistry, default_async_field_registry
from ..requester import Requester
from ..storage.base import AsyncUploadStorage
from ..temp_files import AsyncTempFile
from ..text import has_control_characters
from .authentication import ApiClientAuthenticationMixin
from .common import json_error
from .fetch_metadata import RefuseCrossSiteMixin

logger = logging.getLogger("alliance_platform.storage")

_KEY_MAX_LENGTH = AsyncTempFile._meta.get_field("key").max_length
_FIELD_ID_MAX_LENGTH = AsyncTempFile._meta.get_field("field_id").max_length


def _no_control_characters(value: str) -> None:
    # Such a value names no upload, and NUL in particular breaks some databases' queries: refuse it as input.
    if has_control_characters(value):
        raise forms.ValidationError(gettext_lazy("Control characters are not allowed."), code="control_characters")


class DiscardRequestForm(forms.Form):
    """The request parameters: the documented camelCase ``fieldId``, or ``field_id``."""

    key = forms.CharField(max_length=_KEY_MAX_LENGTH, strip=False, validators=[_no_control_characters])
    fieldId = forms.CharField(max_length=_FIELD_ID_MAX_LENGTH, strip=False, validators=[_no_control_characters])

    ALIASES = {"field_id": "fieldId"}

    def __init__(self, data: Any):
        normalised = {key: value for key, value in data.items()}
        for alias, name in self.ALIASES.items():
            if alias in normalised and name not in normalised:
                normalised[name] = normalised.pop(alias)
        super().__init__(normalised)


def _is_pending(row: AsyncTempFile) -> bool:
    """Neither claimed by a record, nor promoted, nor rejected by promotion (kept for a person to look at)."""
    return row.object_id == "" and row.moved_to_location == "" and row.error == ""


class DiscardUploadView(RefuseCrossSiteMixin, ApiClientAuthenticationMixin, View):
    """POST ``key`` and ``fieldId``: 204 once discarded; 400, 403, 404, 409 or 503 with a JSON error otherwise."""

    registry: AsyncFieldRegistry = default_async_field_registry
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = DiscardRequestForm(request.POST)
        if not form.is_valid():
            return json_error(400, {name: list(messages) for name, messages in form.errors.items()})
        key, field_id = form.cleaned_data["key"], form.cleaned_data["fieldId"]
        field = self.registry.get_field(field_id)
        requester = Requester.from_request(request)
        if field is None or requester is None or not field.storage.is_temporary_path(key):
            return _not_found()

        def belongs(row: AsyncTempFile | None) -> bool:
            return row is not None and row.field_id == field_id and requester.owns(row)

        # Answered without waiting for the claim when the row alone already settles it.
        row = AsyncTempFile.objects.filter(key=key).first()
        if not belongs(row):
            return _not_found()
        if not _is_pending(row):
            return _not_pending()
        try:
            with claimed(key) as row:
                # Read afresh under the claim: a submit or cleanup may have acted since the look above.
                if not belongs(row):
                    return _not_found()
                if not _is_pending(row):
                    return _not_pending()
                if not _remove_stored(field.storage, row):
                    return json_error(503, detail=gettext("The upload could not be discarded now. Try again later."))
                AsyncTempFile.objects.filter(pk=row.pk).delete()
        except ClaimTimeout:
            return json_error(409, detail=gettext("This upload is being processed. Try again later."))
        return HttpResponse(status=204)


def _remove_stored(storage: AsyncUploadStorage, row: AsyncTempFile) -> bool:
    """Abort the upload still arriving (so no part completes into an object afterwards), then delete the object.

    A storage failure keeps the row, so that cleanup still finds the object later; it is reported as ``False``.
    """
    try:
        if row.upload_id and storage.supports_multipart:
            storage.abort_multipart_upload(row.key, row.upload_id)
        storage.delete(row.key)
    except Exception as exc:
        logger.warning("Could not discard temporary upload %s: %s", row.key, exc)
        return False
    return True


def _not_found() -> JsonResponse:
    return json_error(404, detail=gettext("No such upload is waiting to be submitted."))


def _not_pending() -> JsonResponse:
    return json_error(409, detail=gettext("This upload has already been submitted and can no longer be discarded."))
