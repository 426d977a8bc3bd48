"""System checks for misconfiguration, reported by ``manage.py check`` instead of failing at import time."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.urls import NoReverseMatch


@register(Tags.urls)
def check_registry_urls(app_configs=None, **kwargs) -> list[Warning]:
    """Every registry with fields must have its URLs included, or uploads fail with a 404 in the browser.

    A settings module without ``ROOT_URLCONF`` (a script, a migration-only project) serves no URLs to check.
    """
    from .async_uploads.registry import AsyncFieldRegistry

    if not getattr(settings, "ROOT_URLCONF", None):
        return []

    problems = []
    for registry in list(AsyncFieldRegistry._all):
        if not registry.fields_by_id:
            continue
        try:
            registry.reverse("generate_upload_url")
        except NoReverseMatch:
            problems.append(
                Warning(
                    f"The URLs of async field registry {registry.name!r} are not included.",
                    hint=_include_hint(registry),
                    id="alliance_platform_storage.W001",
                )
            )
    return problems


def _include_hint(registry) -> str:
    """Lines to paste into the URLconf: the import of the registry (found where one of its fields' models lives,
    where registries are usually defined) and the ``path()`` entry, under a prefix of its own."""
    from .async_uploads.registry import default_async_field_registry

    if registry is default_async_field_registry:
        module, attribute, prefix = (
            "alliance_platform.storage.async_uploads.registry",
            "default_async_field_registry",
            "",
        )
    else:
        module, attribute = _where_defined(registry)
        prefix = f"{registry.name}-"
    entry = f'path("{prefix}async-uploads/", include({attribute}.get_url_patterns())),'
    if module is None:
        return f"Add this to the urlpatterns of your URLconf, {attribute} being that registry: {entry}"
    return (
        f"Add to your URLconf: `from {module} import {attribute}` and, in urlpatterns, "
        f"`{entry}` (with `from django.urls import include, path`)."
    )


def _where_defined(registry) -> tuple[str | None, str]:
    for field in registry.fields_by_id.values():
        module = sys.modules.get(field.model.__module__)
        for name, value in vars(module or object).items():
            if value is registry:
                return field.model.__module__, name
    return None, f"{registry.name}_registry"


@register()
def check_storage_configuration(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Settings that would only show as uploads failing in the browser: asked of each backend, offline."""
    from .async_uploads.cors import cors_targets
    from .async_uploads.registry import AsyncFieldRegistry
    from .settings import storage_settings

    problems: list[CheckMessage] = []
    for storage in AsyncFieldRegistry.all_storages():
        problems.extend(storage.check_configuration())
    targets = cors_targets()
    if targets and not storage_settings.CORS_ORIGINS:
        places = ", ".join(target.description for target in targets)
        problems.append(
            Warning(
                f"Browsers upload straight to {places}, which must allow your site's origin in its CORS rules; "
                "no CORS_ORIGINS are configured.",
                hint="Set ALLIANCE_PLATFORM['STORAGE']['CORS_ORIGINS'] to your site's origins and run "
                "`manage.py async_uploads_cors --apply` (it prints the rules without --apply). If the rules are "
                "managed elsewhere, silence this with SILENCED_SYSTEM_CHECKS.",
                id="alliance_platform_storage.W010",
            )
        )
    # The same storage object may be shared by several fields: report each problem once.
    unique: dict[tuple[str | None, str], CheckMessage] = {}
    for problem in problems:
        unique.setdefault((problem.id, problem.msg), problem)
    return list(unique.values())


@register()
def check_background_work(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Settings of task promotion and scanning whose mistakes would otherwise surface on the first upload saved:
    then every record would stay on its temporary file."""
    from .settings import storage_settings

    problems: list[CheckMessage] = []
    if storage_settings.PROMOTION not in ("request", "task"):
        problems.append(
            Error(
                f"STORAGE['PROMOTION'] is {storage_settings.PROMOTION!r}.",
                hint='Use "request" (promote after the saving request commits) or "task" (enqueue a task).',
                id="alliance_platform_storage.E030",
            )
        )
    elif storage_settings.promotes_in_tasks and not _tasks_framework_installed():
        problems.append(
            Error(
                "STORAGE['PROMOTION'] is \"task\", but neither django.tasks (Django 6) nor django-tasks is installed.",
                hint="pip install 'alliance-platform-storage[tasks]' and configure TASKS, or promote in the request.",
                id="alliance_platform_storage.E031",
            )
        )
    try:
        scanner = storage_settings.scanner_function()
    except ImportError as exc:
        problems.append(
            Error(
                f"STORAGE['SCANNER'] cannot be imported: {exc}",
                hint="Name a callable by its dotted path, e.g. "
                '"alliance_platform.storage.async_uploads.scanning.clamav.scan".',
                id="alliance_platform_storage.E032",
            )
        )
        return problems
    from .async_uploads.scanning.clamav import ClamAVScanner, parse_address

    if isinstance(scanner, ClamAVScanner) and not scanner.address:
        try:
            parse_address(storage_settings.CLAMD_ADDRESS)
        except ValueError as exc:
            problems.append(
                Error(
                    f"STORAGE['CLAMD_ADDRESS'] is not an address of clamd: {exc}",
                    hint="Use unix:///path/to/clamd.sock or tcp://host:port.",
                    id="alliance_platform_storage.E033",
                )
            )
    return problems


def _tasks_framework_installed() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(name) is not None for name in ("django.tasks", "django_tasks"))
