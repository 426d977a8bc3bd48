"""Library settings, read from ``settings.ALLIANCE_PLATFORM["STORAGE"]`` each time they are used.

Reading on every access (rather than caching at import) is what lets ``override_settings`` work in tests and
keeps the library free of import-time side effects.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # Seconds an upload plan (signed URL) stays valid.
    "UPLOAD_URL_EXPIRY": 3600,
    # Seconds a download redirect URL stays valid.
    "DOWNLOAD_URL_EXPIRY": 3600,
    # Callable (or dotted path) ``(model, action, is_global) -> str`` giving the permission for an action.
    "RESOLVE_PERM_NAME": "alliance_platform.storage.auth.default_resolve_perm_name",
    # How many uploads one user (or anonymous session) may have planned but not yet submitted. ``None``: no cap.
    "MAX_PENDING_UPLOADS": 50,
    # Bytes read from the request per write when the filesystem backend receives an upload.
    "FILESYSTEM_UPLOAD_CHUNK_SIZE": 1024 * 1024,
    # Rows the cleanup command handles per batch.
    "CLEANUP_BATCH_SIZE": 1000,
    # Files larger than this many bytes are uploaded to S3 in parts (multipart upload), in parallel and resumable.
    "S3_MULTIPART_THRESHOLD": 64 * 1024 * 1024,
    # Bytes per part; raised automatically so that any file fits in S3's 10,000 parts. S3's minimum is 5 MiB.
    "S3_MULTIPART_PART_SIZE": 16 * 1024 * 1024,
    # Files larger than this many bytes are uploaded to Azure Blob Storage as a block list (Put Block in parallel,
    # then Put Block List), resumable; smaller ones in one Put Blob.
    "AZURE_BLOCK_THRESHOLD": 64 * 1024 * 1024,
    # Bytes per block; at least 1 MiB, raised automatically so that any file fits in Azure's 50,000 blocks.
    "AZURE_BLOCK_SIZE": 16 * 1024 * 1024,
    # Seconds promotion waits for Azure's server-side copy to finish before it gives up (and records the error).
    "AZURE_COPY_TIMEOUT": 300,
    # Seconds a multipart upload may take from plan to completion (its part URLs are signed on demand and stay
    # short-lived, each valid for UPLOAD_URL_EXPIRY).
    "MULTIPART_UPLOAD_EXPIRY": 24 * 3600,
    # Seconds an actor (a submit's verification, a promotion, cleanup) may hold an upload's claim before another
    # may take it over: longer than any promotion copy takes. A process that dies holding one blocks only this long.
    "CLAIM_TIMEOUT": 900,
    # Seconds verification and promotion wait for another actor to finish with an upload before giving up.
    "CLAIM_WAIT": 30,
    # Origins (``https://www.example.com``) whose pages upload straight to cloud storage: what
    # ``manage.py async_uploads_cors`` prints or applies when no ``--origin`` is given. ``None``: not configured.
    "CORS_ORIGINS": None,
    # Callable (or dotted path) ``(request) -> user | None`` that the upload-plan and download endpoints call when
    # Django's own authentication found no user: how API clients that send a token instead of a session cookie are
    # recognised. ``"alliance_platform.storage.async_uploads.rest_framework.authenticate"`` uses DRF's
    # DEFAULT_AUTHENTICATION_CLASSES. ``None``: sessions only.
    "AUTHENTICATE_REQUEST": None,
}


class StorageSettings:
    """Attribute access to the library's settings with their defaults."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown alliance_platform.storage setting: {name}")
        configured = getattr(django_settings, "ALLIANCE_PLATFORM", None) or {}
        return (configured.get("STORAGE") or {}).get(name, DEFAULTS[name])

    def resolve_perm_name_function(self):
        value = self.RESOLVE_PERM_NAME
        return import_string(value) if isinstance(value, str) else value

    def authenticate_request_function(self):
        value = self.AUTHENTICATE_REQUEST
        return import_string(value) if isinstance(value, str) else value


storage_settings = StorageSettings()
