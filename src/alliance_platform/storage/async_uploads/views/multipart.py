"""Endpoints of a multipart upload in progress: sign part URLs, list stored parts, complete, abort.

Each takes the ``token`` from the upload's plan. The token names one upload of one temporary key; the temp row
must still be waiting for it (not promoted, rejected or cleaned up).
"""

from __future__ import annotations

import json
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .. import multipart
from ..registry import AsyncFieldRegistry, default_async_field_registry
from ..storage.base import InvalidUploadParts
from ..temp_files import AsyncTempFile
from ..text import has_control_characters
from .backend_calls import call_backend
from .common import json_error

MAX_PARTS_PER_REQUEST = 50


class MultipartRequestError(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


class UploadInProgress:
    """What a valid token stands for."""

    def __init__(self, token: multipart.MultipartToken, field, temp_file: AsyncTempFile):
        self.key: str = token.key
        self.upload_id: str = token.upload_id
        self.part_size: int = token.part_size
        self.part_count: int = token.part_count
        self.field = field
        self.storage = field.storage
        self.temp_file = temp_file


# The token in the body is the credential (like a presigned URL); a CSRF token would add nothing.
@method_decorator(csrf_exempt, name="dispatch")
class MultipartView(View):
    registry: AsyncFieldRegistry = default_async_field_registry
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            upload = self.load_upload(request.POST.get("token", ""))
            return self.handle(request, upload)
        except MultipartRequestError as error:
            return error.response

    def load_upload(self, token: str) -> UploadInProgress:
        try:
            loaded = multipart.load_token(token)
        except signing.SignatureExpired:
            raise MultipartRequestError(json_error(403, detail=gettext("This upload has expired."))) from None
        except signing.BadSignature:
            invalid = json_error(403, detail=gettext("This upload token is not valid."))
            raise MultipartRequestError(invalid) from None
        field = self.registry.get_field(loaded.field_id)
        if field is None or not field.storage.supports_multipart:
            raise MultipartRequestError(json_error(403, detail=gettext("This upload token is not valid.")))
        temp_file = AsyncTempFile.objects.filter(
            key=loaded.key, field_id=loaded.field_id, upload_id=loaded.upload_id, moved_to_location=""
        ).first()
        if temp_file is None:
            raise MultipartRequestError(json_error(409, detail=gettext("This upload is no longer accepted.")))
        return UploadInProgress(loaded, field, temp_file)

    def handle(self, request: HttpRequest, upload: UploadInProgress) -> HttpResponse:
        raise NotImplementedError


def _parse_part_numbers(raw: str, part_count: int) -> list[int]:
    try:
        numbers = sorted({int(value) for value in raw.split(",") if value.strip()})
    except ValueError:
        raise MultipartRequestError(
            json_error(400, {"partNumbers": [gettext("Give part numbers as 1,2,3.")]})
        ) from None
    if not numbers or len(numbers) > MAX_PARTS_PER_REQUEST or numbers[0] < 1 or numbers[-1] > part_count:
        message = gettext("Give 1 to %(most)d part numbers between 1 and %(count)d.") % {
            "most": MAX_PARTS_PER_REQUEST,
            "count": part_count,
        }
        raise MultipartRequestError(json_error(400, {"partNumbers": [message]}))
    return numbers


class SignPartsView(MultipartView):
    def handle(self, request: HttpRequest, upload: UploadInProgress) -> HttpResponse:
        numbers = _parse_part_numbers(request.POST.get("partNumbers", ""), upload.part_count)
        # A backend that signs part lengths (S3 in PUT mode) names ``part_lengths``; others are called as before.
        extras = {}
        declared = upload.temp_file.declared_size
        if declared is not None:
            extras["part_lengths"] = multipart.part_lengths(declared, upload.part_size, numbers)
        parts = call_backend(
            upload.storage.sign_upload_parts, upload.key, upload.upload_id, numbers, contract={}, extras=extras
        )
        return JsonResponse({"parts": parts})


class ListPartsView(MultipartView):
    def handle(self, request: HttpRequest, upload: UploadInProgress) -> HttpResponse:
        parts = upload.storage.list_upload_parts(upload.key, upload.upload_id)
        if parts is None:
            return json_error(409, detail=gettext("This upload is no longer accepted."))
        return JsonResponse({"parts": parts})


def _parse_completed_parts(raw: str, part_count: int) -> list[dict[str, Any]]:
    """The parts a completion names, checked to be every part of the plan (1 to ``part_count``) exactly once.

    S3 and Azure assemble whatever parts they are given, in that order: a completion that leaves one out would
    store a file shorter than planned, with a gap nobody sees until the file is opened. So the plan's parts are
    required, and a part named twice is refused rather than one of its ETags picked.
    """
    invalid = MultipartRequestError(
        json_error(400, {"parts": [gettext('Give the parts as a JSON list of {"partNumber": n, "etag": "..."}.')]})
    )
    try:
        parts = json.loads(raw)
    except (ValueError, RecursionError):
        raise invalid from None
    if not isinstance(parts, list) or not parts or len(parts) > part_count:
        raise invalid
    cleaned: dict[int, str] = {}
    for part in parts:
        if not isinstance(part, dict) or set(part) - {"partNumber", "etag", "size"}:
            raise invalid
        number, etag = part.get("partNumber"), part.get("etag")
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= part_count:
            raise invalid
        if not isinstance(etag, str) or not etag or len(etag) > 200 or has_control_characters(etag):
            raise invalid
        if number in cleaned:
            message = gettext("Part %(number)d is named more than once.") % {"number": number}
            raise MultipartRequestError(json_error(400, {"parts": [message]}))
        cleaned[number] = etag
    if sorted(cleaned) != list(range(1, part_count + 1)):
        message = gettext("Give every part of the plan, 1 to %(count)d.") % {"count": part_count}
        raise MultipartRequestError(json_error(400, {"parts": [message]}))
    return [{"partNumber": number, "etag": etag} for number, etag in sorted(cleaned.items())]


class CompleteView(MultipartView):
    """Assemble the object from every part of the plan, once the stored parts are what was planned.

    Each refusal comes before the object exists, so nothing usable is left behind; except for an upload over the
    field's limit (which is discarded), the client can upload the missing or short parts and complete again.
    """

    def handle(self, request: HttpRequest, upload: UploadInProgress) -> HttpResponse:
        parts = _parse_completed_parts(request.POST.get("parts", ""), upload.part_count)
        stored = upload.storage.list_upload_parts(upload.key, upload.upload_id)
        if stored is None:
            return json_error(409, detail=gettext("This upload is no longer accepted."))
        # By number and ETag: a part sent again may be listed once per upload of it (SeaweedFS keeps them all, and
        # assembles the one whose ETag is named), so only the named upload's size counts.
        sizes = {(part["partNumber"], self._etag_key(part["etag"])): part.get("size", 0) for part in stored}
        named = [(part["partNumber"], self._etag_key(part["etag"])) for part in parts]
        total = sum(sizes.get(part, 0) for part in named)
        max_bytes = upload.field.max_size_bytes
        if max_bytes is not None and total > max_bytes:
            # Checked before the object exists: an over-size upload never becomes one.
            upload.storage.abort_multipart_upload(upload.key, upload.upload_id)
            upload.temp_file.delete()
            return json_error(413, detail=gettext("The file is larger than this field allows."))
        unmatched = [number for number, etag in named if (number, etag) not in sizes]
        if unmatched:
            listed = {number for number, _etag in sizes}
            if all(number in listed for number in unmatched):
                message = gettext("These parts do not match the uploaded ones (check the ETags).")
            else:
                message = gettext("Some of these parts were never uploaded.")
            return json_error(400, {"parts": [message]})
        if getattr(upload.storage, "signs_part_lengths", False):
            short = [number for number, etag in named[:-1] if sizes[(number, etag)] != upload.part_size]
            if short:
                # Stores that need equal parts (R2) would refuse the completion with a less helpful error.
                message = gettext("Every part but the last must be %(size)d bytes long; these are not: %(parts)s.") % {
                    "size": upload.part_size,
                    "parts": ", ".join(str(number) for number in short),
                }
                return json_error(400, {"parts": [message]})
        declared = upload.temp_file.declared_size
        if declared is not None and total != declared:
            # Parts re-sent with other lengths: the file would not be the one planned (and checked) by its size.
            message = gettext("The parts add up to %(total)d bytes; the upload was planned as %(declared)d bytes.") % {
                "total": total,
                "declared": declared,
            }
            return json_error(400, {"parts": [message]})
        try:
            upload.storage.complete_multipart_upload(
                upload.key, upload.upload_id, parts, content_type=upload.temp_file.content_type or None
            )
        except InvalidUploadParts:
            message = gettext("These parts do not match the uploaded ones (check the ETags).")
            return json_error(400, {"parts": [message]})
        return JsonResponse({"key": upload.key})

    @staticmethod
    def _etag_key(etag: str) -> str:
        """An ETag as compared with a listed part's: S3 takes it with or without its quotes."""
        return etag.strip('"')


class AbortView(MultipartView):
    def handle(self, request: HttpRequest, upload: UploadInProgress) -> HttpResponse:
        upload.storage.abort_multipart_upload(upload.key, upload.upload_id)
        return HttpResponse(status=204)


def multipart_url_patterns(registry: AsyncFieldRegistry) -> list[URLPattern]:
    views = {"sign": SignPartsView, "list": ListPartsView, "complete": CompleteView, "abort": AbortView}
    return [
        path(f"multipart/{name}/", view.as_view(registry=registry), name=registry.url_name(f"multipart_{name}"))
        for name, view in views.items()
    ]
