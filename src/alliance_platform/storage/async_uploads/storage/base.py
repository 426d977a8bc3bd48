"""The contract every async upload backend keeps.

Backends differ only in how they sign an upload, read back what arrived, copy and delete objects. Everything above
them (planning, verification, promotion, cleanup) is shared and talks to a backend only through these methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, NotRequired, TypedDict

from django.core.checks import CheckMessage
from django.core.files.storage import Storage
from django.urls import URLPattern

from .. import keys

if TYPE_CHECKING:
    from ..registry import AsyncFieldRegistry


class GenerateUploadUrlResponse(TypedDict):
    """How the browser must send the file: the shape the widget and API clients follow."""

    url: str
    fields: dict[str, str]
    method: str
    provider: str
    headers: NotRequired[dict[str, str]]
    fileFieldName: NotRequired[str]


@dataclass(frozen=True)
class StoredObject:
    """What verification learns about an uploaded object in one round trip.

    ``version`` identifies the object's current content (the ETag on S3 and Azure). It is empty where an uploaded
    object can never be rewritten (the filesystem backend refuses a second upload to a key), so there is nothing
    to pin.
    """

    size: int
    version: str = ""


class ObjectChanged(Exception):
    """The object is no longer the version that was verified: someone wrote to it again after the check."""


class InvalidUploadParts(ValueError):
    """The parts named to complete a multipart upload do not match what was stored (the client's mistake)."""


class UploadPart(TypedDict):
    partNumber: int
    url: str
    headers: dict[str, str]
    #: What the client reports for this part on completion when storage's answer carries no ETag (Azure blocks).
    etag: NotRequired[str]


class StoredPart(TypedDict):
    partNumber: int
    etag: str
    size: NotRequired[int]


class AsyncUploadStorage(Storage):
    """A Django storage that the browser can upload to directly, and that can promote what it received.

    Subclasses implement signing (``generate_upload_url``/``generate_download_url``) and the object operations
    below; the defaults here only use the plain ``Storage`` API, which every backend has but which may be slow.
    """

    #: Short name reported to the browser in the upload plan (``"s3"``, ``"azure"``, ``"filesystem"``).
    provider: str = ""

    #: The first path component of every temporary key this storage makes. It is what tells a temporary key from a
    #: promoted one (``is_temporary_path``), so no promoted file may ever live under it. Subclasses may change it.
    temporary_key_prefix: str = keys.DEFAULT_TEMPORARY_KEY_PREFIX

    #: This site's endpoints (by purpose, e.g. ``"filesystem_upload"``) that this backend's upload and download
    #: URLs point at. The views layer reverses them and passes their URLs as ``endpoints``: backends never know
    #: views, URL names or registries. Multipart backends get the multipart endpoints without naming them here.
    endpoint_purposes: tuple[str, ...] = ()

    @property
    def promotion_overwrites(self) -> bool:
        """Whether this storage's own settings ask promotion to replace existing files (for every field; a field
        opts in alone with ``allow_overwrite``). Only settings that are off by default count: S3's
        ``AWS_S3_FILE_OVERWRITE`` is on by default, so it cannot tell an explicit request and is ignored."""
        return False

    def generate_upload_url(
        self,
        name: str,
        field_id: str,
        *,
        expire: int | None = None,
        fields: dict[str, Any] | None = None,
        conditions: list[Any] | None = None,
        max_size: int | None = None,
        content_type: str | None = None,
        size: int | None = None,
        endpoints: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> GenerateUploadUrlResponse | str:
        """How the browser uploads exactly ``name`` (a temporary key): a plan, or just a URL to ``PUT`` it to.

        The plan endpoint always passes ``fields`` (form fields for a presigned POST: the declared
        ``Content-Type`` and the client's ``params``) and ``conditions`` (S3 POST policy conditions,
        ``content-length-range`` for the field's limit): the keyword arguments every backend written for this
        contract takes. It passes no ``expire``: the method's own default applies. ``max_size``, ``content_type``, ``size`` and ``endpoints`` (this site's URLs for
        ``endpoint_purposes``) are passed only to backends whose method names them, so older backends keep working.
        """
        raise NotImplementedError

    def generate_download_url(
        self,
        key: str,
        field_id: str,
        *,
        filename: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> str:
        """A short-lived URL that downloads ``key`` as an attachment named ``filename``; ``kwargs`` are the field's
        ``download_params``. ``filename`` and ``endpoints`` are passed only when the method names them."""
        raise NotImplementedError

    def move_file(self, from_key: str, to_key: str) -> None:
        """Move ``from_key`` to ``to_key``: the one object operation a minimal custom backend implements.

        Promotion calls it only when a subclass overrides it; otherwise it copies (``copy_file``) the verified
        version and deletes the temporary object after the record has switched, which a move cannot do (see the
        "Custom backends" section of the docs for what a move-based backend guarantees).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement move_file")

    @property
    def promotes_by_moving(self) -> bool:
        """Whether this backend overrides ``move_file``, so promotion moves the upload instead of copying it."""
        return type(self).move_file is not AsyncUploadStorage.move_file

    def generate_temporary_path(self, filename: str, max_length: int | None = None) -> str:
        """A new, unguessable key under ``temporary_key_prefix`` for ``filename`` (the rule is ``keys``'s)."""
        return keys.generate_temporary_path(filename, max_length, prefix=self.temporary_key_prefix)

    def is_temporary_path(self, filename: str | None) -> bool:
        """Whether ``filename`` is a temporary key of this storage: everything that tells a submitted upload from a
        promoted file (fields, forms, verification, promotion, cleanup) asks the field's storage this."""
        return keys.is_temporary_path(filename, prefix=self.temporary_key_prefix)

    @property
    def temporary_area(self) -> str:
        """The directory all temporary keys live in, with its trailing slash (what cleanup lists)."""
        return keys.temporary_area(self.temporary_key_prefix)

    def get_url_patterns(self, registry: AsyncFieldRegistry) -> list[URLPattern]:
        """Extra endpoints this backend needs (the filesystem backend receives uploads itself)."""
        return []

    # Object operations used by verification, promotion and cleanup.

    def stat_object(self, key: str) -> StoredObject | None:
        """Size and version of ``key``, or ``None`` when it does not exist (one round trip where possible)."""
        if not self.exists(key):
            return None
        try:
            return StoredObject(size=self.size(key))
        except FileNotFoundError:
            return None  # deleted between the two calls

    def object_size(self, key: str) -> int | None:
        """Size in bytes of ``key``, or ``None`` when it does not exist."""
        stored = self.stat_object(key)
        return None if stored is None else stored.size

    def read_head(self, key: str, length: int, *, version: str = "") -> bytes:
        """The first ``length`` bytes of ``key``: enough to sniff its type and read image headers.

        With ``version`` (from ``stat_object``), raise ``ObjectChanged`` rather than read any other content.
        Raises ``FileNotFoundError`` when the object does not exist (any more).
        """
        with self.open_version(key, version) as f:
            return f.read(length)

    def open_version(self, key: str, version: str = "") -> IO[bytes]:
        """Open ``key`` for reading, only if it is still ``version`` (``ObjectChanged`` otherwise): what a
        ``pre_promote`` receiver (a virus scan) reads is then exactly what promotion stores.
        Raises ``FileNotFoundError`` when the object does not exist."""
        return self.open(key, "rb")

    def copy_file(self, from_key: str, to_key: str, *, overwrite: bool = False, source_version: str = "") -> None:
        """Copy ``from_key`` to ``to_key``; raise ``FileExistsError`` rather than replace ``to_key``, unless
        ``overwrite`` (a field's ``allow_overwrite``) says an existing object may be replaced.

        With ``source_version``, copy only that version of the source: raise ``ObjectChanged`` (and leave nothing
        at ``to_key``) when the source was rewritten since it was verified. ``FileNotFoundError`` when the source
        does not exist.
        """
        if self.exists(to_key):
            if not overwrite:
                raise FileExistsError(to_key)
            self.delete(to_key)
        with self.open(from_key, "rb") as f:
            saved = self.save(to_key, f, max_length=None)
        if saved != to_key:
            self.delete(saved)
            raise FileExistsError(to_key)

    # Multipart uploads, for backends that take a large file in parts (see views/multipart.py).

    #: Whether this backend implements the multipart methods below.
    supports_multipart = False

    def sign_upload_parts(self, name: str, upload_id: str, part_numbers: list[int]) -> list[UploadPart]:
        """Short-lived URLs for uploading the given parts of a multipart upload."""
        raise NotImplementedError

    def list_upload_parts(self, name: str, upload_id: str) -> list[StoredPart]:
        """The parts stored so far, so an interrupted upload can resume without sending them again."""
        raise NotImplementedError

    def complete_multipart_upload(
        self, name: str, upload_id: str, parts: list[StoredPart], *, content_type: str | None = None
    ) -> None:
        """Assemble the object; raise ``InvalidUploadParts`` when the parts do not match the stored ones.

        ``content_type`` is the type declared when the upload was planned, for backends that can only set it on
        completion (Azure's Put Block List); backends that set it when the upload starts may ignore it.
        """
        raise NotImplementedError

    def abort_multipart_upload(self, name: str, upload_id: str) -> None:
        """Discard the stored parts; an upload that no longer exists is not an error."""
        raise NotImplementedError

    # Finding temporary objects that no row accounts for (see cleanup.sweep_orphans).

    def list_temporary_objects(self, older_than: datetime) -> Iterator[str]:
        """Keys in the temporary area last modified before ``older_than``. This default walks the area with the
        plain ``Storage`` API; backends override it with one listing call per page."""
        pending = [self.temporary_area.rstrip("/")]
        while pending:
            directory = pending.pop()
            try:
                subdirectories, files = self.listdir(directory)
            except FileNotFoundError:
                continue
            pending.extend(f"{directory}/{name}" for name in subdirectories)
            for name in files:
                key = f"{directory}/{name}"
                if self.get_modified_time(key) < older_than:
                    yield key

    def list_incomplete_uploads(self, older_than: datetime) -> Iterator[tuple[str, str]]:
        """``(key, upload_id)`` of multipart uploads in the temporary area started before ``older_than``."""
        return iter(())

    # Browser access (CORS) and configuration checks.

    def cors_target(self) -> str | None:
        """Where this backend's CORS rules live (a bucket, a storage account), or ``None`` when the browser only
        talks to this site and needs none. Storages with the same target share one set of rules."""
        return None

    def cors_rules(self, origins: list[str]) -> Any:
        """The CORS rules (in the provider's own format, JSON-serialisable) that let pages on ``origins`` upload
        and download directly."""
        return None

    def apply_cors_rules(self, origins: list[str]) -> None:
        """Add ``cors_rules(origins)`` to the target's CORS configuration, keeping rules already there."""
        raise NotImplementedError(f"{type(self).__name__} has no CORS rules to apply")

    def unsupported_download_params(self, params: dict[str, Any]) -> list[str]:
        """The names in a field's ``download_params`` that ``generate_download_url`` would refuse (checked at
        start-up, so a typo is not found by the first user who downloads)."""
        return []

    def check_configuration(self) -> list[CheckMessage]:
        """Problems in this storage's settings that would only show as failing uploads; no network calls."""
        return []

    def delete_many(self, keys_to_delete: Iterable[str]) -> dict[str, Exception]:
        """Delete several objects, returning the failures by key (missing objects are not failures)."""
        failures: dict[str, Exception] = {}
        for key in keys_to_delete:
            try:
                self.delete(key)
            except Exception as exc:  # noqa: BLE001 - reported to the caller per key
                failures[key] = exc
        return failures
