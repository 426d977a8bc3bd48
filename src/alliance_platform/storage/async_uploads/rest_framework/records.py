"""Which record a submitted value belongs to, and whether the request submits the same upload twice.

A serializer field object is shared by every item of a ``many=True`` payload (DRF reuses one child serializer), so
nothing about "the current item" may be stored on it. Instead the record is looked up again for each value from
the serializer tree and the item's own data: the serializer's instance, the matching element of a list
serializer's instance, or the related object(s) of the parent serializer's record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import json
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.fields import SkipField


def record_for(serializer: serializers.Field | None, item: Mapping[str, Any] | None) -> models.Model | None:
    """The saved record that ``serializer`` validates ``item`` for, or ``None`` when the item creates a new one.

    An element of a list of uploads (``AsyncFileListField``, whose child's parent is a list field, not a
    serializer) always creates a record of its own, so it has none.
    """
    if not isinstance(serializer, serializers.BaseSerializer):
        return None
    parent = serializer.parent
    if isinstance(parent, serializers.ListSerializer):
        own = serializer.instance
        if isinstance(own, models.Model):
            # Set for each item by a ListSerializer.run_child_validation (DRF's documented pattern for bulk updates).
            return own
        candidates = parent.instance
        if candidates is None and parent.parent is not None:
            candidates = _related(parent, record_for(parent.parent, None))
        return _match(serializer, candidates, item)
    if isinstance(serializer.instance, models.Model):
        return serializer.instance
    if parent is not None and serializer.field_name:
        related = _related(serializer, record_for(parent, None))
        return related if isinstance(related, models.Model) else None
    return None


def _related(field: serializers.Field, outer: models.Model | None) -> Any:
    """What a nested serializer would render for ``outer``: a record, a manager, or ``None``."""
    if outer is None or outer.pk is None:
        return None
    try:
        return field.get_attribute(outer)
    except (ObjectDoesNotExist, AttributeError, KeyError, SkipField):
        return None


def _match(serializer: serializers.BaseSerializer, candidates: Any, item: Mapping[str, Any] | None) -> Any:
    """The element of ``candidates`` whose primary key the item carries; ``None`` for a new item."""
    if candidates is None or not isinstance(item, Mapping):
        return None
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    raw_pk = _item_pk(serializer, item, model)
    if raw_pk is None or raw_pk == "" or isinstance(raw_pk, bool):
        return None
    if isinstance(candidates, models.Manager):
        candidates = candidates.all()
    if isinstance(candidates, models.QuerySet) and candidates._result_cache is None:
        try:
            return candidates.filter(pk=candidates.model._meta.pk.to_python(raw_pk)).first()
        except (ValidationError, ValueError, TypeError, OverflowError):
            return None
    if not isinstance(candidates, Iterable):
        return None
    return next((c for c in candidates if isinstance(c, models.Model) and str(c.pk) == str(raw_pk)), None)


def _item_pk(serializer: serializers.BaseSerializer, item: Mapping[str, Any], model: type[models.Model] | None) -> Any:
    pk_sources = {"pk"}
    if model is not None:
        pk_sources |= {model._meta.pk.name, model._meta.pk.attname}
    else:
        pk_sources.add("id")
    fields = getattr(serializer, "fields", {})
    for name, field in fields.items():
        if field.source in pk_sources and name in item:
            return item[name]
    return next((item[name] for name in sorted(pk_sources) if name in item), None)


def submissions_of(data: Any, key: str, limit: int = 2) -> int:
    """How many values in a request's data submit ``key`` (counting stops at ``limit``).

    Values are the documented objects, or the same as JSON strings (form-encoded requests).
    """
    count = 0
    pending = [data]
    while pending and count < limit:
        value = pending.pop()
        if isinstance(value, Mapping):
            if value.get("key") == key:
                count += 1
            else:
                pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
        elif isinstance(value, str) and key in value and value.lstrip().startswith("{"):
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                continue
            if isinstance(parsed, Mapping) and parsed.get("key") == key:
                count += 1
    return count
