"""Which permission guards which action, and how it is checked.

Django's own ``ModelBackend`` never grants a permission for a specific object, while object-permission backends
(django-rules, django-guardian) grant them per object. Checking "for this object, or globally" makes the default
work with both without configuration.
"""

from __future__ import annotations

from typing import Literal

from django.db import models

from .settings import storage_settings

Action = Literal["create", "update", "detail"]

_DJANGO_ACTIONS = {"create": "add", "update": "change", "detail": "view", "delete": "delete"}


def default_resolve_perm_name(model: type[models.Model], action: str, is_global: bool) -> str:
    """Map an action to Django's built-in permission: create -> add, update -> change, detail -> view."""
    codename_action = _DJANGO_ACTIONS.get(action, action)
    opts = model._meta
    return f"{opts.app_label}.{codename_action}_{opts.model_name}"


def resolve_perm_name(model: type[models.Model], action: str, is_global: bool) -> str:
    """Resolve a permission name through the configurable ``RESOLVE_PERM_NAME`` setting."""
    return storage_settings.resolve_perm_name_function()(model, action, is_global)


def has_permission(user, perm: str | None, obj: models.Model | None = None) -> bool:
    """``None`` disables the check; with an object, either an object or a global grant is enough."""
    if perm is None:
        return True
    if obj is not None and user.has_perm(perm, obj):
        return True
    return user.has_perm(perm)
