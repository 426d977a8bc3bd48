"""``AsyncFileInputData``: the value a form or API client submits for an async file field.

On the wire it is the JSON object ``{"key", "name", "width"?, "height"?, "error"?}``; ``"url"`` (which the server
sends when rendering an existing file) is accepted back and ignored; any other key is refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import json
from typing import Any

from django.core import validators
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from .text import has_control_characters

ALLOWED_KEYS = frozenset({"key", "name", "width", "height", "error", "url"})
#: A cap on any submitted name or key, whatever the field: nothing we issue is longer, and it bounds the work (and
#: the database lookups) a hostile value can cause before the field's own ``max_length`` is checked.
MAX_NAME_LENGTH = 1000

#: What is wrong with a value that is not the documented shape, by ``InvalidInputData.code``; forms and DRF phrase
#: their errors from these. "Bad input for file field", "Invalid input keys received" and "There was an unexpected
#: error" are the texts projects (and their tests) already know; what follows them is detail.
INPUT_MESSAGES: dict[str, Any] = {
    "invalid_json": _("Bad input for file field: the submitted value is not valid JSON."),
    "invalid_shape": _('Bad input for file field: the submitted value must be an object with a "key" and a "name".'),
    "unknown_keys": _("Invalid input keys received: %(keys)s"),
    "too_long": _("The submitted file name or key is too long."),
    "upload_error": _("There was an unexpected error: %(error)s"),
}

#: How much of a client-reported upload error is repeated back.
MAX_ERROR_LENGTH = 200


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
    def from_value(cls, value: Any) -> AsyncFileInputData | None:
        """Parse a JSON string or an already-decoded mapping (an ``AsyncFileInputData`` is taken as it is); ``None``
        for an empty value.

        Only the shape is checked here; ``validate_input`` holds the checks of a well-formed value.
        """
        if value is None or value == "" or value == {}:
            return None
        if isinstance(value, AsyncFileInputData):
            return value
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
        if len(name) > MAX_NAME_LENGTH or len(key) > MAX_NAME_LENGTH:
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

    def validate_key(self, field: Any, existing_value: Any) -> None:
        """Refuse (``ValidationError`` keyed by the field's name, "Invalid upload received") a key that is neither a
        temporary upload key nor ``existing_value``, the field's current value (a ``FieldFile``, a key or ``None``).

        Assigning input data to a model field runs this, so code that builds records from submitted values cannot
        be steered into taking over another record's file; ``verification.check_key`` is the rule.
        """
        from .verification import UploadRejected, check_key

        current = getattr(existing_value, "name", existing_value)
        try:
            check_key(field, self.key, current or None)
        except UploadRejected as exc:
            raise ValidationError({field.name: [ValidationError(str(exc), code=exc.code)]}) from None

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})


@deconstructible
class AsyncFileInputDataValidator:
    """Refuses a value that is not ``AsyncFileInputData`` ("Bad input for file field") and one carrying the error
    the browser reported for its upload ("There was an unexpected error: ..."): either way there is no upload to
    verify, and the user should see why."""

    def __call__(self, value: Any) -> None:
        if not isinstance(value, AsyncFileInputData):
            raise ValidationError(INPUT_MESSAGES["invalid_shape"], code="invalid_shape")
        if value.error:
            raise ValidationError(
                INPUT_MESSAGES["upload_error"], code="upload_error", params={"error": value.error[:MAX_ERROR_LENGTH]}
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncFileInputDataValidator)

    def __hash__(self) -> int:
        return hash(type(self))


@deconstructible
class AsyncFileInputDataLengthValidator(validators.MaxLengthValidator):
    """``MaxLengthValidator`` for ``AsyncFileInputData``: measures its ``key``, the value the database column
    (the model field's ``max_length``) has to hold; any other value is measured as itself.

    The submitted ``name`` is only what the user called the file; the server keeps its own record of it and
    shortens final names to fit, so a long name is never a reason to refuse an upload.
    """

    code = "too_long"

    def clean(self, x: Any) -> int:
        if isinstance(x, AsyncFileInputData):
            return len(x.key)
        return len(x)


def validate_input(value: AsyncFileInputData, max_length: int | None) -> None:
    """The checks a parsed value must pass before verification looks at its upload: no error reported by the
    browser, and a key that fits the field's column (``max_length``), so that a key that could never be stored is
    refused for its length rather than looked up. Forms and DRF both call this; it raises ``ValidationError``."""
    AsyncFileInputDataValidator()(value)
    if max_length is not None:
        AsyncFileInputDataLengthValidator(max_length)(value)
