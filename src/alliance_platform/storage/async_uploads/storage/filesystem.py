"""``FileSystemAsyncUploadStorage``: the browser uploads to Django itself, which streams the body to disk.

Upload and download URLs carry signed tokens (``tokens``) bound to one key, with separate salts so that a download
token can never authorise an upload. Promotion is a hard link (O(1), no bytes copied) with a copy fallback across devices.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
import contextlib
from dataclasses import dataclass
from datetime import datetime
import errno
import os
import posixpath
import secrets
import shutil
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlencode

from django.core.files.storage import FileSystemStorage
from django.urls import URLPattern, path

from ...settings import storage_settings
from .. import tokens
from .base import AsyncUploadStorage, GenerateUploadUrlResponse, StoredObject

if TYPE_CHECKING:
    from ..registry import AsyncFieldRegistry

UPLOAD_SALT = "alliance_platform.storage.filesystem.upload"
DOWNLOAD_SALT = "alliance_platform.storage.filesystem.download"
#: How often ``receive_upload`` creates the partial file again when its directory is pruned before any byte is
#: written (cleanup removes empty date directories).
_CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class UploadToken:
    """An upload URL's credential: the one temporary ``key`` the body may be stored at, for one field."""

    key: str
    field_id: str


@dataclass(frozen=True)
class DownloadToken:
    """A download URL's credential: the stored ``key``, the field whose storage holds it, and the ``filename`` the
    browser saves it as."""

    key: str
    field_id: str
    filename: str


def _endpoint(endpoints: Mapping[str, str] | None, purpose: str) -> str:
    """The URL of one of this site's endpoints, as the views layer passed it."""
    if not endpoints or purpose not in endpoints:
        raise ValueError(f"FileSystemAsyncUploadStorage needs the URL of its {purpose!r} endpoint in endpoints.")
    return endpoints[purpose]


class UploadTooLarge(Exception):
    pass


class UploadIncomplete(Exception):
    pass


class UploadVanished(Exception):
    """The partial file of an upload being received, or its directory, was removed under it (by cleanup or a
    person): the body cannot be stored, and nothing is left at the key."""


class FileSystemAsyncUploadStorage(AsyncUploadStorage, FileSystemStorage):
    provider = "filesystem"
    endpoint_purposes = ("filesystem_upload", "filesystem_download")

    # Signing.

    def generate_upload_url(
        self,
        name: str,
        field_id: str,
        *,
        content_type: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> GenerateUploadUrlResponse:
        """A ``PUT`` to this site's upload endpoint with a token for ``name``; the token expires with
        ``UPLOAD_URL_EXPIRY`` (checked when it is loaded), and the endpoint enforces the field's size limit."""
        token = tokens.sign(UploadToken(key=name, field_id=field_id), salt=UPLOAD_SALT)
        headers = {"Content-Type": content_type} if content_type else {}
        return {
            "url": f"{_endpoint(endpoints, 'filesystem_upload')}?{urlencode({'token': token})}",
            "fields": {},
            "method": "PUT",
            "provider": self.provider,
            "headers": headers,
        }

    def generate_download_url(
        self,
        key: str,
        field_id: str,
        *,
        filename: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> str:
        payload = DownloadToken(key=key, field_id=field_id, filename=filename or os.path.basename(key))
        token = tokens.sign(payload, salt=DOWNLOAD_SALT)
        return f"{_endpoint(endpoints, 'filesystem_download')}?{urlencode({'token': token})}"

    @staticmethod
    def load_upload_token(token: str) -> UploadToken:
        """What an upload URL's token allows; ``signing.SignatureExpired`` after ``UPLOAD_URL_EXPIRY``,
        ``signing.BadSignature`` for a token this storage did not sign as an upload token."""
        return tokens.load(token, UploadToken, salt=UPLOAD_SALT, max_age=storage_settings.UPLOAD_URL_EXPIRY)

    @staticmethod
    def load_download_token(token: str) -> DownloadToken:
        """What a download URL's token serves; ``signing.SignatureExpired`` after ``DOWNLOAD_URL_EXPIRY``,
        ``signing.BadSignature`` for a token this storage did not sign as a download token."""
        return tokens.load(token, DownloadToken, salt=DOWNLOAD_SALT, max_age=storage_settings.DOWNLOAD_URL_EXPIRY)

    def get_url_patterns(self, registry: AsyncFieldRegistry) -> list[URLPattern]:
        from ..views.filesystem import FileSystemDownloadView, FileSystemUploadView

        return [
            path(
                "filesystem-upload/",
                FileSystemUploadView.as_view(registry=registry),
                name=registry.url_name("filesystem_upload"),
            ),
            path(
                "filesystem-download/",
                FileSystemDownloadView.as_view(registry=registry),
                name=registry.url_name("filesystem_download"),
            ),
        ]

    # Receiving an upload.

    def receive_upload(self, name: str, stream: BinaryIO, length: int, max_bytes: int | None) -> int:
        """Stream ``length`` bytes from ``stream`` to ``name`` without holding more than one chunk in memory.

        The bytes go to a private partial file first, under a short hidden name of its own in the same directory
        (``.<random>.part``), so that it fits wherever the final name does, whatever the final name's length; only
        a complete upload is linked into place, and never over an existing object (a replayed URL gets
        ``FileExistsError``).

        Cleanup may delete the partial file or prune the (apparently empty) date directory while a slow upload is
        arriving. The directory is simply created again if that happens before any byte is written; afterwards the
        bytes received so far are lost, so ``UploadVanished`` is raised, as soon as the next chunk shows the file
        gone rather than after the whole body. Nothing is ever left at ``name`` then.
        """
        final_path = self.path(name)
        if os.path.lexists(final_path):
            raise FileExistsError(name)
        directory = os.path.dirname(final_path)
        partial_path, fd = self._create_partial_file(name, directory)
        chunk_size = storage_settings.FILESYSTEM_UPLOAD_CHUNK_SIZE
        received = 0
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                while received < length:
                    chunk = stream.read(min(chunk_size, length - received))
                    if not chunk:
                        raise UploadIncomplete(f"received {received} of {length} bytes")
                    received += len(chunk)
                    if max_bytes is not None and received > max_bytes:
                        raise UploadTooLarge(name)
                    out.write(chunk)
                    if os.fstat(out.fileno()).st_nlink == 0:
                        # Writing to a removed file succeeds, into an inode nobody can reach: stop reading.
                        raise UploadVanished(name)
            if self.file_permissions_mode is not None:
                os.chmod(partial_path, self.file_permissions_mode)
            # Fails with FileNotFoundError if the file or its directory was removed since the last chunk.
            os.link(partial_path, final_path)
        except FileNotFoundError as exc:
            raise UploadVanished(name) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial_path)
        return received

    def _create_partial_file(self, name: str, directory: str) -> tuple[str, int]:
        """The path and open descriptor of a new, exclusively created partial file in ``directory``.

        Cleanup prunes empty date directories, and may do so between creating the directory and the file:
        nothing has been received yet, so the directory is created again (a few times, then ``UploadVanished``).
        """
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        vanished: FileNotFoundError | None = None
        for _attempt in range(_CREATE_ATTEMPTS):
            partial_path = os.path.join(directory, f".{secrets.token_hex(8)}.part")
            try:
                os.makedirs(directory, exist_ok=True, mode=self.directory_permissions_mode or 0o777)
                return partial_path, os.open(partial_path, flags, 0o666)
            except FileNotFoundError as exc:
                vanished = exc
        raise UploadVanished(name) from vanished

    # Object operations.

    def stat_object(self, key: str) -> StoredObject | None:
        """Uploads here are write-once (a second upload to a key is refused), so there is no version to pin."""
        try:
            return StoredObject(size=os.stat(self.path(key)).st_size)
        except FileNotFoundError:
            return None

    def copy_file(self, from_key: str, to_key: str, *, overwrite: bool = False, source_version: str = "") -> None:
        """A hard link (O(1), no bytes copied), or a byte copy across devices. With ``overwrite`` the new file is
        prepared under a hidden sibling name and renamed over ``to_key``, so readers see the old or the new file,
        never a partial one. Uploads here are write-once, so ``source_version`` has nothing to pin."""
        source, target = self.path(from_key), self.path(to_key)
        os.makedirs(os.path.dirname(target), exist_ok=True, mode=self.directory_permissions_mode or 0o777)
        if not overwrite:
            self._link_or_copy(source, target)
            return
        staging = os.path.join(os.path.dirname(target), f".{secrets.token_hex(8)}.promoting")
        self._link_or_copy(source, staging)
        try:
            os.replace(staging, target)
        except BaseException:
            os.remove(staging)
            raise

    def _link_or_copy(self, source: str, target: str) -> None:
        try:
            os.link(source, target)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
            self._copy_without_overwrite(source, target)

    def list_temporary_objects(self, older_than: datetime) -> Iterator[str]:
        """Includes the ``.part`` files of uploads whose process died while receiving them."""
        area = self.temporary_area
        root = self.path(area)
        cutoff = older_than.timestamp()
        for directory, _subdirectories, files in os.walk(root):
            for name in files:
                path = os.path.join(directory, name)
                try:
                    modified = os.stat(path).st_mtime
                except FileNotFoundError:
                    continue  # removed while we were walking
                if modified < cutoff:
                    yield posixpath.join(area.rstrip("/"), os.path.relpath(path, root).replace(os.sep, "/"))

    def delete_many(self, keys_to_delete: Iterable[str]) -> dict[str, Exception]:
        failures: dict[str, Exception] = {}
        directories: set[str] = set()
        for key in keys_to_delete:
            try:
                os.remove(self.path(key))
            except FileNotFoundError:
                pass
            except Exception as exc:  # noqa: BLE001 - reported to the caller per key
                failures[key] = exc
                continue
            directories.add(posixpath.dirname(key))
        self._remove_empty_temporary_directories(directories)
        return failures

    def _remove_empty_temporary_directories(self, directories: set[str]) -> None:
        """Date directories of the temporary area are pruned once empty, deepest first."""
        pending = sorted(directories, key=len, reverse=True)
        area = self.temporary_area
        root = area.rstrip("/")
        while pending:
            directory = pending.pop(0)
            if not directory.startswith(area) or directory == root:
                continue
            try:
                os.rmdir(self.path(directory))
            except OSError:
                continue  # not empty (or already gone)
            parent = posixpath.dirname(directory)
            if parent not in pending:
                pending.append(parent)
                pending.sort(key=len, reverse=True)

    @staticmethod
    def _copy_without_overwrite(source: str, target: str) -> None:
        # Different devices (or no hard links): copy bytes, still refusing to replace an existing file.
        with open(source, "rb") as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
