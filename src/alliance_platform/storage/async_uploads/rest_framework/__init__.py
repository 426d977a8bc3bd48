"""Django REST framework serializer fields for async uploads (needs the ``drf`` extra).

An API client plans and uploads a file exactly like the widget does, then sends ``{"key", "name"}`` as the field's
value; responses carry ``{"key", "name", "url"}``. See ``fields`` for the validation and ``records`` for how each
item of a nested or ``many=True`` payload is matched with its own record; ``lists`` takes several uploads in one
field (one new child record each).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

try:
    import rest_framework  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImproperlyConfigured(
        "The async upload serializer fields need Django REST framework: "
        'pip install "alliance-platform-storage[drf]" (or add djangorestframework to your dependencies).'
    ) from exc

from .authentication import authenticate
from .fields import AsyncFileField, AsyncImageField
from .lists import AsyncFileListField

try:
    import drf_spectacular  # noqa: F401
except ImportError:
    pass
else:
    # Defining the extension registers it with drf-spectacular; nothing else has to import it.
    from . import schema  # noqa: F401

__all__ = ["AsyncFileField", "AsyncFileListField", "AsyncImageField", "authenticate"]
