"""System checks for misconfiguration, reported by ``manage.py check`` instead of failing at import time."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.urls import NoReverseMatch


@register(Tags.urls)
def check_registry_urls(app_configs=None, **kwargs) -> list[Warning]:
    """Every registry with fields must have its URLs included, or uploads fail with a 404 in the browser."""
    from .async_uploads.registry import AsyncFieldRegistry

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
                    hint=f"Add path('async-uploads/', include(<registry {registry.name!r}>.get_url_patterns())) "
                    "to your URLconf.",
                    id="alliance_platform_storage.W001",
                )
            )
    return problems


@register()
def check_request_middleware(app_configs=None, **kwargs) -> list[Warning]:
    """Without the middleware, forms cannot tell who submits an upload and refuse every new upload."""
    from .async_uploads.registry import AsyncFieldRegistry

    if not any(registry.fields_by_id for registry in list(AsyncFieldRegistry._all)):
        return []
    middleware = "alliance_platform.storage.middleware.AsyncUploadRequestMiddleware"
    if middleware in getattr(settings, "MIDDLEWARE", []):
        return []
    return [
        Warning(
            "AsyncUploadRequestMiddleware is not installed, so forms cannot verify who submits an upload.",
            hint=f"Add {middleware!r} to MIDDLEWARE after AuthenticationMiddleware.",
            id="alliance_platform_storage.W002",
        )
    ]
