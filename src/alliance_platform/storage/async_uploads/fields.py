"""Model fields whose value is a storage key that the browser uploaded to directly.

Assigning a temporary key and saving the record is all it takes: after the surrounding transaction commits, the
key is promoted to its final location (see ``promotion``). Validation of submitted keys lives in ``verification``
and is shared by Django forms and DRF.
"""

from __future__ import annotations

from collections.abc import Sequence
import hashlib
import posixpath
from typing import Any
from urllib.parse import urlencode

from django.apps import apps as global_apps
from django.core import checks
from django.core.files.images import ImageFile
from django.db import models
from django.db.models import signals
from django.db.models.fields.files import FieldFile, FileDescriptor, ImageFileDescriptor
from django.utils.translation import gettext, gettext_noop

from ..auth import resolve_perm_name
from . import keys, replaced_files
from .input_data import AsyncFileInputData
from .keys import final_filename, final_key
from .registry import AsyncFieldRegistry, default_async_field_registry
from .restrictions import FileRestrictions
from .storage.base import AsyncUploadStorage

default_max_length = 500
#: Megabytes (MiB).
default_max_size = 100

_RESOLVE = object()  # "not given": resolve the permission from the model when first needed
_PENDING_ATTR = "_async_upload_pending"


def display_name(key: str, storage: AsyncUploadStorage | None = None) -> str:
    """The filename a user should see for ``key``: its basename, without the random part of a temporary key (as
    ``storage`` classifies keys; the default prefix without one)."""
    name = posixpath.basename(key)
    temporary = storage.is_temporary_path(key) if storage is not None else keys.is_temporary_path(key)
    if temporary and "-" in name:
        name = name.split("-", 1)[1]
    return name


def pending_upload(instance: models.Model, attname: str) -> AsyncFileInputData | None:
    """The verified upload assigned to ``instance`` by a form or serializer and not saved yet.

    It lives on the instance (never on the shared field object) so that concurrent requests cannot mix up names or
    image dimensions.
    """
    return instance.__dict__.get(_PENDING_ATTR, {}).get(attname)


def set_pending_upload(instance: models.Model, attname: str, data: AsyncFileInputData | None) -> None:
    if data is None:
        # Loading records assigns every field: leave their __dict__ alone unless something is pending.
        instance.__dict__.get(_PENDING_ATTR, {}).pop(attname, None)
    else:
        instance.__dict__.setdefault(_PENDING_ATTR, {})[attname] = data


class AsyncFileDescriptor(FileDescriptor):
    """Lets ``record.file = AsyncFileInputData(...)`` work like a form's ``save_form_data``.

    DRF's ``ModelSerializer`` (and any code that builds records from validated data) assigns values with
    ``Model(**data)`` or ``setattr``; accepting verified input data here is what lets those paths keep the
    server-read name and image dimensions without a custom ``create()``/``update()``.
    """

    def __set__(self, instance: models.Model, value: Any) -> None:
        if isinstance(value, AsyncFileInputData):
            value.validate_key(self.field, instance.__dict__.get(self.field.attname))
            set_pending_upload(
                instance, self.field.attname, value if self.field.storage.is_temporary_path(value.key) else None
            )
            value = value.key
        else:
            set_pending_upload(instance, self.field.attname, None)
        super().__set__(instance, value)


class AsyncImageFileDescriptor(AsyncFileDescriptor, ImageFileDescriptor):
    pass


class AsyncFieldFile(FieldFile):
    @property
    def url(self) -> str:
        """The download endpoint, which checks ``perm_detail`` before redirecting to a short-lived URL."""
        self._require_file()
        return self.field.get_download_url(self.instance)

    @property
    def display_name(self) -> str:
        return display_name(self.name or "", self.storage)


class AsyncImageFieldFile(ImageFile, AsyncFieldFile):
    pass


class AsyncFileMixin:
    """What every async upload model field has, whatever Django file field it extends: the storage must be an
    ``AsyncUploadStorage``, the permissions, size and type limits the endpoints and verification enforce, the
    registration that gives the field its ``async_field_id``, and names that promotion can always store.

    ``AsyncFileField`` and ``AsyncImageField`` get their async behaviour from here, so ``isinstance(field,
    AsyncFileMixin)`` finds both (and any field a project builds the same way on another ``FileField`` subclass).
    It must come before the Django field class in the bases.
    """

    def __init__(
        self,
        verbose_name: str | None = None,
        name: str | None = None,
        upload_to: Any = "",
        storage: Any = None,
        *,
        max_length: int = default_max_length,
        perm_create: str | None | object = _RESOLVE,
        perm_update: str | None | object = _RESOLVE,
        perm_detail: str | None | object = _RESOLVE,
        max_size: float | None = default_max_size,
        file_restrictions: Sequence[str] | None = None,
        async_field_registry: AsyncFieldRegistry | None = None,
        download_params: dict[str, Any] | None = None,
        allow_overwrite: bool = False,
        delete_replaced: bool | None = None,
        **kwargs: Any,
    ):
        super().__init__(verbose_name, name, upload_to=upload_to, storage=storage, max_length=max_length, **kwargs)
        if not isinstance(self.storage, AsyncUploadStorage):
            # A field built before the app registry is ready (a module imported by settings) cannot translate:
            # the message must still reach the developer rather than an AppRegistryNotReady.
            # gettext_noop marks the text for the catalogs; it is translated below once that is possible.
            message = gettext_noop(
                "When using %(field)s the file storage class must extend AsyncUploadStorage (got %(storage)s). "
                "Pass storage= or set STORAGES['default'] to an async backend."
            )
            translate = gettext if global_apps.apps_ready else str
            raise ValueError(
                translate(message) % {"field": type(self).__name__, "storage": type(self.storage).__name__}
            )
        self._perms = {"create": perm_create, "update": perm_update, "detail": perm_detail}
        self.max_size = max_size
        self.file_restrictions = list(file_restrictions) if file_restrictions is not None else None
        self.async_field_registry = async_field_registry or default_async_field_registry
        self.download_params = dict(download_params or {})
        # Promotion never replaces an existing object unless this is set (or the storage asks for it, see
        # ``overwrites_existing``): with it, a file is promoted to exactly the name ``upload_to`` gives.
        self.allow_overwrite = allow_overwrite
        # Whether the file a record lets go of (replaced, cleared, or the record deleted) is deleted after the
        # commit; ``None`` follows ``DELETE_REPLACED_FILES``. See ``replaced_files``.
        self.delete_replaced = delete_replaced
        self.async_field_id: str | None = None

    # Configuration, resolved lazily because the model is only known after contribute_to_class.

    def _resolve_perm(self, action: str) -> str | None:
        value = self._perms[action]
        if value is _RESOLVE:
            return resolve_perm_name(self.model, action, action == "create")
        return value  # type: ignore[return-value]

    @property
    def perm_create(self) -> str | None:
        return self._resolve_perm("create")

    @property
    def perm_update(self) -> str | None:
        return self._resolve_perm("update")

    @property
    def perm_detail(self) -> str | None:
        return self._resolve_perm("detail")

    @property
    def overwrites_existing(self) -> bool:
        """Whether promotion replaces a file already at the generated name: the field's opt-in, or a storage
        whose own setting asks for it and is off by default (``AZURE_OVERWRITE_FILES``)."""
        return self.allow_overwrite or self.storage.promotion_overwrites

    @property
    def delete_replaced(self) -> bool | None:
        """This field's own choice (``None``: the setting's); see ``deletes_replaced`` for the outcome."""
        return self._delete_replaced

    @delete_replaced.setter
    def delete_replaced(self, value: bool | None) -> None:
        self._delete_replaced = value
        replaced_files.sync_delete_receivers()

    @property
    def deletes_replaced(self) -> bool:
        """Whether this field deletes the files its records let go of: ``delete_replaced``, else the setting."""
        return replaced_files.deletes_replaced(self)

    @property
    def max_size_bytes(self) -> int | None:
        return int(self.max_size * 1024 * 1024) if self.max_size else None

    @property
    def restrictions(self) -> FileRestrictions:
        return FileRestrictions(self.file_restrictions)

    # Django field protocol.

    def contribute_to_class(self, cls: type[models.Model], name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, **kwargs)
        # Historical models built by migrations use their own app registry and must not replace the real ones.
        if not cls._meta.abstract and cls._meta.apps is global_apps:
            self.async_field_id = self.async_field_registry.register_field(self)

    def check(self, **kwargs: Any) -> list:
        return [*super().check(**kwargs), *self._check_download_params()]

    def _check_download_params(self) -> list:
        unsupported = self.storage.unsupported_download_params(self.download_params)
        if not unsupported:
            return []
        return [
            checks.Error(
                f"download_params has names {type(self.storage).__name__} does not accept: {', '.join(unsupported)}. "
                "Every download of this field would fail.",
                obj=self,
                id="alliance_platform_storage.E001",
            )
        ]

    def deconstruct(self) -> tuple[str, str, list, dict]:
        name, _path, args, kwargs = super().deconstruct()
        # FileField omits its own default (100); ours differs, so state the length unless it is our default.
        kwargs.pop("max_length", None)
        if self.max_length != default_max_length:
            kwargs["max_length"] = self.max_length
        if self.allow_overwrite:
            kwargs["allow_overwrite"] = True
        if self.delete_replaced is not None:
            kwargs["delete_replaced"] = self.delete_replaced
        return name, f"alliance_platform.storage.async_uploads.models.{type(self).__name__}", args, kwargs

    def generate_filename(self, instance: models.Model | None, filename: str) -> str:
        """``upload_to``'s name for ``filename``, safe by the rule in ``keys`` so that promotion can always store it.

        Django's own rule empties some names ("😀" raises "Could not derive file name"), turns others into hidden
        files ("#.txt" becomes ".txt") and counts characters where filesystems count bytes. So ``upload_to`` is
        given ``keys.final_filename(filename)``, and what it and the storage return goes through ``keys.final_key``
        (a callable ``upload_to`` may return any basename): no empty or hidden basename, every one within 255
        bytes, the key within this field's ``max_length`` and 1024 bytes, each with room for the suffix of a taken
        name, and the extension kept.
        """
        return final_key(super().generate_filename(instance, final_filename(filename)), max_length=self.max_length)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        """Django's (which stores an uncommitted file first), then note the name the row held before this save, for
        deletion after the commit (see ``replaced_files``)."""
        file = super().pre_save(model_instance, add)
        replaced_files.capture(self, model_instance)
        return file

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        """Apply a cleaned form/serializer value: ``None`` keeps, ``False``/``""`` clears, input data assigns."""
        if data is None:
            return
        if data is False or data == "":
            set_pending_upload(instance, self.attname, None)
            setattr(instance, self.attname, "")
            return
        if isinstance(data, AsyncFileInputData):
            current = getattr(instance, self.attname)
            if current and current.name == data.key:
                return
            setattr(instance, self.attname, data)  # the descriptor keeps the verified name and dimensions
            return
        super().save_form_data(instance, data)

    def get_download_url(self, instance: models.Model, name: str | None = None) -> str:
        """The download endpoint's URL for this field of ``instance``, in the reference's form. Its last parameter
        changes with the stored name (``name``, else the instance's current one), so a replaced file never reuses
        a URL a browser or proxy may have cached; the endpoint itself ignores it."""
        if name is None:
            current = getattr(instance, self.attname, None)
            name = getattr(current, "name", current) or ""
        version = hashlib.shake_256(name.encode()).hexdigest(8)
        query = urlencode({"field_id": self.async_field_id, "instance_id": instance.pk, "_": version})
        return f"{self.async_field_registry.reverse('download_file')}?{query}"


class AsyncFileField(AsyncFileMixin, models.FileField):
    """A ``FileField`` whose file is uploaded by the browser straight to ``storage`` (an ``AsyncUploadStorage``)."""

    attr_class = AsyncFieldFile
    descriptor_class = AsyncFileDescriptor

    def formfield(self, **kwargs: Any):
        from . import forms

        return super().formfield(
            **{"form_class": forms.AsyncFileField, "async_field": self, "max_length": self.max_length, **kwargs}
        )


class AsyncImageField(AsyncFileField, models.ImageField):
    """An ``AsyncFileField`` for images; dimensions come from the server's reading of the uploaded file."""

    attr_class = AsyncImageFieldFile
    descriptor_class = AsyncImageFileDescriptor

    def __init__(self, *args: Any, suppress_pillow_check: bool = False, **kwargs: Any):
        kwargs.setdefault("file_restrictions", ["image/*"])
        self.suppress_pillow_check = suppress_pillow_check
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls: type[models.Model], name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, **kwargs)
        if not cls._meta.abstract and (self.width_field or self.height_field):
            # Django fills the dimension fields of a record built with a file from a post_init receiver connected
            # for ``cls`` alone; multi-table children and proxies send post_init as themselves and would keep
            # None. They are defined after ``cls``, so each one is connected as it is prepared.
            signals.class_prepared.connect(self._connect_inheriting_model)

    def _connect_inheriting_model(self, sender: type[models.Model], **kwargs: Any) -> None:
        model = getattr(self, "model", None)
        if model is None or sender is model or sender._meta.abstract or not issubclass(sender, model):
            return
        signals.post_init.connect(self.update_dimension_fields, sender=sender)

    def _check_image_library_installed(self) -> list:
        if self.suppress_pillow_check:
            return []
        return super()._check_image_library_installed()

    def formfield(self, **kwargs: Any):
        from . import forms

        return super().formfield(**{"form_class": forms.AsyncImageField, **kwargs})

    def update_dimension_fields(self, instance: models.Model, force: bool = False, *args: Any, **kwargs: Any):
        """Fill width/height from the verified upload rather than by opening the (possibly remote) file."""
        if not (self.width_field or self.height_field) or self.attname not in instance.__dict__:
            return
        file = getattr(instance, self.attname)
        pending = pending_upload(instance, self.attname)
        if file and pending is not None and pending.key == file.name:
            width, height = pending.width, pending.height
        elif not file and force:
            width = height = None
        else:
            return
        if self.width_field:
            setattr(instance, self.width_field, width)
        if self.height_field:
            setattr(instance, self.height_field, height)
