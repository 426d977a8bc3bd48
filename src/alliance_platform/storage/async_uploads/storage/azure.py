"""``AzureAsyncUploadStorage``: the browser uploads straight to Azure Blob Storage.

Built on django-storages' ``AzureStorage``, so every ``AZURE_*`` setting (container, ``AZURE_LOCATION``, account
key, connection string, token credential...) applies as usual, and each can be passed to the constructor.

* Uploads use a SAS scoped to the one temporary blob, with the least permission that works and a short expiry: a
  create-only Put Blob for small files; for files above ``AZURE_BLOCK_THRESHOLD`` a block list (Put Block in
  parallel, committed by the server with Put Block List), which resumes by listing the uncommitted blocks.
* Azure cannot cap the size of a SAS upload: the declared size is checked when planning, the real size when the
  block list is committed and again at verification (blob properties and a ranged read, never the whole blob).
* Promotion is a server-side copy that is awaited: the record only moves once the copy has succeeded.
* What was verified is what is promoted: a block upload's write SAS can write the blob again until it expires,
  so verification records the ETag, and reads (``If-Match``) and the copy (``x-ms-source-if-match``) only accept
  that version.
* Nothing is overwritten unless asked: promotion picks a free name, or replaces the blob at the generated name when
  ``AZURE_OVERWRITE_FILES`` (off by default) or the field's ``allow_overwrite`` says so.
* Account keys and user delegation keys (a token credential such as a managed identity) can both sign.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
import contextlib
from datetime import UTC, datetime, timedelta
import io
import secrets
import time
from typing import IO, Any
from urllib.parse import quote

from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils.http import content_disposition_header

try:
    from azure.core import MatchConditions
    from azure.core.exceptions import (
        HttpResponseError,
        ResourceExistsError,
        ResourceModifiedError,
        ResourceNotFoundError,
    )
    from azure.storage.blob import (
        BlobBlock,
        BlobClient,
        BlobSasPermissions,
        ContentSettings,
        CorsRule,
        generate_blob_sas,
    )
    from storages.backends.azure_storage import AzureStorage
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImproperlyConfigured(
        "AzureAsyncUploadStorage needs django-storages with azure-storage-blob: "
        "pip install 'alliance-platform-storage[azure]'"
    ) from exc

from ...settings import storage_settings
from .. import multipart
from ..content_types import download_content_type, storable_content_type
from .base import (
    AsyncUploadStorage,
    GenerateUploadUrlResponse,
    InvalidUploadParts,
    ObjectChanged,
    StoredObject,
    StoredPart,
    UploadPart,
)
from .cloud import CloudAsyncUploadStorage

MIB = 1024 * 1024
MAX_BLOCKS = 50_000  # the most blocks one blob may have
MIN_BLOCK_SIZE = MIB  # not Azure's limit (it has none), but fewer, larger requests upload faster
MAX_PUT_BLOB_SIZE = 5000 * MIB  # the most one Put Blob takes: larger files always go up in blocks
_UPLOAD_ID_BYTES = 8  # 16 hex characters: every block id of an upload has the same length, as Azure requires

# How django-storages' content settings (AZURE_OBJECT_PARAMETERS) are sent as headers of a Put Blob.
_HEADER_FOR_CONTENT_SETTING = {
    "cache_control": "x-ms-blob-cache-control",
    "content_disposition": "x-ms-blob-content-disposition",
    "content_encoding": "x-ms-blob-content-encoding",
    "content_language": "x-ms-blob-content-language",
}
# S3-style download parameters (``download_params``) and the SAS response overrides they stand for, so a field
# keeps working when its storage moves between backends.
_SAS_OVERRIDE_FOR_S3_PARAMETER = {
    "ResponseCacheControl": "cache_control",
    "ResponseContentDisposition": "content_disposition",
    "ResponseContentEncoding": "content_encoding",
    "ResponseContentLanguage": "content_language",
    "ResponseContentType": "content_type",
}
_SAS_OVERRIDES = set(_SAS_OVERRIDE_FOR_S3_PARAMETER.values())

# Blob service CORS: what the widget sends and reads.
CORS_METHODS = ["PUT", "GET", "HEAD", "OPTIONS"]
CORS_ALLOWED_HEADERS = [
    "content-type",
    "content-length",
    "x-ms-blob-type",
    "x-ms-blob-content-type",
    *_HEADER_FOR_CONTENT_SETTING.values(),
    "x-ms-version",
    "x-ms-date",
    "x-ms-client-request-id",
    "x-ms-meta-*",
]
CORS_EXPOSED_HEADERS = ["etag", "content-length", "content-type", "x-ms-request-id", "x-ms-version"]
CORS_MAX_AGE = 3600
MAX_CORS_RULES = 5  # per storage account


class AzureCopyError(OSError):
    """A server-side copy failed, was aborted or did not finish in time (promotion records it and stays put)."""


def _pause(seconds: float) -> None:
    """Wait between copy status polls (a separate function so tests can count the waits instead of waiting)."""
    time.sleep(seconds)


def _block_name(upload_id: str, part_number: int) -> str:
    """A part's block id before base64, the form the SDK takes and returns (it encodes on the wire itself)."""
    return f"{upload_id}-{part_number:05d}"


def block_id(upload_id: str, part_number: int) -> str:
    """The block id of a part as on the wire: base64 of a fixed-length string, so that every id of the upload has
    the same length, as Azure requires."""
    return base64.b64encode(_block_name(upload_id, part_number).encode()).decode()


def _part_number(upload_id: str, name: str) -> int | None:
    """The part number a (decoded) block id of ``upload_id`` stands for; ``None`` for blocks of anything else."""
    prefix, _, number = name.rpartition("-")
    if prefix != upload_id or len(number) != 5 or not number.isdigit():
        return None
    return int(number)


class _DownloadReader(io.RawIOBase):
    """A file-like view of a blob download that fetches chunks as it is read.

    The SDK sends every chunk after the first with ``If-Match`` on the first response's ETag, so a blob rewritten
    while it is being read fails the next chunk: that is reported as ``ObjectChanged`` (and a blob deleted meanwhile
    as ``FileNotFoundError``), never as bytes of two versions.
    """

    def __init__(self, downloader, key: str):
        self._chunks = downloader.chunks()
        self._pending = b""
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
            except ResourceModifiedError as error:
                raise ObjectChanged(self._key) from error
            except ResourceNotFoundError as error:
                raise FileNotFoundError(self._key) from error
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _csv(value: str | list[str] | None) -> list[str]:
    if isinstance(value, list):
        return value
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class AzureAsyncUploadStorage(CloudAsyncUploadStorage, AzureStorage):
    provider = "azure"
    delete_batch_size = 256  # the most sub-requests one blob batch takes

    #: How long a user delegation key is asked for, and how long before it expires a new one is fetched.
    user_delegation_key_lifetime = timedelta(days=1)
    user_delegation_key_margin = timedelta(minutes=5)

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        self._delegation_key = None
        self._delegation_key_expiry: datetime | None = None

    @property
    def promotion_overwrites(self) -> bool:
        return bool(self.overwrite_files)

    def _stored_name(self, name: str) -> str:
        return self._get_valid_path(name)

    def _blob(self, name: str) -> BlobClient:
        return self.client.get_blob_client(self._stored_name(name))

    # Signing.

    def get_user_delegation_key(self, expiry: datetime):
        """A user delegation key valid beyond ``expiry``, or ``None`` when an account key signs instead.

        One key signs many SAS: it is fetched once and reused until a SAS would outlive it (or it is about to
        expire), which saves a round trip to Azure AD-backed storage on every upload plan and download.
        """
        if self.token_credential is None:
            return None
        if expiry.tzinfo is None:  # django-storages passes naive UTC
            expiry = expiry.replace(tzinfo=UTC)
        now = datetime.now(UTC)
        needed_until = max(expiry, now) + self.user_delegation_key_margin
        if (
            self._delegation_key is None
            or self._delegation_key_expiry is None
            or self._delegation_key_expiry < needed_until
        ):
            key_expiry = min(max(now + self.user_delegation_key_lifetime, needed_until), now + timedelta(days=7))
            self._delegation_key = self.service_client.get_user_delegation_key(
                key_start_time=now - self.user_delegation_key_margin, key_expiry_time=key_expiry
            )
            self._delegation_key_expiry = key_expiry
        return self._delegation_key

    def _signed_url(self, blob_name: str, permission: BlobSasPermissions, seconds: float, **overrides: Any) -> str:
        """The blob's URL with a SAS for ``permission`` on that blob only, expiring in ``seconds``."""
        expiry = datetime.now(UTC) + timedelta(seconds=seconds)
        if self.account_key:
            signing = {"account_key": self.account_key}
        elif self.token_credential is not None:
            signing = {"user_delegation_key": self.get_user_delegation_key(expiry)}
        else:
            raise ImproperlyConfigured(
                "AzureAsyncUploadStorage signs uploads and downloads: configure an account key "
                "(AZURE_ACCOUNT_KEY or a connection string with AccountKey) or a token credential (AZURE_TOKEN_CREDENTIAL)."
            )
        sas = generate_blob_sas(
            self.account_name,
            self.azure_container,
            blob_name,
            permission=permission,
            expiry=expiry,
            **signing,
            **overrides,
        )
        return f"{self.client.get_blob_client(blob_name).url}?{sas}"

    def _content_settings(self, blob_name: str, content_type: str | None) -> dict[str, Any]:
        """Blob properties every upload gets: the declared type plus ``AZURE_CACHE_CONTROL``/``AZURE_OBJECT_PARAMETERS``."""
        settings: dict[str, Any] = {}
        if self.cache_control:
            settings["cache_control"] = self.cache_control
        settings.update(self.get_object_parameters(blob_name))
        settings["content_type"] = storable_content_type(
            content_type or settings.get("content_type") or self.default_content_type
        )
        return settings

    @property
    def multipart_threshold(self) -> int:
        """``AZURE_BLOCK_THRESHOLD``, and never above what one Put Blob takes."""
        return min(int(storage_settings.AZURE_BLOCK_THRESHOLD), MAX_PUT_BLOB_SIZE)

    def multipart_part_size(self, size: int) -> int:
        return multipart.part_size_for(
            size, configured=storage_settings.AZURE_BLOCK_SIZE, minimum=MIN_BLOCK_SIZE, max_parts=MAX_BLOCKS
        )

    def create_multipart_upload(self, name: str, content_type: str | None) -> str:
        """Nothing to start on Azure: blocks are staged under the blob itself. The upload id only names this
        upload's blocks (and gives every block id of it the same length)."""
        return secrets.token_hex(_UPLOAD_ID_BYTES)

    def single_upload_plan(
        self, name: str, *, expire: int, max_size: int | None, content_type: str | None, size: int | None = None
    ) -> GenerateUploadUrlResponse:
        """A create-only SAS for one Put Blob with the blob's content settings as headers (Azure cannot cap the
        size of a SAS upload: ``max_size`` was checked when planning and is checked again at verification)."""
        blob_name = self._stored_name(name)
        settings = self._content_settings(blob_name, content_type)
        headers = {"x-ms-blob-type": "BlockBlob", "Content-Type": settings["content_type"]}
        headers.update(
            {
                header: str(settings[setting])
                for setting, header in _HEADER_FOR_CONTENT_SETTING.items()
                if settings.get(setting)
            }
        )
        # Create only: the URL can make this one blob once, and can neither read nor replace it.
        url = self._signed_url(blob_name, BlobSasPermissions(create=True), expire)
        return {"url": url, "fields": {}, "method": "PUT", "provider": self.provider, "headers": headers}

    def generate_download_url(self, key: str, field_id: str, *, filename: str | None = None, **kwargs: Any) -> str:
        filename = filename or key.rsplit("/", 1)[-1]
        overrides = {"content_disposition": content_disposition_header(True, filename)}
        for parameter, value in kwargs.items():
            name = _SAS_OVERRIDE_FOR_S3_PARAMETER.get(parameter, parameter)
            if name not in _SAS_OVERRIDES:
                raise TypeError(f"Unsupported download parameter for Azure: {parameter!r}")
            overrides[name] = value
        # A SAS cannot pin the headers a client uploads with: the download names a type that is never active.
        overrides["content_type"] = download_content_type(filename, overrides.get("content_type"))
        return self._signed_url(
            self._stored_name(key), BlobSasPermissions(read=True), storage_settings.DOWNLOAD_URL_EXPIRY, **overrides
        )

    # Block uploads, through the multipart endpoints (views/multipart.py): parts are blocks.

    def sign_upload_parts(self, name: str, upload_id: str, part_numbers: list[int]) -> list[UploadPart]:
        # Put Block needs write permission; the SAS still names this one blob only and expires soon.
        base = self._signed_url(
            self._stored_name(name), BlobSasPermissions(write=True), storage_settings.UPLOAD_URL_EXPIRY
        )
        parts: list[UploadPart] = []
        for number in part_numbers:
            block = block_id(upload_id, number)
            url = f"{base}&comp=block&blockid={quote(block, safe='')}"
            # Put Block answers without an ETag: the block id is what identifies the part on completion.
            parts.append({"partNumber": number, "url": url, "headers": {}, "etag": block})
        return parts

    def list_upload_parts(self, name: str, upload_id: str) -> list[StoredPart] | None:
        """Blocks uploaded but not committed yet, or ``None`` once the block list was committed (completed)."""
        try:
            committed, uncommitted = self._blob(name).get_block_list("all")
        except ResourceNotFoundError:
            return []  # neither a blob nor blocks yet
        if committed:
            return None
        parts: dict[int, StoredPart] = {}
        for block in uncommitted:
            number = _part_number(upload_id, block.id)
            if number is not None:
                parts[number] = {"partNumber": number, "etag": block_id(upload_id, number), "size": block.size}
        return [parts[number] for number in sorted(parts)]

    def complete_multipart_upload(
        self, name: str, upload_id: str, parts: list[StoredPart], *, content_type: str | None = None
    ) -> None:
        for part in parts:
            if part["etag"] != block_id(upload_id, part["partNumber"]):
                raise InvalidUploadParts(f"Part {part['partNumber']} does not name a block of this upload.")
        blob_name = self._stored_name(name)
        blocks = [BlobBlock(block_id=_block_name(upload_id, part["partNumber"])) for part in parts]
        try:
            self.client.get_blob_client(blob_name).commit_block_list(
                blocks, content_settings=ContentSettings(**self._content_settings(blob_name, content_type))
            )
        except HttpResponseError as error:
            if error.status_code == 400:
                raise InvalidUploadParts(str(error.error_code or "InvalidBlockList")) from error
            raise

    def abort_multipart_upload(self, name: str, upload_id: str) -> None:
        """Discard uncommitted blocks. Azure has no call for that; committing an empty block list discards them,
        and only when no blob exists yet (a committed upload is left alone), after which the empty blob goes."""
        blob = self._blob(name)
        try:
            committed, uncommitted = blob.get_block_list("all")
        except ResourceNotFoundError:
            return
        if committed or not uncommitted:
            return
        try:
            blob.commit_block_list([], match_condition=MatchConditions.IfMissing)
        except (ResourceExistsError, ResourceModifiedError):
            return  # committed meanwhile: no longer an upload in progress
        with contextlib.suppress(ResourceNotFoundError):
            blob.delete_blob()

    # Object operations.

    def stat_object(self, key: str) -> StoredObject | None:
        try:
            properties = self._blob(key).get_blob_properties()
        except ResourceNotFoundError:
            return None
        return StoredObject(size=properties.size, version=properties.etag or "")

    def _download(self, key: str, version: str, **options: Any):
        """A download of ``key`` in ``version`` only (``If-Match``): ``ObjectChanged``/``FileNotFoundError`` instead
        of the SDK's errors, so callers need not know Azure's."""
        if version:
            options.update(etag=version, match_condition=MatchConditions.IfNotModified)
        try:
            return self._blob(key).download_blob(max_concurrency=1, **options)
        except ResourceModifiedError as error:
            # Azurite answers a condition on a missing blob with 412 rather than 404.
            if self.stat_object(key) is None:
                raise FileNotFoundError(key) from error
            raise ObjectChanged(key) from error
        except ResourceNotFoundError as error:
            raise FileNotFoundError(key) from error

    def read_range(self, key: str, length: int, *, version: str = "") -> bytes:
        try:
            return self._download(key, version, offset=0, length=length).readall()
        except HttpResponseError as error:
            if error.status_code == 416:
                return b""  # an empty blob has no first byte
            raise

    def open_version(self, key: str, version: str = "") -> IO[bytes]:
        """The blob's bytes in ``version``, read in chunks as the caller reads (a virus scan streams it)."""
        return _DownloadReader(self._download(key, version), key)

    def copy_file(self, from_key: str, to_key: str, *, overwrite: bool = False, source_version: str = "") -> None:
        """Server-side copy that returns only once the copy succeeded; it refuses to replace an existing blob
        unless ``overwrite`` (a field's ``allow_overwrite``).

        With ``source_version`` only that version is copied: the copy is started with ``x-ms-source-if-match``, so a
        rewritten source fails with 412 before the destination exists. Azurite (3.35) enforces it as Azure does.
        Unlike S3 there is no second check after the copy: a copied blob gets an ETag of its own, so nothing about
        the destination shows which version it was copied from. A copy still pending when the source changes fails
        on Azure's side and is removed like any failed copy.
        """
        timeout = float(storage_settings.AZURE_COPY_TIMEOUT)
        # The source is read through a SAS: that works for account keys and delegation keys alike.
        source = self._signed_url(self._stored_name(from_key), BlobSasPermissions(read=True), timeout + 600)
        destination = self._blob(to_key)
        try:
            started = self._start_copy(destination, source, overwrite=overwrite, source_version=source_version)
        except ResourceExistsError as error:
            raise FileExistsError(to_key) from error
        except ResourceModifiedError as error:
            # Either condition failed; only an existing destination can have failed the destination's.
            if not overwrite and self.stat_object(to_key) is not None:
                raise FileExistsError(to_key) from error
            raise ObjectChanged(from_key) from error
        except ResourceNotFoundError as error:
            raise FileNotFoundError(from_key) from error
        # A blob replaced under a fixed name may be what other records point at: a failed copy leaves it be.
        self._await_copy(destination, started, timeout, remove_on_failure=not overwrite)

    def _start_copy(
        self, destination: BlobClient, source_url: str, *, overwrite: bool = False, source_version: str = ""
    ) -> dict[str, Any]:
        conditions: dict[str, Any] = {}
        if source_version:
            conditions.update(source_etag=source_version, source_match_condition=MatchConditions.IfNotModified)
        if not overwrite:
            # If-None-Match: * makes "never overwrite" atomic, not a check followed by a copy.
            conditions["match_condition"] = MatchConditions.IfMissing
        return destination.start_copy_from_url(source_url, **conditions)

    def _copy_state(self, destination: BlobClient) -> tuple[str | None, str | None]:
        copy = destination.get_blob_properties().copy
        return copy.status, copy.status_description

    def _await_copy(
        self, destination: BlobClient, started: dict[str, Any], timeout: float, *, remove_on_failure: bool = True
    ) -> None:
        """Poll the copy status until it leaves ``pending``, with a growing pause and a deadline."""
        status, description = started.get("copy_status"), None
        deadline = time.monotonic() + timeout
        pause = 0.05
        while status == "pending":
            if time.monotonic() >= deadline:
                self._abandon_copy(destination, started.get("copy_id"), remove=remove_on_failure)
                raise AzureCopyError(f"The copy to {destination.blob_name} did not finish within {timeout:g} s.")
            _pause(pause)
            pause = min(pause * 2, 2.0)
            status, description = self._copy_state(destination)
        if status != "success":
            self._abandon_copy(destination, None, remove=remove_on_failure)
            raise AzureCopyError(f"The copy to {destination.blob_name} ended {status}: {description or 'no details'}.")

    def _abandon_copy(self, destination: BlobClient, copy_id: str | None, *, remove: bool) -> None:
        """Stop a pending copy and, when ``remove``, delete its destination, which nothing references."""
        if copy_id:
            # Finished or failed meanwhile: nothing more to stop.
            with contextlib.suppress(HttpResponseError):
                destination.abort_copy(copy_id)
        if remove:
            with contextlib.suppress(ResourceNotFoundError):
                destination.delete_blob()

    def delete_batch(self, keys_to_delete: list[str]) -> dict[str, Exception]:
        """One blob batch delete; a batch the service refuses as a whole is deleted blob by blob. Missing blobs are
        not failures."""
        batch = {self._stored_name(key): key for key in keys_to_delete}
        try:
            responses = list(self.client.delete_blobs(*batch, raise_on_any_failure=False))
        except HttpResponseError:
            return AsyncUploadStorage.delete_many(self, batch.values())
        failures: dict[str, Exception] = {}
        for (blob_name, key), response in zip(batch.items(), responses, strict=False):
            if response.status_code not in (200, 202, 404):
                failures[key] = OSError(f"Deleting {blob_name} failed with status {response.status_code}.")
        return failures

    # Finding temporary blobs and abandoned block uploads that no row accounts for (cleanup.sweep_orphans).

    def _temporary_blobs(self, **options: Any):
        return self.client.list_blobs(
            name_starts_with=self._temporary_listing_prefix(), timeout=self.timeout, **options
        )

    def list_temporary_objects(self, older_than: datetime) -> Iterator[str]:
        for blob in self._temporary_blobs():
            if blob.last_modified < older_than:
                yield self._name(blob.name)

    def list_incomplete_uploads(self, older_than: datetime) -> Iterator[tuple[str, str]]:
        """Blobs that have uncommitted blocks only. Listing includes them with a size of 0; their block ids name
        the upload."""
        for blob in self._temporary_blobs(include=["uncommittedblobs"]):
            if blob.size or blob.last_modified >= older_than:
                continue
            try:
                committed, uncommitted = self.client.get_blob_client(blob.name).get_block_list("all")
            except ResourceNotFoundError:
                continue
            upload_ids = {block.id.rpartition("-")[0] for block in uncommitted}
            if not committed and len(upload_ids) == 1:
                yield self._name(blob.name), upload_ids.pop()

    # Blob service CORS (account-wide), for the ``async_uploads_cors`` command, and configuration checks.

    def cors_target(self) -> str:
        return f"Azure storage account {self.account_name!r} ({self.service_client.url.rstrip('/')})"

    def cors_rules(self, origins: list[str]) -> list[dict[str, Any]]:
        """The rule the browser needs, shaped like Azure's ``corsRules`` (ARM/Bicep ``blobServices`` properties)."""
        return [
            {
                "allowedOrigins": list(origins),
                "allowedMethods": list(CORS_METHODS),
                "allowedHeaders": list(CORS_ALLOWED_HEADERS),
                "exposedHeaders": list(CORS_EXPOSED_HEADERS),
                "maxAgeInSeconds": CORS_MAX_AGE,
            }
        ]

    def apply_cors_rules(self, origins: list[str]) -> None:
        """Put our rule first (Azure uses the first rule matching an origin); other rules are kept after it."""
        if not origins:
            raise ValueError("Give at least one origin.")
        ours = [
            CorsRule(
                rule["allowedOrigins"],
                rule["allowedMethods"],
                allowed_headers=rule["allowedHeaders"],
                exposed_headers=rule["exposedHeaders"],
                max_age_in_seconds=rule["maxAgeInSeconds"],
            )
            for rule in self.cors_rules(origins)
        ]
        existing = self.service_client.get_service_properties().get("cors") or []
        wanted = set(origins)
        others = [rule for rule in existing if set(_csv(rule.allowed_origins)) != wanted]
        rules = ours + others
        if len(rules) > MAX_CORS_RULES:
            raise ImproperlyConfigured(
                f"The storage account would have {len(rules)} CORS rules; Azure allows {MAX_CORS_RULES}. "
                "Remove unused rules first."
            )
        self.service_client.set_service_properties(cors=rules)

    def unsupported_download_params(self, params: dict[str, Any]) -> list[str]:
        return [name for name in params if _SAS_OVERRIDE_FOR_S3_PARAMETER.get(name, name) not in _SAS_OVERRIDES]

    def check_configuration(self) -> list[CheckMessage]:
        problems: list[CheckMessage] = []
        if not self.azure_container:
            problems.append(
                Warning(
                    "AzureAsyncUploadStorage has no container, so no upload can be planned.",
                    hint="Set AZURE_CONTAINER, or azure_container in the storage's OPTIONS.",
                    id="alliance_platform_storage.W020",
                )
            )
        if not self.account_key and self.token_credential is None:
            problems.append(
                Warning(
                    "AzureAsyncUploadStorage can sign upload and download URLs only with an account key or a user "
                    "delegation key; it has neither (a SAS token cannot sign further SAS).",
                    hint="Set AZURE_ACCOUNT_KEY (or a connection string with AccountKey), or AZURE_TOKEN_CREDENTIAL "
                    "(e.g. a managed identity's credential).",
                    id="alliance_platform_storage.W021",
                )
            )
        return problems
