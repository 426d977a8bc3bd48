"""``AsyncFileListField``: several uploads in one serializer field, typically one child record per file.

An album's API can take ``{"name": ..., "photos": [{"key", "name"}, ...]}`` and create one ``Photo`` per item. Each
item is checked by the single-upload field bound to the child model's async field, so a list item passes or fails
exactly as the same value would alone; DRF's ``ListField`` reports the failures by position. Every item is a new
upload for a record that does not exist yet (see ``records.record_for``); updating existing children is what a
nested ``many=True`` serializer is for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..fields import AsyncFileField as AsyncFileModelField, AsyncImageField as AsyncImageModelField
from .fields import AsyncFileField, AsyncImageField


class AsyncFileListField(serializers.ListField):
    """A list of uploads for ``async_field``, the async field of the model each item will be saved in.

    The validated value is a list of ``AsyncFileInputData`` to assign to new records' ``async_field`` (see
    docs/drf.md for the recipe). ``max_files`` caps the length of the list (``None``: no cap) and is checked before
    any upload is looked at. Rendering accepts the related records themselves (a manager, a queryset or a list of
    ``async_field.model`` instances), so ``source="photos"`` shows each photo's file.
    """

    default_error_messages = {
        "max_length": _("Send at most {max_length} files."),
    }

    def __init__(self, *, async_field: AsyncFileModelField, max_files: int | None = None, **kwargs: Any):
        if not isinstance(async_field, AsyncFileModelField):
            raise TypeError(f"async_field must be a model AsyncFileField, not {type(async_field).__name__}.")
        if max_files is not None and max_files < 1:
            raise ValueError("max_files must be at least 1, or None for no limit.")
        child_class = AsyncImageField if isinstance(async_field, AsyncImageModelField) else AsyncFileField
        # An item is always a file: clearing one is leaving it out of the list.
        kwargs["child"] = child_class(async_field=async_field, allow_null=False)
        kwargs["max_length"] = max_files
        super().__init__(**kwargs)
        self.async_field = async_field
        self.max_files = max_files

    def __deepcopy__(self, memo: dict[int, Any]) -> AsyncFileListField:
        # As for the single field: the model field is shared configuration, never copied.
        memo[id(self.async_field)] = self.async_field
        return super().__deepcopy__(memo)

    def to_internal_value(self, data: Any) -> list[Any]:
        # The cap is checked first, so that an oversized request costs no storage reads; DRF's own check of
        # ``max_length`` only runs once every item has been verified.
        if self.max_files is not None and isinstance(data, list | tuple) and len(data) > self.max_files:
            self.fail("max_length", max_length=self.max_files)
        return super().to_internal_value(data)

    def to_representation(self, data: Any) -> list[Any]:
        if isinstance(data, models.Manager):
            data = data.all()
        if not isinstance(data, Iterable):
            return []
        model = self.async_field.model
        return [
            self.child.to_representation(getattr(item, self.async_field.attname) if isinstance(item, model) else item)
            if item is not None
            else None
            for item in data
        ]
