"""Signed tokens: the one way this package makes and checks the credentials it hands to browsers.

A token authorises one thing (uploading to one key, downloading one file, continuing one multipart upload), so:

* each purpose has its own salt, and a token signed for one purpose never loads as another (a download URL cannot
  be replayed as an upload URL);
* its payload is a frozen dataclass whose field names are the names in the signed JSON and whose annotations are
  the only accepted types. A payload that does not match exactly (a missing, extra or mistyped field) is refused
  like a forged one, with ``signing.BadSignature``: it was not made by this code, or by an older version of it,
  and a view must answer it with a 403, never a 500.

Signing with the project's ``SECRET_KEY`` (Django's ``signing``) means a token needs no database row to check.
"""

from __future__ import annotations

import dataclasses
from functools import cache
import typing
from typing import Any, TypeVar

from django.core import signing

#: The types a payload field may declare: what JSON round-trips without loss.
_SUPPORTED_TYPES = (str, int, bool)

Payload = TypeVar("Payload")


def sign(payload: Any, *, salt: str) -> str:
    """A token carrying ``payload`` (an instance of a frozen payload dataclass) for the purpose ``salt`` names.

    The payload is checked against its declared types first, so a wrong value is a bug found where it is made,
    not a token that every later check refuses.
    """
    if not dataclasses.is_dataclass(payload) or isinstance(payload, type):
        raise TypeError(f"A token payload must be a dataclass instance, not {type(payload).__name__}.")
    data = {field.name: getattr(payload, field.name) for field in dataclasses.fields(payload)}
    problem = _mismatch(type(payload), data)
    if problem:
        raise TypeError(f"Cannot sign {type(payload).__name__}: {problem}.")
    return signing.dumps(data, salt=salt, compress=True)


def load(token: str, payload_type: type[Payload], *, salt: str, max_age: int | float | None) -> Payload:
    """The ``payload_type`` that ``token`` carries, if it was signed for ``salt`` less than ``max_age`` seconds ago.

    Raises ``signing.SignatureExpired`` for an expired token and ``signing.BadSignature`` for anything else that
    is not exactly what ``sign`` makes: callers tell the two apart only to phrase their error.
    """
    data = signing.loads(token, salt=salt, max_age=max_age)
    problem = _mismatch(payload_type, data)
    if problem:
        raise signing.BadSignature(f"Malformed token payload: {problem}")
    return payload_type(**data)


@cache
def _declared_types(payload_type: type) -> dict[str, type]:
    """Field name to declared type, resolved once per payload class (annotations are strings under
    ``from __future__ import annotations``)."""
    if not dataclasses.is_dataclass(payload_type):
        raise TypeError(f"{payload_type.__name__} is not a dataclass.")
    hints = typing.get_type_hints(payload_type)
    declared = {}
    for field in dataclasses.fields(payload_type):
        expected = hints[field.name]
        if expected not in _SUPPORTED_TYPES:
            raise TypeError(f"{payload_type.__name__}.{field.name} must be declared as str, int or bool.")
        declared[field.name] = expected
    return declared


def _mismatch(payload_type: type, data: Any) -> str:
    """What is wrong with ``data`` as the fields of ``payload_type``, or ``""`` when nothing is."""
    declared = _declared_types(payload_type)
    if not isinstance(data, dict):
        return "not an object"
    if set(data) != set(declared):
        return "unexpected fields"
    for name, expected in declared.items():
        value = data[name]
        # bool is a subclass of int: an int field must not accept True (a bool field never accepts 1).
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            return f"{name} is not a {expected.__name__}"
    return ""
