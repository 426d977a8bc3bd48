"""Library settings, read from ``settings.ALLIANCE_PLATFORM["STORAGE"]`` each time they are used.

Reading on every access (rather than caching at import) is what lets ``override_settings`` work in tests and
keeps the library free of import-time side effects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from django.conf import settings as django_settings
from django.db import models
from django.http import HttpRequest
from django.utils.module_loading import import_string


class AlliancePlatformStorageSettingsType(TypedDict, total=False):
    """The keys ``settings.ALLIANCE_PLATFORM["STORAGE"]`` may hold, for type checkers; every key is optional.

    A project declares its whole ``ALLIANCE_PLATFORM`` dict with a ``TypedDict`` whose ``STORAGE`` item is this
    type, so that a misspelt key or a value of the wrong type is caught before the project runs. ``DEFAULTS``
    below gives the value used for a key that is left out.
    """

    #: Seconds an upload plan (signed URL) stays valid. Default 3600.
    UPLOAD_URL_EXPIRY: int | None
    #: Seconds a download redirect URL stays valid. Default 3600.
    DOWNLOAD_URL_EXPIRY: int | None
    #: Callable, or its dotted path, ``(model, action, is_global) -> str`` naming the permission for an action
    #: ("create", "update", "detail"). Default: alliance-platform-core's ``resolve_perm_name`` when that package is
    #: installed, else Django's add/change/view permissions.
    RESOLVE_PERM_NAME: str | Callable[[type[models.Model], str, bool], str]
    #: Uploads one user (or anonymous session) may have planned and not yet submitted; ``None``: no cap. Default 50.
    MAX_PENDING_UPLOADS: int | None
    #: Bytes read from the request per write when the filesystem backend receives an upload. Default 1 MiB.
    FILESYSTEM_UPLOAD_CHUNK_SIZE: int
    #: Rows the cleanup command handles per batch. Default 1000.
    CLEANUP_BATCH_SIZE: int
    #: Files larger than this many bytes go to S3 as a multipart upload. Default 64 MiB.
    S3_MULTIPART_THRESHOLD: int
    #: Bytes per S3 part (at least 5 MiB; raised so that any file fits in 10,000 parts). Default 16 MiB.
    S3_MULTIPART_PART_SIZE: int
    #: Files larger than this many bytes go to Azure Blob Storage as a block list. Default 64 MiB.
    AZURE_BLOCK_THRESHOLD: int
    #: Bytes per Azure block (at least 1 MiB; raised so that any file fits in 50,000 blocks). Default 16 MiB.
    AZURE_BLOCK_SIZE: int
    #: Seconds promotion waits for Azure's server-side copy before recording an error. Default 300.
    AZURE_COPY_TIMEOUT: int
    #: Seconds a multipart (or block list) upload may take from plan to completion. Default 24 hours.
    MULTIPART_UPLOAD_EXPIRY: int
    #: Seconds an actor may hold an upload's claim before another may take it over. Default 900.
    CLAIM_TIMEOUT: int
    #: Seconds verification and promotion wait for another actor to finish with an upload. Default 30.
    CLAIM_WAIT: int
    #: Origins whose pages upload straight to cloud storage (for ``manage.py async_uploads_cors``). Default ``None``.
    CORS_ORIGINS: list[str] | None
    #: Callable, or its dotted path, ``(request) -> user | None`` recognising API clients that send a token instead
    #: of a session cookie. Default ``None``: sessions only.
    AUTHENTICATE_REQUEST: str | Callable[[HttpRequest], Any] | None
    #: Where promotion (and the scan before it) runs: ``"request"``, after the saving transaction commits, or
    #: ``"task"``, as a task of Django's Tasks framework. Default ``"request"``.
    PROMOTION: str
    #: The task backend alias (``settings.TASKS``) the library's tasks are enqueued on. Default ``"default"``.
    TASK_BACKEND: str
    #: The queue the library's tasks are enqueued on. Default ``"default"``.
    TASK_QUEUE: str
    #: Attempts a promotion task makes before it leaves the failure on the temp row for a person. Default 5.
    PROMOTION_ATTEMPTS: int
    #: Seconds before the first retry of a failed promotion task; doubled for each further one. Default 30.
    PROMOTION_RETRY_DELAY: int
    #: Callable, or its dotted path, that scans an upload before it is promoted (see ``async_uploads.scanning``).
    #: Default ``None``: no scan.
    SCANNER: str | Callable[..., Any] | None
    #: Where an infected upload goes: a key prefix it is moved under, or ``None`` to delete it. Default ``None``.
    QUARANTINE_PREFIX: str | None
    #: Shown (and sent as the 409 response) when a file not yet scanned clean is downloaded. Default: a
    #: translated "This file is being checked for viruses; try again in a moment."
    UNSCANNED_DOWNLOAD_MESSAGE: str | None
    #: ``clamd``'s address for the ClamAV scanner: ``unix:///path/to/clamd.sock`` or ``tcp://host:port``.
    CLAMD_ADDRESS: str
    #: Seconds the ClamAV scanner waits for ``clamd`` to answer. Default 120.
    CLAMD_TIMEOUT: float
    #: Delete a field's previous file once a change that replaced or removed it is committed (unless another
    #: record still holds it). A field's ``delete_replaced`` argument overrides it. Default ``False``.
    DELETE_REPLACED_FILES: bool


DEFAULTS: dict[str, Any] = {
    # Seconds an upload plan (signed URL) stays valid.
    "UPLOAD_URL_EXPIRY": 3600,
    # Seconds a download redirect URL stays valid.
    "DOWNLOAD_URL_EXPIRY": 3600,
    # Callable (or dotted path) ``(model, action, is_global) -> str`` giving the permission for an action; the
    # default follows alliance-platform-core's naming when that package is installed (see ``auth``).
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
    # "request": promote after the saving transaction commits, in the request (no worker needed). "task": enqueue
    # the promotion (and the scan before it) through Django's Tasks framework; a worker runs it.
    "PROMOTION": "request",
    # The alias in settings.TASKS and the queue the library's tasks go to.
    "TASK_BACKEND": "default",
    "TASK_QUEUE": "default",
    # A failing promotion task is tried this many times in all, the pause doubling from PROMOTION_RETRY_DELAY.
    "PROMOTION_ATTEMPTS": 5,
    "PROMOTION_RETRY_DELAY": 30,
    # Callable (or dotted path) scanning each upload before promotion; None: uploads are not scanned.
    "SCANNER": None,
    # Key prefix infected uploads are moved under; None: they are deleted.
    "QUARANTINE_PREFIX": None,
    # The message a download of a file not yet scanned clean gets; None: the library's translated one.
    "UNSCANNED_DOWNLOAD_MESSAGE": None,
    # Where the ClamAV scanner finds clamd, and how long it waits for an answer.
    "CLAMD_ADDRESS": "unix:///run/clamav/clamd.ctl",
    "CLAMD_TIMEOUT": 120,
    # Delete a field's previous file once a change replacing or removing it is committed (fields may override).
    "DELETE_REPLACED_FILES": False,
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

    def scanner_function(self):
        value = self.SCANNER
        return import_string(value) if isinstance(value, str) else value

    @property
    def promotes_in_tasks(self) -> bool:
        return self.PROMOTION == "task"


storage_settings = StorageSettings()
