"""Scanning uploads before they are promoted: the contract a scanner meets, and the library's one call to it.

A scanner is a callable (``STORAGE["SCANNER"]``, a dotted path or the callable itself)::

    def scan(open_file: Callable[[], IO[bytes]], *, temp_file: AsyncTempFile, field: AsyncFileField) -> ScanResult

``open_file()`` opens the exact version of the object that verification checked, straight from storage, so the
bytes go from the store through whichever process runs promotion (the task worker when ``PROMOTION`` is
``"task"``) and never through a web request. The scanner returns ``ScanResult.clean()`` or
``ScanResult.infected(threat)``; anything else it does (raising, a timeout, its daemon down) means the upload
could not be scanned: it is not promoted, the reason is written on its temp row and promotion is tried again
later, so an upload is never promoted unscanned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..fields import AsyncFileField
    from ..storage.base import AsyncUploadStorage
    from ..temp_files import AsyncTempFile


@dataclass(frozen=True)
class ScanResult:
    """A scanner's verdict on one upload; ``threat`` names what was found (empty when clean)."""

    threat: str = ""

    @property
    def is_clean(self) -> bool:
        return not self.threat

    @classmethod
    def clean(cls) -> ScanResult:
        return cls()

    @classmethod
    def infected(cls, threat: str) -> ScanResult:
        return cls(threat=threat or "unnamed threat")


class ScannerUnavailable(Exception):
    """The scanner could not give a verdict (its daemon is down, too slow, or refused the stream)."""


def awaiting_scan(storage: AsyncUploadStorage, key: str) -> bool:
    """Whether ``key`` must not be served yet: a scanner is configured and ``key`` is an upload still in the
    temporary area that it has not found clean (promotion happens only after a clean scan, so a promoted file
    always passed)."""
    from ...settings import storage_settings
    from ..temp_files import AsyncTempFile, ScanStatus

    if storage_settings.SCANNER is None or not storage.is_temporary_path(key):
        return False
    return not AsyncTempFile.objects.filter(key=key, scan_status=ScanStatus.CLEAN).exists()


def unscanned_download_message() -> str:
    from django.utils.translation import gettext

    from ...settings import storage_settings

    configured = storage_settings.UNSCANNED_DOWNLOAD_MESSAGE
    return (
        str(configured)
        if configured
        else gettext("This file is being checked for viruses. Please try again in a moment.")
    )


class Scanner(Protocol):
    def __call__(
        self, open_file: Callable[[], IO[bytes]], *, temp_file: AsyncTempFile, field: AsyncFileField
    ) -> ScanResult: ...


__all__ = ["ScanResult", "Scanner", "ScannerUnavailable", "awaiting_scan", "unscanned_download_message"]
