"""Pieces the endpoints share: JSON errors in the documented shape and record lookup."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.http import JsonResponse


def json_error(status: int, errors: dict[str, list[str]] | None = None, detail: str | None = None) -> JsonResponse:
    """Validation errors keyed by (camelCase) parameter, or a single ``detail`` for permission-like failures."""
    body: dict[str, Any] = dict(errors or {})
    if detail is not None:
        body["detail"] = detail
    return JsonResponse(body, status=status)


class InstanceLookupError(Exception):
    pass


def get_instance(model: type[models.Model], raw_pk: str) -> models.Model:
    """The record ``raw_pk`` names, or ``InstanceLookupError`` for a malformed or unknown id (never a 500)."""
    try:
        pk = model._meta.pk.to_python(raw_pk)
        return model._default_manager.get(pk=pk)
    except (ValidationError, ValueError, TypeError, OverflowError, model.DoesNotExist):
        raise InstanceLookupError from None
