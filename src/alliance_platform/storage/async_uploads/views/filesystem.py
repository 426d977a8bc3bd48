"""The filesystem backend's own endpoints: receive an upload (PUT) and serve a download."""

from __future__ import annotations

from collections.abc import Callable
import os
from typing import TypeVar

from django.core import signing
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..registry import AsyncFieldRegistry, default_async_field_registry
from ..storage.filesystem import FileSystemAsyncUploadStorage, UploadIncomplete, UploadTooLarge, UploadVanished
from ..temp_files import AsyncTempFile
from .common import json_error

Token = TypeVar("Token")


def _load_token(
    load: Callable[[str], Token], request: HttpRequest, *, expired: str, invalid: str
) -> Token | HttpResponse:
    """The token's payload, or the 403 to answer: expired and forged tokens are told apart for the user's sake."""
    try:
        return load(request.GET.get("token", ""))
    except signing.SignatureExpired:
        return json_error(403, detail=expired)
    except signing.BadSignature:
        return json_error(403, detail=invalid)


def _storage_for(registry: AsyncFieldRegistry, field_id: str) -> FileSystemAsyncUploadStorage | None:
    field = registry.get_field(field_id)
    if field is None or not isinstance(field.storage, FileSystemAsyncUploadStorage):
        return None
    return field.storage


# The signed token in the URL is the credential (like a presigned S3 URL); a CSRF token would add nothing.
@method_decorator(csrf_exempt, name="dispatch")
class FileSystemUploadView(View):
    registry: AsyncFieldRegistry = default_async_field_registry
    http_method_names = ["put"]

    def put(self, request: HttpRequest) -> HttpResponse:
        invalid = gettext("This upload URL is not valid.")
        token = _load_token(
            FileSystemAsyncUploadStorage.load_upload_token,
            request,
            expired=gettext("This upload URL has expired."),
            invalid=invalid,
        )
        if isinstance(token, HttpResponse):
            return token
        key = token.key
        field = self.registry.get_field(token.field_id)
        storage = _storage_for(self.registry, token.field_id)
        if field is None or storage is None or not storage.is_temporary_path(key):
            return json_error(403, detail=invalid)
        if not AsyncTempFile.objects.filter(key=key, field_id=token.field_id, moved_to_location="").exists():
            # Promoted, rejected or cleaned up: a replayed URL must not bring the object back.
            return json_error(409, detail=gettext("This upload is no longer accepted."))

        try:
            length = int(request.META.get("CONTENT_LENGTH") or "")
        except ValueError:
            return json_error(411, detail=gettext("A Content-Length header is required."))
        if length < 0:
            return json_error(400, detail=gettext("Invalid Content-Length."))
        max_bytes = field.max_size_bytes
        if max_bytes is not None and length > max_bytes:
            return _too_large()
        try:
            received = storage.receive_upload(key, request, length, max_bytes)
        except FileExistsError:
            return json_error(409, detail=gettext("This upload has already been received."))
        except UploadTooLarge:
            return _too_large()
        except UploadIncomplete:
            return json_error(400, detail=gettext("The upload was incomplete."))
        except UploadVanished:
            # Cleanup (or a person) removed the partial file or its directory: what was received is gone, and
            # nothing was stored at the key. The client may plan again; the rest of the body may not be read.
            response = json_error(
                409, detail=gettext("The upload was removed while it was being received. Please upload the file again.")
            )
            response["Connection"] = "close"
            return response
        except SuspiciousFileOperation:
            return json_error(403, detail=invalid)
        return HttpResponse(status=201, headers={"X-Upload-Size": str(received)})


def _too_large() -> HttpResponse:
    response = json_error(413, detail=gettext("The file is larger than this field allows."))
    # The rest of the body is not read; tell the client the connection will not be reused.
    response["Connection"] = "close"
    return response


class FileSystemDownloadView(View):
    registry: AsyncFieldRegistry = default_async_field_registry
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        invalid = gettext("This download URL is not valid.")
        token = _load_token(
            FileSystemAsyncUploadStorage.load_download_token,
            request,
            expired=gettext("This download URL has expired."),
            invalid=invalid,
        )
        if isinstance(token, HttpResponse):
            return token
        storage = _storage_for(self.registry, token.field_id)
        if storage is None:
            return json_error(403, detail=invalid)
        try:
            handle = storage.open(token.key, "rb")
        except (FileNotFoundError, IsADirectoryError, SuspiciousFileOperation):
            return json_error(404, detail=gettext("File not found."))
        filename = token.filename or os.path.basename(token.key)
        response = FileResponse(handle, as_attachment=True, filename=filename)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response


#: The names the filesystem endpoints are documented under elsewhere; the same classes, so ``issubclass`` checks
#: and URL patterns built from either name behave the same.
FileSystemAsyncStorageUploadView = FileSystemUploadView
FileSystemAsyncStorageDownloadView = FileSystemDownloadView
