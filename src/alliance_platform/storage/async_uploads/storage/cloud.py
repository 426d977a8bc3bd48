"""What the S3 and Azure backends share: object-store naming, the choice between one upload and a multipart one,
ranged head reads and batched deletes.

Both sit on a django-storages backend that maps a storage name to a stored name under a ``location``; both take
large files in parts and read only the first bytes of an upload. Keeping that here means the two backends differ
only in the calls their services take.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from django.core.files.storage import Storage

# Imported only by the S3 and Azure modules, which report a missing django-storages themselves.
from storages.utils import clean_name

from ...settings import storage_settings
from .. import multipart
from .base import AsyncUploadStorage, GenerateUploadUrlResponse

MIB = 1024 * 1024


class CloudAsyncUploadStorage(AsyncUploadStorage):
    """A mixin for backends on an object store (S3, Azure Blob). Subclasses provide the hooks at the end."""

    supports_multipart = True

    #: The most bytes ``read_head`` asks for in one ranged read, whatever a sniffer wants: an upload's header
    #: never needs more, and a bigger range would only cost transfer.
    sniff_range_limit = 64 * MIB
    #: The most keys one batch delete request takes (the service's limit).
    delete_batch_size = 1

    # Names.

    def _stored_name(self, name: str) -> str:
        """The object's name in the bucket or container: ``name`` under the storage's ``location``."""
        raise NotImplementedError

    def _name(self, stored_name: str) -> str:
        """The storage name of a listed object: its stored name without the ``location``."""
        root = self._stored_name("x")[:-1]  # the location with its trailing slash, or ""
        return stored_name[len(root) :] if root and stored_name.startswith(root) else stored_name

    def _temporary_listing_prefix(self) -> str:
        """The stored-name prefix of the temporary area, ending in a slash so that a sibling directory that merely
        starts with the same letters is never listed as temporary."""
        return self._stored_name(self.temporary_area).rstrip("/") + "/"

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        # django-storages can be told to overwrite (AWS_S3_FILE_OVERWRITE, AZURE_OVERWRITE_FILES); picking a name
        # for an upload must never choose an existing object's.
        return Storage.get_available_name(self, clean_name(name), max_length=max_length)

    # Planning an upload.

    @property
    def multipart_threshold(self) -> int:
        """Declared sizes above this are uploaded in parts."""
        raise NotImplementedError

    def multipart_part_size(self, size: int) -> int:
        """The part size for an upload of ``size`` bytes."""
        raise NotImplementedError

    def create_multipart_upload(self, name: str, content_type: str | None) -> str:
        """Start a multipart upload of ``name`` and return its upload id."""
        raise NotImplementedError

    def single_upload_plan(
        self, name: str, *, expire: int, max_size: int | None, content_type: str | None, size: int | None = None
    ) -> GenerateUploadUrlResponse:
        """The plan of an upload in one request, signed for ``expire`` seconds (``size``: the declared size, when
        the client gave one)."""
        raise NotImplementedError

    def generate_upload_url(
        self,
        name: str,
        field_id: str,
        *,
        expire: int | None = None,
        max_size: int | None = None,
        content_type: str | None = None,
        size: int | None = None,
        endpoints: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> GenerateUploadUrlResponse:
        """One signed request, or a multipart plan when the declared ``size`` is above ``multipart_threshold``.

        ``fields`` and ``conditions`` (in ``kwargs``) are not signed: the policy is built from the declared type,
        the field's limit and this storage's own settings only, so a client's ``params`` cannot widen it.
        """
        if size is not None and size > self.multipart_threshold:
            return multipart.plan(
                key=name,
                field_id=field_id,
                upload_id=self.create_multipart_upload(name, content_type),
                size=size,
                provider=self.provider,
                endpoints=endpoints,
                part_size=self.multipart_part_size(size),
            )
        expire = storage_settings.UPLOAD_URL_EXPIRY if expire is None else expire
        return self.single_upload_plan(name, expire=expire, max_size=max_size, content_type=content_type, size=size)

    # Reading and deleting.

    def read_range(self, key: str, length: int, *, version: str = "") -> bytes:
        """The first ``length`` bytes of ``key`` in one ranged read (``b""`` for an empty object), in ``version``
        only (``ObjectChanged`` otherwise); ``FileNotFoundError`` when it does not exist."""
        raise NotImplementedError

    def read_head(self, key: str, length: int, *, version: str = "") -> bytes:
        return self.read_range(key, min(length, self.sniff_range_limit), version=version)

    def delete_batch(self, keys_to_delete: list[str]) -> dict[str, Exception]:
        """Delete at most ``delete_batch_size`` objects in one request; failures by key (missing is no failure)."""
        raise NotImplementedError

    def delete_many(self, keys_to_delete: Iterable[str]) -> dict[str, Exception]:
        """Batches of ``delete_batch_size`` keys, one request each."""
        failures: dict[str, Exception] = {}
        remaining = iter(keys_to_delete)
        while batch := list(islice(remaining, self.delete_batch_size)):
            failures.update(self.delete_batch(batch))
        return failures
