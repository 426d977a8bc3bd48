"""Models of the ``alliance_platform_storage`` app (Django looks for them here)."""

from .async_uploads.temp_files import AsyncTempFile

__all__ = ["AsyncTempFile"]
