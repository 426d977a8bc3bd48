"""``GoogleCloudAsyncUploadStorage``: the browser uploads straight to Google Cloud Storage.

Built on django-storages' ``GoogleCloudStorage``, so every ``GS_*`` setting (bucket, ``GS_LOCATION``, credentials,
``GS_OBJECT_PARAMETERS``, ``GS_IAM_SIGN_BLOB``...) applies as usual, and each can be passed to the constructor;
``GS_API_ENDPOINT`` (``api_endpoint``) is ours, for an emulator or a private endpoint.

* Small files are a V4 signed POST policy that pins the exact key, the declared Content-Type, the object
  parameters and ``content-length-range`` up to the field's ``max_size``: GCS itself refuses anything else. It is
  the same form upload the widget sends to S3.
* Files above ``GCS_MULTIPART_THRESHOLD`` go up in parts, each a temporary object of its own sent with a signed
  ``PUT`` (in parallel, resumable by listing the parts), that the server composes into the upload's object on
  completion, pinned to the listed generation of every part, and then deletes.
* Signing works without a key file: with ``GS_IAM_SIGN_BLOB`` the default credentials sign through IAM's
  ``signBlob``, as django-storages does.
* Verification reads the object's metadata and a small ranged read, never the whole object.
* Promotion is a server-side rewrite (several calls for large objects): no object bytes pass through the app.
* What was verified is what is promoted: a POST policy can be used again until it expires, so verification records
  the object's generation, and reads and the rewrite only accept that generation.
* Nothing is overwritten unless asked: promotion picks a free name (``GS_FILE_OVERWRITE`` is ignored) and the
  rewrite is conditional on no object existing there (``ifGenerationMatch=0``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta
import io
import os
import re
import secrets
from typing import IO, Any

from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils.http import content_disposition_header

try:
    from google.api_core import exceptions as google_exceptions
    from google.api_core.client_options import ClientOptions
    from google.auth import default as default_credentials
    from google.auth.credentials import Signing
    from google.cloud.storage import Blob, Client
    from storages.backends.gcloud import GoogleCloudStorage
    from storages.utils import clean_name, setting
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImproperlyConfigured(
        "GoogleCloudAsyncUploadStorage needs django-storages with google-cloud-storage: "
        "pip install 'alliance-platform-storage[gcs]'"
    ) from exc

from ...settings import storage_settings
from .. import multipart
from ..content_types import download_content_type, storable_content_type
from . import gcs_batch
from .base import GenerateUploadUrlResponse, InvalidUploadParts, ObjectChanged, StoredObject, StoredPart, UploadPart
from .cloud import CloudAsyncUploadStorage

MIB = 1024 * 1024
DEFAULT_ENDPOINT = "https://storage.googleapis.com"
#: The most source objects one compose call takes.
COMPOSE_LIMIT = 32
#: The most parts an upload has: two rounds of compose, so completing takes at most 33 compose calls.
MAX_PARTS = COMPOSE_LIMIT * COMPOSE_LIMIT
MIN_PART_SIZE = 5 * MIB  # not GCS's limit (it has none), but fewer, larger requests upload faster
_UPLOAD_ID_BYTES = 8
#: The directory, inside the temporary area, that holds the parts of uploads in progress. Temporary keys never have
#: a component starting with a dot (see ``keys``), so no upload's key can fall inside it.
PARTS_DIRECTORY = ".parts"
_PART_NUMBER = re.compile(r"^\d{5}$")
_UPLOAD_ID = re.compile(rf"^[0-9a-f]{{{_UPLOAD_ID_BYTES * 2}}}$")
#: Bytes one read of ``open_version`` fetches.
READ_CHUNK_SIZE = 8 * MIB

# How django-storages' blob properties (GS_OBJECT_PARAMETERS) are spelled as POST policy form fields.
_POST_FIELD_FOR_PROPERTY = {
    "cache_control": "Cache-Control",
    "content_disposition": "Content-Disposition",
    "content_encoding": "Content-Encoding",
    "content_language": "Content-Language",
}
# What a rewrite keeps of the source when it sets object parameters of its own on the copy.
_COPIED_PROPERTIES = ("content_type", *_POST_FIELD_FOR_PROPERTY, "metadata")
# Download parameters (``download_params``) and the signed URL's response overrides they stand for; the S3 names
# are accepted as well, so a field keeps working when its storage moves between backends.
_SIGNED_URL_OVERRIDE_FOR_PARAMETER = {
    "ResponseContentDisposition": "response_disposition",
    "ResponseContentType": "response_type",
    "response_disposition": "response_disposition",
    "response_type": "response_type",
}

# Bucket CORS: what the widget sends and reads. GCS's ``responseHeader`` lists both the request headers allowed and
# the response headers exposed.
CORS_METHODS = ["GET", "HEAD", "POST", "PUT"]
CORS_RESPONSE_HEADERS = ["Content-Type", "ETag", "x-goog-generation"]
CORS_MAX_AGE = 3600


def _part_etag(blob: Blob) -> str:
    """A part's id for completion: its MD5 in hex and quotes, which is the ``ETag`` GCS answers the part's ``PUT``
    with (so a page allowed to read that header sends the same id); its generation where GCS keeps no MD5."""
    if blob.md5_hash:
        return f'"{base64.b64decode(blob.md5_hash).hex()}"'
    return f'"{blob.generation}"'


class _GenerationReader(io.RawIOBase):
    """One generation of an object, read in ranged chunks as the caller reads (a virus scan streams it): every
    chunk names the generation, so an object rewritten meanwhile ends the read with ``ObjectChanged`` (and one
    deleted with ``FileNotFoundError``), never with bytes of two versions."""

    def __init__(self, storage: GoogleCloudAsyncUploadStorage, key: str, stored: StoredObject):
        self._storage = storage
        self._key = key
        self._stored = stored
        self._offset = 0
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self._pending:
            if self._offset >= self._stored.size:
                return 0
            end = min(self._offset + READ_CHUNK_SIZE, self._stored.size) - 1
            self._pending = self._storage._read(self._key, self._stored.version, self._offset, end)
            if not self._pending:
                return 0
            self._offset += len(self._pending)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class GoogleCloudAsyncUploadStorage(CloudAsyncUploadStorage, GoogleCloudStorage):
    provider = "gcs"
    delete_batch_size = gcs_batch.MAX_BATCH_CALLS
    #: Seconds one batch delete request may take.
    batch_timeout = 60

    def get_default_settings(self) -> dict[str, Any]:
        # Where the JSON API and the signed URLs point: GCS itself unless an emulator or private endpoint is named.
        return {**super().get_default_settings(), "api_endpoint": setting("GS_API_ENDPOINT", None)}

    @property
    def client(self) -> Client:
        """django-storages' client, pointed at ``api_endpoint`` when one is set (its own client cannot be)."""
        if self._client is None:
            if self.iam_sign_blob and not self.credentials:
                self.credentials, self.project_id = default_credentials(
                    scopes=["https://www.googleapis.com/auth/cloud-platform"]
                )
            options = ClientOptions(api_endpoint=self.api_endpoint) if self.api_endpoint else None
            self._client = Client(project=self.project_id, credentials=self.credentials, client_options=options)
        return self._client

    @property
    def endpoint(self) -> str:
        """Where signed URLs and POST forms send the browser."""
        return (self.api_endpoint or DEFAULT_ENDPOINT).rstrip("/")

    def _stored_name(self, name: str) -> str:
        return self._normalize_name(clean_name(name))

    # Signing.

    def _signing_arguments(self) -> dict[str, Any]:
        """How google-cloud-storage signs: with IAM ``signBlob`` (``GS_IAM_SIGN_BLOB``: the default credentials and
        a service account email, no key file), or with credentials that hold a private key."""
        if self.iam_sign_blob:
            self.client  # noqa: B018 - resolves the default credentials the IAM call authenticates with
            email, token = self._get_iam_sign_blob_params()
            return {"service_account_email": email, "access_token": token}
        credentials = self.credentials or getattr(self.client, "_credentials", None)
        if not isinstance(credentials, Signing):
            raise ImproperlyConfigured(
                "GoogleCloudAsyncUploadStorage signs uploads and downloads: its credentials hold no private key. "
                "Use a service account key (GS_CREDENTIALS) or set GS_IAM_SIGN_BLOB = True (and GS_SA_EMAIL when the "
                "default credentials do not name their service account)."
            )
        return {"credentials": credentials}

    @property
    def multipart_threshold(self) -> int:
        return int(storage_settings.GCS_MULTIPART_THRESHOLD)

    def multipart_part_size(self, size: int) -> int:
        return multipart.part_size_for(
            size, configured=storage_settings.GCS_MULTIPART_PART_SIZE, minimum=MIN_PART_SIZE, max_parts=MAX_PARTS
        )

    def _blob_properties(self, name: str) -> dict[str, Any]:
        """``GS_OBJECT_PARAMETERS`` that describe the object's content (not its ACL or storage class)."""
        parameters = self.get_object_parameters(name)
        return {prop: parameters[prop] for prop in (*_POST_FIELD_FOR_PROPERTY, "metadata") if parameters.get(prop)}

    def single_upload_plan(
        self, name: str, *, expire: int, max_size: int | None, content_type: str | None, size: int | None = None
    ) -> GenerateUploadUrlResponse:
        """A V4 signed POST policy that pins the key, the declared type, the object parameters and the size."""
        blob_name = self._stored_name(name)
        fields: dict[str, str] = {}
        content_type = storable_content_type(content_type)
        if content_type:
            fields["Content-Type"] = content_type
        for prop, value in self._blob_properties(blob_name).items():
            if prop == "metadata":
                fields.update({f"x-goog-meta-{key}": str(item) for key, item in value.items()})
            else:
                fields[_POST_FIELD_FOR_PROPERTY[prop]] = str(value)
        # Every field becomes an exact-match condition of the policy (google-cloud-storage adds them).
        conditions: list[Any] = []
        if max_size is not None:
            conditions.append(["content-length-range", 0, max_size])
        post = self.client.generate_signed_post_policy_v4(
            self.bucket_name,
            blob_name,
            expiration=timedelta(seconds=expire),
            conditions=conditions,
            fields=fields,
            **self._signing_arguments(),
        )
        return {
            # GCS takes the form at the bucket's URL with or without the slash; the emulator only without it.
            "url": post["url"].rstrip("/"),
            "fields": post["fields"],
            "method": "POST",
            "provider": self.provider,
            "fileFieldName": "file",
        }

    def _signed_url(self, stored_name: str, *, method: str, seconds: float, **options: Any) -> str:
        blob = self.bucket.blob(stored_name)
        if self.custom_endpoint and method == "GET":
            options["bucket_bound_hostname"] = self.custom_endpoint  # a CDN or domain in front of the bucket
        else:
            options["api_access_endpoint"] = self.endpoint
        return blob.generate_signed_url(
            version="v4",
            expiration=timedelta(seconds=seconds),
            method=method,
            **options,
            **self._signing_arguments(),
        )

    def generate_download_url(self, key: str, field_id: str, *, filename: str | None = None, **kwargs: Any) -> str:
        filename = filename or key.rsplit("/", 1)[-1]
        overrides = {"response_disposition": content_disposition_header(True, filename)}
        for parameter, value in kwargs.items():
            name = _SIGNED_URL_OVERRIDE_FOR_PARAMETER.get(parameter)
            if name is None:
                raise TypeError(f"Unsupported download parameter for Google Cloud Storage: {parameter!r}")
            overrides[name] = value
        # A POST policy pins the type it was planned with, but a download still never names an active one.
        overrides["response_type"] = download_content_type(filename, overrides.get("response_type"))
        return self._signed_url(
            self._stored_name(key), method="GET", seconds=storage_settings.DOWNLOAD_URL_EXPIRY, **overrides
        )

    # Uploads in parts, through the multipart endpoints (views/multipart.py): each part is an object of its own.

    def _parts_root(self) -> str:
        """The stored-name prefix of every part of every upload of this storage."""
        return self._stored_name(f"{self.temporary_area}{PARTS_DIRECTORY}/x")[:-1]

    def _parts_prefix(self, name: str, upload_id: str) -> str:
        """Where the parts of upload ``upload_id`` of the temporary key ``name`` live: the key (relative to the
        temporary area) and the upload id are both in the path, so a listing names them again."""
        if not self.is_temporary_path(name):
            raise ValueError(f"{name!r} is not a temporary key of this storage")
        relative = clean_name(name)[len(self.temporary_area) :]
        return f"{self._parts_root()}{relative}/{upload_id}/"

    def _listed_parts(self, name: str, upload_id: str) -> dict[int, Blob]:
        parts: dict[int, Blob] = {}
        for blob in self.bucket.list_blobs(prefix=self._parts_prefix(name, upload_id)):
            number = blob.name.rsplit("/", 1)[-1]
            if _PART_NUMBER.match(number):
                parts[int(number)] = blob
        return parts

    def create_multipart_upload(self, name: str, content_type: str | None) -> str:
        """Nothing to start on GCS: parts are objects under a prefix of their own. The upload id names it."""
        return secrets.token_hex(_UPLOAD_ID_BYTES)

    def sign_upload_parts(self, name: str, upload_id: str, part_numbers: list[int]) -> list[UploadPart]:
        prefix = self._parts_prefix(name, upload_id)
        return [
            {
                "partNumber": number,
                "url": self._signed_url(
                    f"{prefix}{number:05d}", method="PUT", seconds=storage_settings.UPLOAD_URL_EXPIRY
                ),
                "headers": {},
            }
            for number in part_numbers
        ]

    def list_upload_parts(self, name: str, upload_id: str) -> list[StoredPart] | None:
        """Parts stored so far, or ``None`` once the object exists (the upload was completed)."""
        if self.stat_object(name) is not None:
            return None
        parts = self._listed_parts(name, upload_id)
        return [
            {"partNumber": number, "etag": _part_etag(blob), "size": int(blob.size or 0)}
            for number, blob in sorted(parts.items())
        ]

    def complete_multipart_upload(
        self, name: str, upload_id: str, parts: list[StoredPart], *, content_type: str | None = None
    ) -> None:
        """Compose the named parts, in order, into the object, then delete them.

        Each part is composed in the generation that was listed, so a part sent again after the listing is not
        what ends up in the object. More than ``COMPOSE_LIMIT`` parts are composed in groups first.
        """
        listed = self._listed_parts(name, upload_id)
        sources: list[Blob] = []
        for part in parts:
            blob = listed.get(part["partNumber"])
            if blob is None or _part_etag(blob).strip('"') != part["etag"].strip('"'):
                raise InvalidUploadParts(f"Part {part['partNumber']} does not match a stored part of this upload.")
            sources.append(blob)
        prefix = self._parts_prefix(name, upload_id)
        stored_name = self._stored_name(name)
        intermediates: list[str] = []
        round_number = 0
        while len(sources) > COMPOSE_LIMIT:
            round_number += 1
            grouped: list[Blob] = []
            for index in range(0, len(sources), COMPOSE_LIMIT):
                group = self.bucket.blob(f"{prefix}compose-{round_number}-{index // COMPOSE_LIMIT:04d}")
                group.compose(sources[index : index + COMPOSE_LIMIT])
                intermediates.append(group.name)
                grouped.append(group)
            sources = grouped
        destination = self.bucket.blob(stored_name)
        for prop, value in self._blob_properties(stored_name).items():
            setattr(destination, prop, value)
        destination.content_type = storable_content_type(content_type) or "application/octet-stream"
        try:
            # ifGenerationMatch=0: a completion never replaces an object that exists already.
            destination.compose(sources, if_generation_match=0)
        except (
            google_exceptions.PreconditionFailed,
            google_exceptions.BadRequest,
            google_exceptions.NotFound,
        ) as error:
            # An object already at the key, or a part deleted or rewritten since it was listed.
            raise InvalidUploadParts(str(error)) from error
        finally:
            self._delete_stored(intermediates)
        self._delete_stored([blob.name for blob in listed.values()])

    def abort_multipart_upload(self, name: str, upload_id: str) -> None:
        """Delete the stored parts (and any half-made compose); an upload with none left is not an error."""
        names = [blob.name for blob in self.bucket.list_blobs(prefix=self._parts_prefix(name, upload_id))]
        failures = self._delete_stored(names)
        if failures:
            raise next(iter(failures.values()))

    # Object operations.

    def stat_object(self, key: str) -> StoredObject | None:
        blob = self.bucket.get_blob(self._stored_name(key))
        if blob is None:
            return None
        return StoredObject(size=int(blob.size or 0), version=str(blob.generation or ""))

    def _missing(self, key: str, version: str, error: Exception) -> Exception:
        """What a ``404`` for ``key`` in ``version`` means: rewritten since (the generation is gone, the object is
        not) or deleted."""
        if version and self.stat_object(key) is not None:
            return ObjectChanged(key)
        return FileNotFoundError(key)

    def _read(self, key: str, version: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (inclusive) of ``key`` in generation ``version`` only."""
        generation = int(version) if version else None
        blob = self.bucket.blob(self._stored_name(key), generation=generation)
        try:
            return blob.download_as_bytes(start=start, end=end, checksum=None)
        except google_exceptions.NotFound as error:
            raise self._missing(key, version, error) from error

    def read_range(self, key: str, length: int, *, version: str = "") -> bytes:
        try:
            return self._read(key, version, 0, length - 1)
        except google_exceptions.RequestRangeNotSatisfiable:
            return b""  # an empty object has no first byte

    def open_version(self, key: str, version: str = "") -> IO[bytes]:
        """The object's bytes in generation ``version`` (its current one when none is given), read in chunks as
        the caller reads."""
        stored = self.stat_object(key)
        if stored is None:
            raise FileNotFoundError(key)
        if version and stored.version != version:
            raise ObjectChanged(key)
        return io.BufferedReader(_GenerationReader(self, key, stored), buffer_size=READ_CHUNK_SIZE)

    def copy_file(self, from_key: str, to_key: str, *, overwrite: bool = False, source_version: str = "") -> None:
        """Server-side rewrite, repeated until GCS reports it done (large objects and other storage classes take
        several calls); refuses to replace an existing object unless ``overwrite``.

        With ``source_version`` only that generation is copied (``sourceGeneration``): a rewritten source is a 404
        before anything exists at ``to_key``. ``ifGenerationMatch=0`` makes "never overwrite" atomic on GCS; the
        existence check before it covers servers that ignore the condition (the emulator does).
        """
        if not overwrite and self.stat_object(to_key) is not None:
            raise FileExistsError(to_key)
        generation = int(source_version) if source_version else None
        source = self.bucket.blob(self._stored_name(from_key), generation=generation)
        destination = self.bucket.blob(self._stored_name(to_key))
        token = None
        try:
            properties = self._blob_properties(destination.name)
            if properties:
                # A rewrite given any metadata takes all of it from the request: the source's is carried over first.
                source.reload()
                for prop in _COPIED_PROPERTIES:
                    setattr(destination, prop, properties.get(prop, getattr(source, prop)))
            while True:
                token, _copied, _total = destination.rewrite(
                    source, token=token, if_generation_match=None if overwrite else 0
                )
                if token is None:
                    break
        except google_exceptions.NotFound as error:
            raise self._missing(from_key, source_version, error) from error
        except google_exceptions.PreconditionFailed as error:
            raise FileExistsError(to_key) from error

    def _delete_stored(self, stored_names: list[str]) -> dict[str, Exception]:
        """Delete objects by their stored names, ``delete_batch_size`` per batch request; failures by name."""
        failures: dict[str, Exception] = {}
        for start in range(0, len(stored_names), self.delete_batch_size):
            batch = stored_names[start : start + self.delete_batch_size]
            content_type, body = gcs_batch.delete_request_body(self.bucket_name, batch)
            try:
                # The client's own authorised session and API root, as google-cloud-storage's batches use them.
                response = self.client._http.post(
                    f"{self.client._connection.API_BASE_URL}/batch/storage/v1",
                    data=body,
                    headers={"Content-Type": content_type},
                    timeout=self.batch_timeout,
                )
            except Exception as error:  # noqa: BLE001 - reported per object to the caller
                failures.update(dict.fromkeys(batch, error))
                continue
            if response.status_code != 200:
                error = OSError(f"The batch delete failed with status {response.status_code}.")
                failures.update(dict.fromkeys(batch, error))
                continue
            statuses = gcs_batch.response_statuses(
                response.headers.get("Content-Type", ""), response.content, len(batch)
            )
            for stored_name, status in zip(batch, statuses, strict=True):
                if status is None or not (200 <= status < 300 or status == 404):
                    failures[stored_name] = OSError(f"Deleting {stored_name} failed with status {status}.")
        return failures

    def delete_batch(self, keys_to_delete: list[str]) -> dict[str, Exception]:
        """One batch request of JSON API deletes; missing objects are not failures."""
        batch = {self._stored_name(key): key for key in keys_to_delete}
        return {batch[name]: error for name, error in self._delete_stored(list(batch)).items()}

    # Finding temporary objects and abandoned part uploads that no row accounts for (cleanup.sweep_orphans).

    def list_temporary_objects(self, older_than: datetime) -> Iterator[str]:
        parts_root = self._parts_root()
        for blob in self.bucket.list_blobs(prefix=self._temporary_listing_prefix()):
            if not blob.name.startswith(parts_root) and blob.time_created < older_than:
                yield self._name(blob.name)

    def list_incomplete_uploads(self, older_than: datetime) -> Iterator[tuple[str, str]]:
        """Uploads that still have parts, by the first part's creation time; the part path names key and upload."""
        parts_root = self._parts_root()
        started: dict[tuple[str, str], datetime] = {}
        for blob in self.bucket.list_blobs(prefix=parts_root):
            path = blob.name[len(parts_root) :].rsplit("/", 2)
            if len(path) != 3 or not _UPLOAD_ID.match(path[1]):
                continue  # not written by this backend: left for a person to look at
            upload = (f"{self.temporary_area}{path[0]}", path[1])
            started[upload] = min(started.get(upload, blob.time_created), blob.time_created)
        for upload, created in started.items():
            if created < older_than:
                yield upload

    # Bucket CORS, for the ``async_uploads_cors`` command, and configuration checks.

    def cors_target(self) -> str:
        return f"GCS bucket {self.bucket_name!r} ({self.endpoint})"

    def cors_rules(self, origins: list[str]) -> list[dict[str, Any]]:
        """POST for single uploads, PUT for parts, GET/HEAD for downloads; a part's ETag must be readable by the page
        to complete without listing. Shaped as ``gcloud storage buckets update --cors-file`` reads it."""
        return [
            {
                "origin": list(origins),
                "method": list(CORS_METHODS),
                "responseHeader": list(CORS_RESPONSE_HEADERS),
                "maxAgeSeconds": CORS_MAX_AGE,
            }
        ]

    def apply_cors_rules(self, origins: list[str]) -> None:
        """Add our rule to the bucket's, keeping the others (a rule equal to ours is not added twice)."""
        if not origins:
            raise ValueError("Give at least one origin.")
        bucket = self.client.get_bucket(self.bucket_name)
        ours = self.cors_rules(origins)
        kept = [rule for rule in (bucket.cors or []) if rule not in ours]
        bucket.cors = kept + ours
        bucket.patch()

    def unsupported_download_params(self, params: dict[str, Any]) -> list[str]:
        return [name for name in params if name not in _SIGNED_URL_OVERRIDE_FOR_PARAMETER]

    def check_configuration(self) -> list[CheckMessage]:
        problems: list[CheckMessage] = []
        if not self.bucket_name:
            problems.append(
                Warning(
                    "GoogleCloudAsyncUploadStorage has no bucket name, so no upload can be planned.",
                    hint="Set GS_BUCKET_NAME, or bucket_name in the storage's OPTIONS.",
                    id="alliance_platform_storage.W030",
                )
            )
        if not self.iam_sign_blob:
            if self.credentials is not None and not isinstance(self.credentials, Signing):
                problems.append(
                    Warning(
                        "GoogleCloudAsyncUploadStorage's credentials hold no private key, so they cannot sign upload "
                        "and download URLs.",
                        hint="Set GS_IAM_SIGN_BLOB = True to sign through IAM signBlob, or use a service account key.",
                        id="alliance_platform_storage.W031",
                    )
                )
            elif self.credentials is None and not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
                problems.append(
                    Warning(
                        "GoogleCloudAsyncUploadStorage uses the default credentials without GS_IAM_SIGN_BLOB: on "
                        "Google Cloud (a metadata server, workload identity) those hold no private key, and signing "
                        "upload URLs fails.",
                        hint="Set GS_IAM_SIGN_BLOB = True (and GS_SA_EMAIL if needed), or GS_CREDENTIALS to a service "
                        "account key.",
                        id="alliance_platform_storage.W032",
                    )
                )
        return problems
