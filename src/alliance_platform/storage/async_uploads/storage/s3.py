"""``S3AsyncUploadStorage``: uploads straight to Amazon S3 (or an S3-compatible service).

Not available yet in this release: importing the class works, instantiating it raises ``ImproperlyConfigured``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .base import AsyncUploadStorage


class S3AsyncUploadStorage(AsyncUploadStorage):
    provider = "s3"

    def __init__(self, *args: Any, **kwargs: Any):
        raise ImproperlyConfigured(
            "S3AsyncUploadStorage is not available in this release yet; use FileSystemAsyncUploadStorage."
        )
