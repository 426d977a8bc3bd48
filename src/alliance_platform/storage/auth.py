"""Which permission guards which action, and how it is checked.

Permission names follow the Alliance Platform convention when its core package (alliance-platform-core) is
installed, because projects that use the platform name their permissions (and write their rules) that way:
``app.model_create``, ``app.model_update``, ``app.model_detail``. Without it, the defaults are Django's own
add/change/view permissions, which exist for every model and so work with no configuration.

Django's own ``ModelBackend`` never grants a permission for a specific object, while object-permission backends
(django-rules, django-guardian) grant them per object. Checking "for this object, or globally" makes the default
work with both without configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from .settings import storage_settings

Action = Literal["create", "update", "detail"]

_DJANGO_ACTIONS = {"create": "add", "update": "change", "detail": "view", "delete": "delete"}


def django_resolve_perm_name(model: type[models.Model], action: str, is_global: bool) -> str:
    """Map an action to Django's built-in permission: create -> add, update -> change, detail -> view.

    Set ``RESOLVE_PERM_NAME`` to this to keep Django's names even when alliance-platform-core is installed.
    """
    codename_action = _DJANGO_ACTIONS.get(action, action)
    opts = model._meta
    return f"{opts.app_label}.{codename_action}_{opts.model_name}"


def _core_resolver() -> Callable[[type[models.Model], str, bool], str] | None:
    """alliance-platform-core's ``resolve_perm_name``, or ``None`` when that package is not installed.

    Looked up on each call rather than at import so that installing or removing the package (or a test that hides
    it) needs no restart of anything but the process.
    """
    try:
        from alliance_platform.core import auth as core_auth
    except ImportError:
        return None
    core_resolve = core_auth.resolve_perm_name

    def resolve(model: type[models.Model], action: str, is_global: bool) -> str:
        try:
            return core_resolve(model, action, is_global)
        except ImproperlyConfigured:
            # The core package insists on an ALLIANCE_PLATFORM setting, which this library does not require:
            # without one, its documented default naming is what it would have used.
            default = getattr(core_auth, "default_resolve_perm_name", None)
            if default is None:
                raise
            return default(model._meta.app_config, model, action, is_global)

    return resolve


def default_resolve_perm_name(model: type[models.Model], action: str, is_global: bool) -> str:
    """The default ``RESOLVE_PERM_NAME``: alliance-platform-core's ``resolve_perm_name(model, action, is_global)``
    when that package is installed (``app.model_create``...), otherwise ``django_resolve_perm_name``."""
    core = _core_resolver()
    if core is not None:
        return core(model, action, is_global)
    return django_resolve_perm_name(model, action, is_global)


def resolve_perm_name(model: type[models.Model], action: str, is_global: bool) -> str:
    """Resolve a permission name through the configurable ``RESOLVE_PERM_NAME`` setting."""
    return storage_settings.resolve_perm_name_function()(model, action, is_global)


def has_permission(user, perm: str | None, obj: models.Model | None = None) -> bool:
    """``None`` disables the check; with an object, either an object or a global grant is enough."""
    if perm is None:
        return True
    # ``has_perm(perm, None)`` is how the reference asks for a global grant; backends treat it as ``has_perm(perm)``.
    if user.has_perm(perm, obj):
        return True
    return obj is not None and user.has_perm(perm)
