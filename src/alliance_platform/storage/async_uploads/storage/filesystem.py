"""``FileSystemAsyncUploadStorage``: the browser uploads to Django itself, which streams the body to disk.

Upload and download URLs are signed tokens bound to one key, with separate salts so that a download token can
never authorise an upload. Promotion is a hard link (O(1), no bytes copied) with a copy fallback across devices.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import contextlib
from datetime import datetime
import errno
import os
import posixpath
import secrets
import shutil
from typing import Any, BinaryIO
from urllib.parse import urlencode

from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.urls import URLPattern, path

from ...settings import storage_settings
from ..keys import TEMPORARY_PREFIX
from ..registry import AsyncFieldRegistry
from .base import AsyncUploadStorage, GenerateUploadUrlResponse, StoredObject

UPLOAD_SALT = "alliance_platform.storage.filesystem.upload"
DOWNLOAD_SALT = "alliance_platform.storage.filesystem.download"


class UploadTooLarge(Exception):
    pass


class UploadIncomplete(Exception):
    pass


class UploadVanished(Exception):
    """The partial file of an upload being received was removed under it."""


class FileSystemAsyncUploadStorage(AsyncUploadStorage, FileSystemStorage):
    provider = "filesystem"

    # Signing.

    def generate_upload_url(
        self,
        name: str,
        field_id: str,
        *,
        max_size: int | None = None,
        content_type: str | None = None,
        size: int | None = None,
        registry: AsyncFieldRegistry | None = None,
        **kwargs: Any,
    ) -> GenerateUploadUrlResponse:
        token = signing.dumps({"k": name, "f": field_id}, salt=UPLOAD_SALT, compress=True)
        headers = {"Content-Type": content_type} if content_type else {}
        endpoint = (registry or AsyncFieldRegistry.for_field_id(field_id)).reverse("filesystem_upload")
        return {
            "url": f"{endpoint}?{urlencode({'token': token})}",
            "fields": {},
            "method": "PUT",
            "provider": self.provider,
            "headers": headers,
        }

    def generate_download_url(self, key: str, field_id: str, **kwargs: Any) -> str:
        payload = {"k": key, "f": field_id, "n": kwargs.get("filename") or os.path.basename(key)}
        token = signing.dumps(payload, salt=DOWNLOAD_SALT, compress=True)
        registry = kwargs.get("registry") or AsyncFieldRegistry.for_field_id(field_id)
        return f"{registry.reverse('filesystem_download')}?{urlencode({'token': token})}"

    @staticmethod
    def load_upload_token(token: str) -> dict[str, str]:
        return _load(token, UPLOAD_SALT, storage_settings.UPLOAD_URL_EXPIRY)

    @staticmethod
    def load_download_token(token: str) -> dict[str, str]:
        return _load(token, DOWNLOAD_SALT, storage_settings.DOWNLOAD_URL_EXPIRY)

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

        The bytes go to a private partial file first (a short hidden name of its own, so that it fits wherever the
        final name does); only a complete upload is linked into place, and never over an existing object (a
        replayed URL gets ``FileExistsError``). ``UploadVanished`` when the partial file or its directory was
        removed while receiving (cleanup, or a person): nothing is left at ``name`` then.
        """
        final_path = self.path(name)
        if os.path.lexists(final_path):
            raise FileExistsError(name)
        directory = os.path.dirname(final_path)
        partial_path = os.path.join(directory, f".{secrets.token_hex(8)}.part")
        chunk_size = storage_settings.FILESYSTEM_UPLOAD_CHUNK_SIZE
        received = 0
        try:
            os.makedirs(directory, exist_ok=True, mode=self.directory_permissions_mode or 0o777)
            fd = os.open(partial_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileNotFoundError as exc:
            raise UploadVanished(name) from exc  # the date directory was pruned between the two calls
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
            if self.file_permissions_mode is not None:
                os.chmod(partial_path, self.file_permissions_mode)
            os.link(partial_path, final_path)
        except FileNotFoundError as exc:
            raise UploadVanished(name) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial_path)
        return received

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
        root = self.path(TEMPORARY_PREFIX)
        cutoff = older_than.timestamp()
        for directory, _subdirectories, files in os.walk(root):
            for name in files:
                path = os.path.join(directory, name)
                try:
                    modified = os.stat(path).st_mtime
                except FileNotFoundError:
                    continue  # removed while we were walking
                if modified < cutoff:
                    yield posixpath.join(TEMPORARY_PREFIX.rstrip("/"), os.path.relpath(path, root).replace(os.sep, "/"))

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
        root = TEMPORARY_PREFIX.rstrip("/")
        while pending:
            directory = pending.pop(0)
            if not directory.startswith(TEMPORARY_PREFIX) or directory == root:
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


def _load(token: str, salt: str, max_age: int) -> dict[str, str]:
    payload = signing.loads(token, salt=salt, max_age=max_age)
    if not isinstance(payload, dict) or not isinstance(payload.get("k"), str) or not isinstance(payload.get("f"), str):
        raise signing.BadSignature("Malformed token payload")
    return payload
