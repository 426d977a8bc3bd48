"""Registries map the ids that browsers send back to the model fields they stand for.

A field id is derived from the model label and field name only, so it is stable across deployments and processes
and reveals nothing beyond what the page already shows.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING
from weakref import WeakSet

from django.urls import URLPattern, path, reverse

if TYPE_CHECKING:
    from .fields import AsyncFileField
    from .storage.base import AsyncUploadStorage


def _short_hash(value: str) -> str:
    return hashlib.shake_256(value.encode()).hexdigest(8)


def field_id_for(model_label: str, field_name: str) -> str:
    """The id of the field ``field_name`` of the model labelled ``model_label`` (``app_label.ObjectName``).

    A function of its own so that the upgrade from the reference's schema, which knows fields only by these two
    names, derives the same ids the registry does."""
    return f"{_short_hash(model_label)}.{_short_hash(field_name)}.{field_name}"


class AsyncFieldRegistry:
    """Holds the async fields one set of URLs serves. Most projects only need ``default_async_field_registry``."""

    _all: WeakSet[AsyncFieldRegistry] = WeakSet()

    def __init__(self, name: str):
        self.name = name
        self.fields_by_id: dict[str, AsyncFileField] = {}
        AsyncFieldRegistry._all.add(self)

    def __repr__(self) -> str:
        return f"<AsyncFieldRegistry {self.name!r} with {len(self.fields_by_id)} fields>"

    @staticmethod
    def generate_id(field: AsyncFileField) -> str:
        return field_id_for(field.model._meta.label, field.name)

    def register_field(self, field: AsyncFileField) -> str:
        field_id = self.generate_id(field)
        self.fields_by_id[field_id] = field
        return field_id

    def get_field(self, field_id: str) -> AsyncFileField | None:
        return self.fields_by_id.get(field_id)

    @classmethod
    def find_field(cls, field_id: str) -> AsyncFileField | None:
        """Look a field up in every registry (cleanup does not know which registry a temp row came from)."""
        for registry in list(cls._all):
            field = registry.get_field(field_id)
            if field is not None:
                return field
        return None

    @classmethod
    def all_fields(cls) -> list[AsyncFileField]:
        """Every registered field, in every registry."""
        return [field for registry in list(cls._all) for field in registry.fields_by_id.values()]

    @classmethod
    def all_storages(cls) -> list[AsyncUploadStorage]:
        """Every storage object a registered field uses, plus the default storage when it is an async one (the
        storage of rows whose field no longer exists). Equal configurations in different objects stay apart."""
        from django.core.files.storage import default_storage

        from .storage.base import AsyncUploadStorage

        found: dict[int, AsyncUploadStorage] = {}
        for field in cls.all_fields():
            found.setdefault(id(field.storage), field.storage)
        if isinstance(default_storage, AsyncUploadStorage):
            found.setdefault(id(default_storage), default_storage)
        return list(found.values())

    def url_name(self, purpose: str) -> str:
        """URL names are per registry so that several registries can be included side by side."""
        return f"async_uploads_{self.name}_{purpose}"

    def reverse(self, purpose: str) -> str:
        return reverse(self.url_name(purpose))

    def storages(self) -> list[AsyncUploadStorage]:
        """One storage per backend class used by this registry's fields (and the default storage)."""
        from django.core.files.storage import default_storage

        from .storage.base import AsyncUploadStorage

        candidates = [field.storage for field in self.fields_by_id.values()]
        if isinstance(default_storage, AsyncUploadStorage):
            candidates.append(default_storage)
        by_class: dict[type, AsyncUploadStorage] = {}
        for storage in candidates:
            by_class.setdefault(type(storage), storage)
        return list(by_class.values())

    @property
    def attached_view(self) -> str:
        """What ``reverse()`` takes for this registry's upload-URL endpoint (the reference's name for it)."""
        return self.url_name("generate_upload_url")

    @property
    def attached_download_view(self) -> str:
        """What ``reverse()`` takes for this registry's download endpoint (the reference's name for it)."""
        return self.url_name("download_file")

    def get_url_patterns(self) -> list[URLPattern]:
        """The endpoints for this registry; include them under any prefix."""
        from .views import DiscardUploadView, DownloadRedirectView, GenerateUploadUrlView
        from .views.multipart import multipart_url_patterns

        patterns = [
            path(
                "generate-upload-url/",
                GenerateUploadUrlView.as_view(registry=self),
                name=self.url_name("generate_upload_url"),
            ),
            path(
                "discard-upload/",
                DiscardUploadView.as_view(registry=self),
                name=self.url_name("discard_upload"),
            ),
            path(
                "download-file/",
                DownloadRedirectView.as_view(registry=self),
                name=self.url_name("download_file"),
            ),
        ]
        patterns += multipart_url_patterns(self)
        seen_routes = {str(p.pattern) for p in patterns}
        for storage in self.storages():
            for pattern in storage.get_url_patterns(self):
                if str(pattern.pattern) not in seen_routes:
                    seen_routes.add(str(pattern.pattern))
                    patterns.append(pattern)
        return patterns


default_async_field_registry = AsyncFieldRegistry("default")
