"""``AsyncFileField`` / ``AsyncImageField`` for serializers: the same value and the same checks as the form field.

Input is ``{"key", "name", "width"?, "height"?}`` (``"url"`` is accepted back and ignored); ``null`` clears a file
that may be blank. Output is ``{"key", "name", "url"}`` or ``null``. The validated value is an
``AsyncFileInputData`` holding the server's reading of the upload; assigning it to the model field (which
``ModelSerializer.create``/``update`` do) keeps that reading, and saving promotes the file as it does for forms.

Every request-specific fact (who submits, which record an item edits) is looked up while validating that value and
passed along, never stored on the field: one field object serves every item of a ``many=True`` payload.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError as DjangoValidationError
from django.db.models.fields.files import FieldFile
from django.utils.functional import keep_lazy_text
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty, get_error_detail

from ..fields import AsyncFileField as AsyncFileModelField, display_name
from ..input_data import INPUT_MESSAGES, AsyncFileInputData, InvalidInputData, validate_input
from ..requester import Requester, current_requester
from ..verification import MESSAGES, UploadRejected, VerificationContext, verify_submission
from .records import record_for, submissions_of


@keep_lazy_text
def _format_style(message: str) -> str:
    """The shared messages use Django's ``%(name)s`` placeholders; DRF's ``fail()`` formats with ``str.format``.

    Lazy for lazy messages: they are translated when an error is reported, in the language of that request.
    """
    escaped = message.replace("{", "{{").replace("}", "}}")
    return re.sub(r"%\((\w+)\)s", r"{\1}", escaped)


class _SubmittedObject(dict):
    """A submitted object that also carries the item (mapping) it came in, from ``get_value`` to ``run_validation``.

    The item identifies the record a ``many=True`` element edits; carrying it with the value keeps the shared field
    object free of per-item state. Anywhere else (``serializer.data`` after errors, renderers) it is the plain value.
    """

    item: Any = None


class _SubmittedString(str):
    """The same for a value sent as a JSON string (form-encoded requests)."""

    item: Any = None


class _Representation(dict):
    """The output object; prints as JSON so that the browsable API's form shows a value it can submit back."""

    def __str__(self) -> str:
        return json.dumps(self)


class AsyncFileField(serializers.Field):
    """Serializer field for a model ``AsyncFileField``.

    In a ``ModelSerializer`` the model field is found from ``Meta.model`` and the field's source; in a plain
    ``Serializer`` pass it as ``async_field=Model._meta.get_field("name")``.
    """

    default_error_messages = {
        **{code: _format_style(message) for code, message in {**MESSAGES, **INPUT_MESSAGES}.items()},
        "duplicate": _("This upload is submitted more than once in this request. Upload each file separately."),
    }

    def __init__(self, *, async_field: AsyncFileModelField | None = None, max_length: int | None = None, **kwargs: Any):
        # ModelSerializer passes what it would give DRF's FileField; these do not apply to a key.
        kwargs.pop("allow_empty_file", None)
        kwargs.pop("use_url", None)
        self._allow_null_given = "allow_null" in kwargs
        super().__init__(**kwargs)
        self.async_field = async_field
        self.max_length = max_length

    def __deepcopy__(self, memo: dict[int, Any]) -> AsyncFileField:
        # DRF copies declared fields per serializer by deep-copying their arguments; the model field is
        # configuration shared by every copy and must stay the same object.
        if self.async_field is not None:
            memo[id(self.async_field)] = self.async_field
        return super().__deepcopy__(memo)

    def bind(self, field_name: str, parent: Any) -> None:
        super().bind(field_name, parent)
        model_field = self.model_field
        if model_field is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} {field_name!r} on {type(parent).__name__} needs a model AsyncFileField: use "
                "it in a ModelSerializer whose model has one under this source, or pass async_field=."
            )
        if not self._allow_null_given:
            # A file that may be blank can be cleared; null is how an API says so.
            self.allow_null = model_field.blank or model_field.null
        if self.max_length is None:
            self.max_length = model_field.max_length

    @property
    def model_field(self) -> AsyncFileModelField | None:
        if self.async_field is not None:
            return self.async_field
        model = getattr(getattr(self.parent, "Meta", None), "model", None)
        if model is None or not self.source or "." in self.source or self.source == "*":
            return None
        try:
            field = model._meta.get_field(self.source)
        except FieldDoesNotExist:
            return None
        return field if isinstance(field, AsyncFileModelField) else None

    # Input.

    def get_value(self, dictionary: Any) -> Any:
        value = super().get_value(dictionary)
        if isinstance(value, dict):
            value = _SubmittedObject(value)
        elif isinstance(value, str) and value:
            value = _SubmittedString(value)
        else:
            return value  # missing, null, or a type that fails parsing whatever record it is for
        value.item = dictionary
        return value

    def run_validation(self, data: Any = empty) -> Any:
        """``""`` (clear the file) or a verified ``AsyncFileInputData``; missing values follow DRF's rules."""
        item = data.item if isinstance(data, _SubmittedObject | _SubmittedString) else None
        if self.read_only or data is empty:
            return super().run_validation(data)
        submitted = self._parse(data)
        if submitted is None:
            if not self.allow_null:
                self.fail("null" if data is None else "required")
            return ""
        value = self._verify(submitted, item)
        self.run_validators(value)
        return value

    def to_internal_value(self, data: Any) -> AsyncFileInputData:
        submitted = self._parse(data)
        if submitted is None:
            self.fail("required")
        return self._verify(submitted, None)

    def _parse(self, data: Any) -> AsyncFileInputData | None:
        try:
            submitted = AsyncFileInputData.from_value(data)
        except InvalidInputData as exc:
            self.fail(exc.code, keys=exc.detail)
        if submitted is not None:
            try:
                validate_input(submitted, self.max_length)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(get_error_detail(exc)) from None
        return submitted

    def _verify(self, submitted: AsyncFileInputData, item: Any) -> AsyncFileInputData:
        field = self.model_field
        root_data = getattr(self.root, "initial_data", None)
        if field.storage.is_temporary_path(submitted.key) and submissions_of(root_data, submitted.key) > 1:
            # Validation runs before any item is saved, so the upload's temp row cannot tell yet.
            self.fail("duplicate")
        record = record_for(self.parent, item)
        current = getattr(record, field.attname, None) if record is not None else None
        context = VerificationContext(
            requester=self._requester(), instance=record, current_key=(current.name or None) if current else None
        )
        try:
            return verify_submission(field, submitted, context)
        except UploadRejected as exc:
            self.fail(exc.code, **exc.params)

    def _requester(self) -> Requester | None:
        request = self.context.get("request")
        if request is None:
            return current_requester()  # the request being handled (see requester)
        return Requester.from_request(request)

    # Output.

    def to_representation(self, value: Any) -> dict[str, Any] | None:
        if isinstance(value, AsyncFileInputData):
            return _Representation(key=value.key, name=value.name, url=None)
        if isinstance(value, str):
            storage = self.model_field.storage if self.model_field is not None else None
            return _Representation(key=value, name=display_name(value, storage), url=None) if value else None
        if not isinstance(value, FieldFile) or not value.name:
            return None
        url = None
        if value.instance is not None and value.instance.pk is not None:
            url = value.url
            request = self.context.get("request")
            if request is not None:
                url = request.build_absolute_uri(url)
        return _Representation(key=value.name, name=display_name(value.name, value.storage), url=url)


class AsyncImageField(AsyncFileField):
    """Serializer field for a model ``AsyncImageField``: width and height come from the server's reading of the
    image (any the client sends are ignored) and fill the model's ``width_field``/``height_field`` on save."""
