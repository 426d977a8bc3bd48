"""``AsyncFileInputData``: the value a form or API client submits for an async file field.

On the wire it is the JSON object ``{"key", "name", "width"?, "height"?, "error"?}``; ``"url"`` (which the server
sends when rendering an existing file) is accepted back and ignored; any other key is refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import json
from typing import Any

from .text import has_control_characters

ALLOWED_KEYS = frozenset({"key", "name", "width", "height", "error", "url"})
MAX_NAME_LENGTH = 1000

#: What is wrong with a value that is not the documented shape, by ``InvalidInputData.code``; forms and DRF phrase
#: their errors from these.
INPUT_MESSAGES: dict[str, str] = {
    "invalid_json": "The submitted value is not valid JSON.",
    "invalid_shape": 'The submitted value must be an object with a "key" and a "name".',
    "unknown_keys": "The submitted value has unknown keys: %(keys)s.",
    "too_long": "The submitted file name or key is too long.",
}


class InvalidInputData(ValueError):
    """The submitted value is not the documented shape; ``code`` names what is wrong."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


@dataclass
class AsyncFileInputData:
    key: str
    name: str
    width: int | None = None
    height: int | None = None
    error: str | None = None

    @classmethod
    def from_value(cls, value: Any, max_length: int | None = None) -> AsyncFileInputData | None:
        """Parse a JSON string or an already-decoded mapping; ``None`` for an empty value.

        ``max_length`` is the model field's key length: a longer key could never be stored, whatever it names.
        """
        if value is None or value == "" or value == {}:
            return None
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise InvalidInputData("invalid_json") from None
            if value is None or value == "":
                return None
        if not isinstance(value, dict):
            raise InvalidInputData("invalid_shape")
        unknown = sorted(set(value) - ALLOWED_KEYS, key=str)
        if unknown:
            raise InvalidInputData("unknown_keys", ", ".join(map(str, unknown)))
        key, name = value.get("key"), value.get("name")
        if not isinstance(key, str) or not key or not isinstance(name, str) or not name:
            raise InvalidInputData("invalid_shape")
        if len(name) > MAX_NAME_LENGTH or len(key) > min(MAX_NAME_LENGTH, max_length or MAX_NAME_LENGTH):
            raise InvalidInputData("too_long")
        if has_control_characters(key) or has_control_characters(name):
            # No storage key or filename we issue contains them; some databases cannot even store NUL.
            raise InvalidInputData("invalid_shape")
        width, height, error = value.get("width"), value.get("height"), value.get("error")
        for dimension in (width, height):
            if dimension is not None and (not isinstance(dimension, int) or isinstance(dimension, bool)):
                raise InvalidInputData("invalid_shape")
        if error is not None and not isinstance(error, str):
            raise InvalidInputData("invalid_shape")
        return cls(key=key, name=name, width=width, height=height, error=error or None)

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})
