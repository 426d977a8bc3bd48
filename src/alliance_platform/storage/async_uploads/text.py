"""The one rule for text that may reach a database column, a header or a storage key."""

from __future__ import annotations


def has_control_characters(value: str) -> bool:
    """C0 controls and DEL: no key, filename, type or ETag we issue contains them, some databases cannot store NUL,
    and newlines in a header split it."""
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in value)
