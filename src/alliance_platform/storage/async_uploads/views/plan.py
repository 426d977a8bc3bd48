"""``GenerateUploadUrlView``: step 3 of the flow. Check permission and limits, record the upload, return the plan."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import SuspiciousFileOperation
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext
from django.views import View

from ...auth import has_permission
from ...settings import storage_settings
from .. import signals, uploader_cookie
from ..planned_rows import insert_planned_upload
from ..registry import AsyncFieldRegistry, default_async_field_registry
from ..requester import Requester
from ..temp_files import AsyncTempFile
from .authentication import ApiClientAuthenticationMixin
from .backend_calls import as_upload_plan, call_backend, endpoint_urls
from .common import InstanceLookupError, get_instance, json_error
from .fetch_metadata import RefuseCrossSiteMixin
from .plan_request import clean_plan_request

logger = logging.getLogger("alliance_platform.storage")


def _contract_arguments(params: dict[str, Any], content_type: str | None, max_bytes: int | None) -> dict[str, Any]:
    """The keyword arguments every backend of the documented contract takes, as that contract fills them.

    ``fields`` are the client's ``params`` with the declared content type (the one the restrictions checked: a
    ``Content-Type`` in ``params`` is dropped, never signed in its place); ``conditions`` are S3 POST policy
    conditions for the field's size limit and the type. (No ``expire``: a backend signs for
    ``UPLOAD_URL_EXPIRY`` unless told otherwise, as the reference's view left it.) Built-in backends sign
    neither: they build their policy from the declared type, the field's limit and their own settings, so
    ``params`` reach custom backends only.
    """
    fields = {name: value for name, value in params.items() if name.lower() != "content-type"}
    if content_type:
        fields["Content-Type"] = content_type
    conditions: list[Any] = []
    if max_bytes is not None:
        conditions.append(["content-length-range", 0, max_bytes])
    # Any type matches: the signed key alone restricts what can be uploaded, and the upload is checked later.
    conditions.append(["starts-with", "$Content-Type", ""])
    return {"fields": fields or None, "conditions": conditions}


class GenerateUploadUrlView(RefuseCrossSiteMixin, ApiClientAuthenticationMixin, View):
    """Answer ``{"uploadUrl": {...}, "key": ...}`` or a 400/403/429 JSON error. GET and POST take the same parameters."""

    registry: AsyncFieldRegistry = default_async_field_registry
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> JsonResponse:
        return self.plan(request, request.GET)

    def post(self, request: HttpRequest) -> JsonResponse:
        return self.plan(request, request.POST)

    def plan(self, request: HttpRequest, data: Any) -> JsonResponse:
        values, errors = clean_plan_request(data)
        if errors:
            return json_error(400, errors)
        field = self.registry.get_field(values["fieldId"])
        if field is None:
            return json_error(400, {"fieldId": [gettext("Unknown fieldId")]})

        instance = None
        if values["instanceId"]:
            try:
                instance = get_instance(field.model, values["instanceId"])
            except InstanceLookupError:
                return json_error(400, {"instanceId": [gettext("Unknown instanceId")]})
        perm = field.perm_update if instance is not None else field.perm_create
        if not has_permission(request.user, perm, instance):
            return json_error(403, detail=gettext("You do not have permission to upload this file."))

        filename = values["filename"]
        if not field.restrictions.allows_declared(filename, values["contentType"] or None):
            allowed = field.restrictions.describe()
            message = gettext("This type of file is not allowed. Allowed types: %(allowed)s.") % {"allowed": allowed}
            return json_error(400, {"filename": [message]})
        max_bytes = field.max_size_bytes
        if max_bytes is not None and values["size"] is not None and values["size"] > max_bytes:
            message = gettext("The file is too large. The maximum size is %(max_bytes)d bytes.") % {
                "max_bytes": max_bytes
            }
            return json_error(400, {"size": [message]})

        requester = Requester.from_request(request)
        issued: list[str] = []  # a new anonymous uploader token, for the response's cookie
        owner = requester.owner_fields(issue_token=issued.append)
        if owner is None:
            return json_error(403, detail=gettext("Uploading needs a logged-in user or a session."))
        storage = field.storage
        try:
            key = storage.generate_temporary_path(filename, max_length=field.max_length)
        except SuspiciousFileOperation:
            return json_error(400, {"filename": [gettext("The filename is too long for this field.")]})
        upload_url = as_upload_plan(
            call_backend(
                storage.generate_upload_url,
                key,
                values["fieldId"],
                contract=_contract_arguments(values["params"], values["contentType"] or None, max_bytes),
                extras={
                    "max_size": max_bytes,
                    "content_type": values["contentType"] or None,
                    "size": values["size"],
                    "endpoints": endpoint_urls(self.registry, storage),
                },
            ),
            storage,
        )
        temp_file = AsyncTempFile(
            key=key,
            original_filename=filename,
            field_id=field.async_field_id,
            **owner,
            planned_for="" if instance is None else str(instance.pk),
            declared_size=values["size"],
            content_type=values["contentType"],
            upload_id=upload_url.get("multipart", {}).get("uploadId", ""),
        )
        # The cap is checked by the INSERT itself (one statement, see ``planned_rows``), so the URL is signed before
        # the cap is known. A refused plan's URL is never sent, and a key with no row cannot be submitted; a
        # multipart upload the backend already started for it is aborted at once.
        if not insert_planned_upload(temp_file, requester, storage_settings.MAX_PENDING_UPLOADS):
            if temp_file.upload_id and storage.supports_multipart:
                try:
                    storage.abort_multipart_upload(key, temp_file.upload_id)
                except Exception:  # cleanup's sweep aborts it later; the answer is the 429 either way
                    logger.warning("Could not abort the multipart upload of refused plan %s", key, exc_info=True)
            detail = gettext("Too many uploads are waiting to be submitted. Save or discard some first.")
            return json_error(429, detail=detail)
        signals.upload_planned.send(sender=AsyncTempFile, temp_file=temp_file, field=field, request=request)
        response = JsonResponse({"uploadUrl": upload_url, "key": key})
        if issued:
            uploader_cookie.set_token(response, issued[0])
        return response
