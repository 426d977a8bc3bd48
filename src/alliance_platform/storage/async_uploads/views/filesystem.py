"""The filesystem backend's own endpoints: receive an upload (PUT) and serve a download."""

from __future__ import annotations

from collections.abc import Callable
import os

from django.core import signing
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..keys import is_temporary_path
from ..registry import AsyncFieldRegistry, default_async_field_registry
from ..storage.filesystem import FileSystemAsyncUploadStorage, UploadIncomplete, UploadTooLarge, UploadVanished
from ..temp_files import AsyncTempFile
from .common import json_error


def _load_token(
    load: Callable[[str], dict[str, str]], request: HttpRequest, purpose: str
) -> dict[str, str] | HttpResponse:
    """The token's payload, or the 403 to answer: expired and forged tokens are told apart for the user's sake."""
    try:
        return load(request.GET.get("token", ""))
    except signing.SignatureExpired:
        return json_error(403, detail=f"This {purpose} URL has expired.")
    except signing.BadSignature:
        return json_error(403, detail=f"This {purpose} URL is not valid.")


def _storage_for(registry: AsyncFieldRegistry, payload: dict[str, str]) -> FileSystemAsyncUploadStorage | None:
    field = registry.get_field(payload["f"])
    if field is None or not isinstance(field.storage, FileSystemAsyncUploadStorage):
        return None
    return field.storage


# The signed token in the URL is the credential (like a presigned S3 URL); a CSRF token would add nothing.
@method_decorator(csrf_exempt, name="dispatch")
class FileSystemUploadView(View):
    registry: AsyncFieldRegistry = default_async_field_registry
    http_method_names = ["put"]

    def put(self, request: HttpRequest) -> HttpResponse:
        payload = _load_token(FileSystemAsyncUploadStorage.load_upload_token, request, "upload")
        if isinstance(payload, HttpResponse):
            return payload
        key = payload["k"]
        field = self.registry.get_field(payload["f"])
        storage = _storage_for(self.registry, payload)
        if field is None or storage is None or not is_temporary_path(key):
            return json_error(403, detail="This upload URL is not valid.")
        if not AsyncTempFile.objects.filter(key=key, field_id=payload["f"], moved_to_location="").exists():
            # Promoted, rejected or cleaned up: a replayed URL must not bring the object back.
            return json_error(409, detail="This upload is no longer accepted.")

        try:
            length = int(request.META.get("CONTENT_LENGTH") or "")
        except ValueError:
            return json_error(411, detail="A Content-Length header is required.")
        if length < 0:
            return json_error(400, detail="Invalid Content-Length.")
        max_bytes = field.max_size_bytes
        if max_bytes is not None and length > max_bytes:
            return _too_large()
        try:
            received = storage.receive_upload(key, request, length, max_bytes)
        except FileExistsError:
            return json_error(409, detail="This upload has already been received.")
        except UploadTooLarge:
            return _too_large()
        except UploadIncomplete:
            return json_error(400, detail="The upload was incomplete.")
        except UploadVanished:
            return json_error(
                409, detail="The upload was removed while it was being received. Please upload the file again."
            )
        except SuspiciousFileOperation:
            return json_error(403, detail="This upload URL is not valid.")
        return HttpResponse(status=201, headers={"X-Upload-Size": str(received)})


def _too_large() -> HttpResponse:
    response = json_error(413, detail="The file is larger than this field allows.")
    # The rest of the body is not read; tell the client the connection will not be reused.
    response["Connection"] = "close"
    return response


class FileSystemDownloadView(View):
    registry: AsyncFieldRegistry = default_async_field_registry
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        payload = _load_token(FileSystemAsyncUploadStorage.load_download_token, request, "download")
        if isinstance(payload, HttpResponse):
            return payload
        storage = _storage_for(self.registry, payload)
        if storage is None:
            return json_error(403, detail="This download URL is not valid.")
        try:
            handle = storage.open(payload["k"], "rb")
        except (FileNotFoundError, IsADirectoryError, SuspiciousFileOperation):
            return json_error(404, detail="File not found.")
        filename = str(payload.get("n") or os.path.basename(payload["k"]))
        response = FileResponse(handle, as_attachment=True, filename=filename)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response
