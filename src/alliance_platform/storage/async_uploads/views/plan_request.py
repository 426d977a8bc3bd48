"""The plan endpoint's request parameters: which are accepted, how they are cleaned, and the 400's messages.

Each parameter is checked by a Django form field, so the rules and messages are Django's own. The fields are not
wrapped in a ``Form``: a form copies all its fields (``copy.deepcopy``) and makes a bound field for each on every
request, which was a tenth of a plan's CPU time. The fields here are made once and only their ``clean()`` runs;
a form field keeps no state between calls, so sharing them between requests and threads is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from ..keys import MAX_FILENAME_LENGTH, sanitize_filename
from ..text import has_control_characters


def _plain_text(value: str) -> str:
    """Refuse text with control characters (the one rule, ``text.has_control_characters``): NUL and newlines can
    break databases and headers, so they are refused before anything else looks at the value."""
    if has_control_characters(value):
        raise ValidationError(gettext_lazy("Control characters are not allowed."), code="control_characters")
    return value


def _clean_filename(raw: str) -> str:
    """The name the user sees (``keys.sanitize_filename``: unicode kept, at most 255 UTF-8 bytes), or a 400.

    A long name is shortened rather than refused, keeping its extension; only input far beyond any real name
    (a path included) is refused, before any work is done on it. Every name accepted here can be stored and
    promoted: the temporary and final names are derived from it by the rule in ``keys``.
    """
    limit = MAX_FILENAME_LENGTH * 4
    if len(raw) > limit:
        raise ValidationError(
            gettext_lazy("The filename is too long (at most %(limit)d characters)."),
            code="too_long",
            params={"limit": limit},
        )
    name = sanitize_filename(raw)
    if not name:
        raise ValidationError(
            gettext_lazy("The filename is empty once directories and special characters are removed."),
            code="empty",
        )
    return name


def _clean_params(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        params = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValidationError(gettext_lazy("params must be a JSON object."), code="invalid") from None
    if not isinstance(params, dict):
        raise ValidationError(gettext_lazy("params must be a JSON object."), code="invalid")
    return params


#: Each parameter (by its documented camelCase name): the field that checks it, and what then cleans its value.
PARAMETERS: dict[str, tuple[forms.Field, Callable[[Any], Any] | None]] = {
    "fieldId": (forms.CharField(max_length=300), None),
    "filename": (forms.CharField(max_length=4096, validators=[_plain_text], strip=False), _clean_filename),
    "contentType": (forms.CharField(max_length=255, required=False, validators=[_plain_text]), None),
    "size": (forms.IntegerField(min_value=0, max_value=2**53, required=False), None),
    "instanceId": (forms.CharField(max_length=255, required=False, validators=[_plain_text]), None),
    "params": (forms.CharField(required=False, max_length=10000), _clean_params),
}

#: The snake_case spellings also accepted; the camelCase one wins when a request sends both.
ALIASES = {"field_id": "fieldId", "content_type": "contentType", "instance_id": "instanceId"}


def clean_plan_request(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned parameters of a plan request (``request.GET`` or ``request.POST``) and the errors by parameter.

    When the errors are empty, the values hold every parameter; otherwise only those that were valid.
    """
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, (field, then) in PARAMETERS.items():
        raw = data.get(name)
        if raw is None:
            alias = _ALIAS_OF.get(name)
            raw = data.get(alias) if alias else None
        try:
            value = field.clean(raw)
            values[name] = value if then is None else then(value)
        except ValidationError as error:
            errors[name] = list(error.messages)
    return values, errors


_ALIAS_OF = {name: alias for alias, name in ALIASES.items()}
