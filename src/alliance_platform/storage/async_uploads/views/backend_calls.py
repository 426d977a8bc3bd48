"""How the endpoints call a storage backend: the one place that knows both this site's URLs and the backend
contract.

Backends know no views, URL names or registries. Where a backend's URLs point back at this site (the filesystem
backend's upload endpoint, the multipart endpoints), the endpoint reverses them here and passes them as plain
``endpoints``. A backend written to the older contract (``generate_upload_url(name, field_id, *args, **kwargs)``
taking ``expire``, ``fields`` and ``conditions``, returning a dict or just a URL) keeps working: the keyword
arguments this library added reach only methods that name them, and a returned URL becomes a plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
import inspect
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf

from .. import multipart

if TYPE_CHECKING:
    from ..registry import AsyncFieldRegistry
    from ..storage.base import AsyncUploadStorage, GenerateUploadUrlResponse


def endpoint_urls(registry: AsyncFieldRegistry, storage: AsyncUploadStorage) -> dict[str, str]:
    """The URLs of the endpoints ``storage`` points browsers at (``endpoint_purposes``, and the multipart ones for
    a multipart backend), as ``registry`` serves them.

    Every plan asks for them, and reversing a URL name walks the URLconf each time, so they are kept per registry,
    purposes, URLconf and script prefix (the things a reversed URL depends on); a change of ``ROOT_URLCONF`` (as
    ``override_settings`` makes in tests) forgets them. The caller gets its own copy of the dict.
    """
    purposes = tuple(storage.endpoint_purposes)
    if storage.supports_multipart:
        purposes += tuple(multipart.ENDPOINT_PURPOSES)
    return dict(_reversed_urls(registry, purposes, get_urlconf(), get_script_prefix()))


@lru_cache(maxsize=256)
def _reversed_urls(
    registry: AsyncFieldRegistry, purposes: tuple[str, ...], urlconf: str | None, prefix: str
) -> dict[str, str]:
    # ``urlconf`` and ``prefix`` are part of the key only: ``reverse`` reads the same values from the thread.
    return {purpose: registry.reverse(purpose) for purpose in purposes}


def _forget_reversed_urls(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _reversed_urls.cache_clear()


setting_changed.connect(_forget_reversed_urls, dispatch_uid="alliance_platform_storage_endpoint_urls")


def call_backend(method: Callable[..., Any], *args: Any, contract: Mapping[str, Any], extras: Mapping[str, Any]) -> Any:
    """Call a backend ``method`` with the ``contract`` keyword arguments it accepts (by name or through
    ``**kwargs``) and only those ``extras`` it names as parameters: a method that forwards its ``**kwargs`` to
    another API (django-storages' ``url()``, boto3) is never handed a keyword it did not ask for."""
    accepted = _accepted_keywords(method)
    if accepted is None:  # no signature to read (a C callable): pass the contract alone
        return method(*args, **contract)
    named, takes_any = accepted
    kwargs = {name: value for name, value in contract.items() if takes_any or name in named}
    kwargs.update({name: value for name, value in extras.items() if name in named})
    return method(*args, **kwargs)


def _accepted_keywords(method: Callable[..., Any]) -> tuple[frozenset[str], bool] | None:
    """The keyword names ``method`` declares and whether it takes ``**kwargs``, or ``None`` without a signature.

    Reading a signature costs more than the rest of a backend call's bookkeeping, and a backend's methods do not
    change while the process runs, so the answer is kept per function (for a bound method, its underlying
    function: every instance's method has the same signature). Unhashable callables are read each time.
    """
    function = getattr(method, "__func__", method)
    try:
        return _KEYWORDS[function]
    except KeyError:
        if len(_KEYWORDS) >= _MAX_KEPT:  # callables made on the fly: start again rather than grow without end
            _KEYWORDS.clear()
        accepted = _KEYWORDS[function] = _read_keywords(method)
        return accepted
    except TypeError:  # unhashable
        return _read_keywords(method)


#: ``_accepted_keywords``' answers by function: a handful of backend methods per process, at most ``_MAX_KEPT``.
_KEYWORDS: dict[Any, tuple[frozenset[str], bool] | None] = {}
_MAX_KEPT = 512


def _read_keywords(method: Callable[..., Any]) -> tuple[frozenset[str], bool] | None:
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return None
    named = frozenset(
        name
        for name, parameter in parameters.items()
        if parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )
    takes_any = any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters.values())
    return named, takes_any


def as_upload_plan(value: Any, storage: AsyncUploadStorage) -> GenerateUploadUrlResponse:
    """The plan the browser follows, from what ``generate_upload_url`` returned.

    A plain URL becomes ``{"url": ..., "fields": {}}``, exactly as the reference library's view answered it: a
    plan without a ``method`` is uploaded to with a ``PUT`` of the raw file (what the widget does with it). A dict
    gets the members a client relies on when the backend left them out: ``fields`` (none), ``method`` (``POST``
    when there are form fields to send with the file, as in an S3 presigned POST, else ``PUT``) and ``provider``.
    Anything else is the backend's bug and raises ``TypeError`` naming it.
    """
    if isinstance(value, str) and value:
        return {"url": value, "fields": {}}  # type: ignore[typeddict-item]
    if isinstance(value, Mapping) and isinstance(value.get("url"), str):
        plan: dict[str, Any] = dict(value)
        plan["fields"] = dict(plan.get("fields") or {})
        plan["method"] = str(plan.get("method") or ("POST" if plan["fields"] else "PUT"))
        plan.setdefault("provider", storage.provider)
        return plan  # type: ignore[return-value]
    raise TypeError(
        f"{type(storage).__name__}.generate_upload_url returned {type(value).__name__}; it must return an upload "
        "URL or a dict with at least a 'url'."
    )
