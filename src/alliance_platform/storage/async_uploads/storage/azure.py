"""``AzureAsyncUploadStorage``: uploads straight to Azure Blob Storage.

Not available yet in this release: importing the class works, instantiating it raises ``ImproperlyConfigured``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .base import AsyncUploadStorage


class AzureAsyncUploadStorage(AsyncUploadStorage):
    provider = "azure"

    def __init__(self, *args: Any, **kwargs: Any):
        raise ImproperlyConfigured(
            "AzureAsyncUploadStorage is not available in this release yet; use FileSystemAsyncUploadStorage."
        )
