"""Django REST framework serializer fields.

Not available yet in this release: the names exist so imports resolve, using them raises ``ImproperlyConfigured``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured


class AsyncFileField:
    def __init__(self, *args: Any, **kwargs: Any):
        raise ImproperlyConfigured("The DRF serializer fields are not available in this release yet.")


class AsyncImageField(AsyncFileField):
    pass


__all__ = ["AsyncFileField", "AsyncImageField"]
