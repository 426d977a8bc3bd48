"""Django form fields and the ``AsyncFileInput`` widget.

The form submits only a JSON value ``{"key", "name"}``; the file itself went straight to storage. Cleaning parses
that value and runs the shared verification, so a user sees a message next to the field when an upload is not
acceptable.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urljoin

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.fields.files import FieldFile
from django.forms.boundfield import BoundField
from django.templatetags.static import static
from django.utils.translation import gettext, gettext_lazy as _, ngettext_lazy

from . import keys
from .fields import (
    AsyncFileField as AsyncFileModelField,
    AsyncFileMixin,
    AsyncImageField as AsyncImageModelField,
    display_name,
)
from .input_data import (
    INPUT_MESSAGES,
    MAX_NAME_LENGTH,
    AsyncFileInputData,
    AsyncFileInputDataLengthValidator,
    AsyncFileInputDataValidator,
    InvalidInputData,
    validate_input,
)
from .requester import current_requester
from .storage.base import AsyncUploadStorage
from .temp_files import AsyncTempFile
from .verification import MESSAGES, UploadRejected, VerificationContext, verify_submission
from .widget_messages import widget_messages

__all__ = [
    "AsyncFileField",
    "AsyncFileInput",
    "AsyncFileInputData",
    "AsyncFileInputDataLengthValidator",
    "AsyncFileInputDataValidator",
    "AsyncImageField",
    "AsyncMultipleFileField",
    "AsyncMultipleFileInput",
]

SCRIPT = "alliance_platform/storage/async-upload.js"
# The modules next to SCRIPT that it loads, directly or through one another (static/alliance_platform/storage/).
SCRIPT_MODULES = (
    "widget.js",
    "transfer.js",
    "single-upload.js",
    "multipart.js",
    "resume-store.js",
    "files.js",
    "messages.js",
    "requests.js",
    "multiple-widget.js",
    "drop-target.js",
    "queue.js",
    "progress.js",
    "history-memory.js",
)


def script_module_urls(script_url: str) -> list[str]:
    """Where the browser will fetch the script's modules from, so the page can preload them all at once.

    The script names them by relative path, which the browser resolves against the script's own URL: they are
    fetched next to it under their plain names, even when that URL is a hashed one, unless the staticfiles storage
    rewrote those paths to hashed names at ``collectstatic`` (``support_js_module_import_aggregation``). Preloading
    any other URL would only fetch each module twice.
    """
    if _rewrites_module_imports():
        return [static(f"alliance_platform/storage/{name}") for name in SCRIPT_MODULES]
    return [urljoin(script_url, name) for name in SCRIPT_MODULES]


def _rewrites_module_imports() -> bool:
    if not apps.is_installed("django.contrib.staticfiles"):
        return False
    from django.contrib.staticfiles.storage import staticfiles_storage

    return bool(getattr(staticfiles_storage, "support_js_module_import_aggregation", False))


class AsyncFileInput(forms.Widget):
    """Uploads the picked file straight to storage and submits its key (see the widget's JS for the browser side)."""

    template_name = "alliance_platform/storage/widgets/async_file_input.html"
    needs_multipart_form = False

    class Media:
        css = {"all": ["alliance_platform/storage/async-upload.css"]}

    def __init__(self, attrs: dict[str, Any] | None = None, async_field: AsyncFileModelField | None = None):
        super().__init__(attrs)
        self.async_field = async_field
        self.instance_pk: Any = None
        #: The form field's label, which names the file input where the page gives it no ``<label>`` (the
        #: columns of an admin tabular inline); set by the bound field.
        self.field_label: str = ""
        #: Set for each render by the bound field: key -> {"name", "error"} of each submitted file the server
        #: refused. The widget shows them as refused (``data-refused``), never as uploaded.
        self.refused: dict[str, dict[str, str]] = {}

    def format_value(self, value: Any) -> str:
        data = self._as_input_data(value)
        if data is None:
            return ""
        rendered: dict[str, Any] = {"key": data.key, "name": data.name}
        url = self._download_url(data.key)
        if url is None and isinstance(value, FieldFile):
            url = _field_file_url(value)  # a widget used on its own knows the file's field and record only
        if url:
            rendered["url"] = url
        return json.dumps(rendered)

    def _as_input_data(self, value: Any) -> AsyncFileInputData | None:
        if isinstance(value, FieldFile):
            return (
                AsyncFileInputData(key=value.name, name=display_name(value.name, value.storage)) if value.name else None
            )
        if isinstance(value, AsyncFileInputData):
            return value
        try:
            data = AsyncFileInputData.from_value(value)
        except InvalidInputData:
            return None
        if data is not None and self._is_temporary(data.key):
            # Re-rendered after a validation error: show the server's record of the name, never the client's.
            recorded = AsyncTempFile.objects.filter(key=data.key).values_list("original_filename", flat=True).first()
            data = AsyncFileInputData(key=data.key, name=recorded or display_name(data.key, self._storage))
        return data

    @property
    def _storage(self) -> AsyncUploadStorage | None:
        return self.async_field.storage if self.async_field is not None else None

    def _is_temporary(self, key: str) -> bool:
        """As the field's storage classifies keys (a widget without a field has only the default rule)."""
        storage = self._storage
        return storage.is_temporary_path(key) if storage is not None else keys.is_temporary_path(key)

    def _download_url(self, key: str) -> str | None:
        field = self.async_field
        if field is None or self.instance_pk is None or self._is_temporary(key):
            return None
        return field.get_download_url(_PkOnly(self.instance_pk), key)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        # The reference's way to choose a registry for a widget used on its own: an attribute that is consumed
        # here, never rendered. Its upload-URL endpoint is in the context as ``generate_upload_url``.
        attrs = dict(attrs or {})
        chosen_registry = attrs.pop("async_field_registry", None)
        context = super().get_context(name, value, attrs)
        field = self.async_field
        registry = chosen_registry or (field.async_field_registry if field else None)
        if registry is not None:
            context["widget"]["attrs"]["generate_upload_url"] = registry.reverse("generate_upload_url")
        script_url = static(SCRIPT)
        value_json = context["widget"]["value"]
        context["widget"]["async_upload"] = {
            "field_id": field.async_field_id if field else "",
            "plan_url": context["widget"]["attrs"].get("generate_upload_url", ""),
            "discard_url": field.async_field_registry.reverse("discard_upload") if field else "",
            "instance_id": "" if self.instance_pk is None else str(self.instance_pk),
            "label": str(self.field_label) if self.field_label else gettext("File"),
            "accept": field.restrictions.accept_attribute() if field else "",
            "max_size": field.max_size_bytes if field else None,
            "is_image": isinstance(field, AsyncImageModelField),
            "value_json": value_json,
            "current": self._current(value_json),
            "script_url": script_url,
            "module_urls": script_module_urls(script_url),
            "css_url": static("alliance_platform/storage/async-upload.css"),
            "messages": widget_messages(),
            "refused_json": json.dumps(list(self.refused.values())) if self.refused else "",
        }
        return context

    def _current(self, value_json: str) -> dict[str, Any] | None:
        """The file the widget shows from the start, from the value ``format_value`` rendered."""
        current = json.loads(value_json) if value_json else None
        if current is not None:
            current.setdefault("url", None)
        return current

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data


def _field_file_url(value: FieldFile) -> str | None:
    field, instance = value.field, getattr(value, "instance", None)
    if instance is None or instance.pk is None or not hasattr(field, "get_download_url"):
        return None
    if field.storage.is_temporary_path(value.name):
        return None
    return field.get_download_url(instance, value.name)


class _PkOnly:
    """Enough of a model instance to build a download URL from a primary key."""

    def __init__(self, pk: Any):
        self.pk = pk


class AsyncFileBoundField(BoundField):
    """Tells the widget which record the form edits, so the browser asks for ``perm_update`` on it, the field's
    label, so the file input has a name even where the page renders no ``<label>`` for it, and the upload the
    server refused, if any.

    A refused upload is shown as refused (with the reason), and the value rendered is the field's initial one
    (the saved file, or nothing): the refused key is useless (verification deletes a rejected upload), and an
    empty value on an edit page would mean "remove the saved file".
    """

    def as_widget(self, widget=None, attrs=None, only_initial=False):
        widget = copy.copy(widget or self.field.widget)
        if isinstance(widget, AsyncFileInput) and self.label:
            widget.field_label = str(self.label)
        instance = getattr(self.form, "instance", None)
        if isinstance(instance, models.Model) and not instance._state.adding:
            widget.instance_pk = instance.pk
        if isinstance(widget, AsyncFileInput):
            widget.refused = self.refused_upload()
        return super().as_widget(widget, attrs, only_initial)

    def refused_upload(self) -> dict[str, dict[str, str]]:
        """Key -> {"name", "error"} for the submitted upload when the field refused it, else nothing.

        An upload is refused when the field has errors and the submitted value names a file other than the
        current one: every error then concerns that file (a missing or malformed value names none).
        """
        if not self.form.is_bound or not self.errors:
            return {}
        try:
            submitted = AsyncFileInputData.from_value(self.data)
        except InvalidInputData:
            return {}
        if submitted is None or submitted.key == getattr(self.initial, "name", None):
            return {}
        return {submitted.key: {"name": _item_name(submitted, 1), "error": " ".join(self.errors)}}

    def value(self) -> Any:
        if self.refused_upload():
            return self.initial
        return super().value()


class AsyncFileField(forms.FileField):
    widget = AsyncFileInput
    default_error_messages = {**MESSAGES, **INPUT_MESSAGES}

    def __init__(self, *, async_field: AsyncFileModelField | None = None, **kwargs: Any):
        widget = kwargs.get("widget")
        # The admin offers its own file widgets for every FileField subclass; only ours can upload asynchronously.
        if widget is None or not (
            isinstance(widget, AsyncFileInput) or (isinstance(widget, type) and issubclass(widget, AsyncFileInput))
        ):
            kwargs["widget"] = self.widget
        kwargs.pop("allow_empty_file", None)
        super().__init__(**kwargs)
        self.async_field = async_field
        self.widget.async_field = async_field

    def get_bound_field(self, form, field_name):
        return AsyncFileBoundField(form, self, field_name)

    def to_python(self, data: Any) -> AsyncFileInputData | None:
        try:
            return AsyncFileInputData.from_value(data)
        except InvalidInputData as exc:
            raise ValidationError(self.error_messages[exc.code], code=exc.code, params={"keys": exc.detail}) from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Re-rendering after a validation error must keep the upload the user already made.
        return initial if data is None else data

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        try:
            submitted = AsyncFileInputData.from_value(data)
        except InvalidInputData:
            return True
        # Any object with a ``name`` stands for the current file (a FieldFile, or a project's own stand-in).
        initial_key = getattr(initial, "name", None) if initial else None
        return (submitted.key if submitted else None) != (initial_key or None)

    def clean(self, data: Any, initial: Any = None) -> Any:
        """``None``: nothing to change; ``False``: clear the current file; input data: assign it."""
        if self.disabled:
            return None
        value = self.to_python(data)
        current_key = initial.name if isinstance(initial, FieldFile) and initial.name else None
        if value is None:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return False if current_key else None
        validate_input(value, self.max_length)
        if self.async_field is None:
            return value
        instance = initial.instance if isinstance(initial, FieldFile) else None
        context = VerificationContext(requester=current_requester(), instance=instance, current_key=current_key)
        try:
            verified = verify_submission(self.async_field, value, context)
        except UploadRejected as exc:
            raise ValidationError(self.error_messages[exc.code], code=exc.code, params=exc.params) from None
        self.run_validators(verified)
        return verified

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {}


class AsyncImageField(AsyncFileField):
    pass


#: The most files one field accepts when the form sets no ``max_files``: it bounds the verification work (a few
#: storage reads per file) that a single submission can cause.
MAX_FILES_PER_FIELD = 1000


class AsyncMultipleFileInput(AsyncFileInput):
    """Several files for one field, each in its own row, each uploaded exactly as ``AsyncFileInput`` uploads one.

    The form submits a JSON array of the single-file values (``[{"key", "name"}, ...]``) in the order of the rows.
    ``concurrency`` is how many files upload at once (``data-concurrency``); ``max_files`` is checked in the
    browser before anything is uploaded (the form field checks it again).
    """

    default_concurrency = 3

    def __init__(
        self,
        attrs: dict[str, Any] | None = None,
        async_field: AsyncFileModelField | None = None,
        *,
        max_files: int | None = None,
        concurrency: int | None = None,
    ):
        super().__init__(attrs, async_field)
        self.max_files = max_files
        self.concurrency = concurrency or self.default_concurrency

    def format_value(self, value: Any) -> str:
        items = []
        for item in _as_items(value):
            data = self._as_input_data(item)
            if data is not None and data.key not in self.refused:
                items.append({"key": data.key, "name": data.name})
        return json.dumps(items) if items else ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["async_upload"].update(
            multiple=True,
            # The files are for new records (see AsyncMultipleFileField): plans never name the edited one.
            instance_id="",
            max_files=self.max_files,
            concurrency=self.concurrency,
        )
        return context

    def _current(self, value_json: str) -> None:
        return None  # rows are built by the script from the value


def _as_items(value: Any) -> list[Any]:
    """The items of a value to render: a submitted JSON array, or a list the view passed as initial data."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value) if value else None
        except (ValueError, RecursionError):
            return []
    return list(value) if isinstance(value, list | tuple) else []


class AsyncMultipleFileBoundField(BoundField):
    """Tells the widget which files the server refused, so it shows them as refused rather than as uploaded."""

    def as_widget(self, widget=None, attrs=None, only_initial=False):
        widget = copy.copy(widget or self.field.widget)
        widget.refused = refused_items(self.errors.as_data()) if self.form.is_bound else {}
        return super().as_widget(widget, attrs, only_initial)


def refused_items(errors: list[ValidationError]) -> dict[str, dict[str, str]]:
    """Key -> {"name", "error"} for the per-file errors ``AsyncMultipleFileField.clean`` raised."""
    refused = {}
    for error in errors:
        params = getattr(error, "params", None) or {}
        if isinstance(params.get("key"), str):
            refused[params["key"]] = {"name": str(params["name"]), "error": str(params["error"])}
    return refused


class AsyncMultipleFileField(forms.Field):
    """Several uploads for one form field, each to be stored in ``model_field`` of its own record.

    ``model_field`` (an ``AsyncFileField`` or ``AsyncImageField`` of the child model) gives every file its field
    id, storage, ``max_size``, ``file_restrictions`` and permissions. ``clean()`` returns a list of verified
    ``AsyncFileInputData``; a view saves each by assigning it to that field of a new or existing record
    (``Photo.objects.create(album=album, image=item)``), which promotes it as a single upload is promoted.

    Each file is cleaned by an ``AsyncFileField`` for ``model_field``: the checks are the single upload's own, run
    as for a new record, since the files are for records that do not exist yet. A refused file gets an error that
    names it; the others stay valid, and the widget keeps them when the form is shown again.
    """

    widget = AsyncMultipleFileInput
    default_error_messages = {
        "invalid_json": INPUT_MESSAGES["invalid_json"],
        "not_a_list": _("Bad input for file field: the submitted value must be a list of files."),
        "not_an_object": _('Bad input for file field: file %(position)d must be an object with a "key" and a "name".'),
        "duplicate": _("“%(name)s” was submitted more than once."),
        "max_files": ngettext_lazy(
            "Upload at most %(max_files)d file (%(count)d were submitted).",
            "Upload at most %(max_files)d files (%(count)d were submitted).",
            "max_files",
        ),
        "item": _("“%(name)s”: %(error)s"),
    }

    def __init__(
        self,
        model_field: AsyncFileModelField,
        *,
        max_files: int | None = None,
        required: bool = True,
        **kwargs: Any,
    ):
        if not isinstance(model_field, AsyncFileMixin):
            raise TypeError(
                f"AsyncMultipleFileField needs the AsyncFileField or AsyncImageField its files are stored in, "
                f"not {type(model_field).__name__}."
            )
        widget = kwargs.get("widget")
        if widget is None or not (
            isinstance(widget, AsyncMultipleFileInput)
            or (isinstance(widget, type) and issubclass(widget, AsyncMultipleFileInput))
        ):
            kwargs["widget"] = self.widget
        super().__init__(required=required, **kwargs)
        self.model_field = model_field
        self.widget.async_field = model_field
        self.max_files = max_files
        # The single upload's form field: each item is cleaned exactly as that field cleans one value.
        item_class = AsyncImageField if isinstance(model_field, AsyncImageModelField) else AsyncFileField
        self.item_field = item_class(async_field=model_field, max_length=model_field.max_length)

    @property
    def max_files(self) -> int | None:
        return self._max_files

    @max_files.setter
    def max_files(self, value: int | None) -> None:
        self._max_files = value
        self.widget.max_files = value

    def get_bound_field(self, form, field_name):
        return AsyncMultipleFileBoundField(form, self, field_name)

    def to_python(self, value: Any) -> list[Any]:
        """The submitted items, still unchecked; ``[]`` for an empty value."""
        if value is None or value == "":
            return []
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise ValidationError(self.error_messages["invalid_json"], code="invalid_json") from None
            if value is None or value == "":
                return []
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            raise ValidationError(self.error_messages["not_a_list"], code="not_a_list")
        return value

    def validate(self, value: list[Any]) -> None:
        if not value and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        limit = min(self.max_files, MAX_FILES_PER_FIELD) if self.max_files is not None else MAX_FILES_PER_FIELD
        if len(value) > limit:
            raise ValidationError(
                self.error_messages["max_files"], code="max_files", params={"max_files": limit, "count": len(value)}
            )
        seen: set[str] = set()
        for position, item in enumerate(value, 1):
            if not isinstance(item, dict) and not isinstance(item, AsyncFileInputData):
                raise ValidationError(
                    self.error_messages["not_an_object"], code="not_an_object", params={"position": position}
                )
            key = _item_key(item)
            if key is not None and key in seen:
                raise ValidationError(
                    self.error_messages["duplicate"], code="duplicate", params={"name": _item_name(item, position)}
                )
            if key is not None:
                seen.add(key)

    def clean(self, value: Any) -> list[AsyncFileInputData]:
        if self.disabled:
            return []
        items = self.to_python(value)
        self.validate(items)
        verified: list[AsyncFileInputData] = []
        errors: list[ValidationError] = []
        for position, item in enumerate(items, 1):
            try:
                verified.append(self.item_field.clean(item))
            except ValidationError as exc:
                params = {
                    "name": _item_name(item, position),
                    "error": " ".join(exc.messages),
                    "key": _item_key(item),
                }
                errors.append(
                    ValidationError(self.error_messages["item"], code=getattr(exc, "code", None), params=params)
                )
        if errors:
            raise ValidationError(errors)
        self.run_validators(verified)
        return verified

    def bound_data(self, data: Any, initial: Any) -> Any:
        return initial if data is None else data

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        try:
            return bool(self.to_python(data))
        except ValidationError:
            return True


def _item_key(item: Any) -> str | None:
    key = item.key if isinstance(item, AsyncFileInputData) else item.get("key") if isinstance(item, dict) else None
    return key if isinstance(key, str) else None


def _item_name(item: Any, position: int) -> str:
    """How an error names a submitted file: its name as the user's browser sent it (it is only shown back to
    them), cleaned for display; its position when it has no usable name."""
    name = item.name if isinstance(item, AsyncFileInputData) else item.get("name") if isinstance(item, dict) else None
    cleaned = keys.sanitize_filename(name[:MAX_NAME_LENGTH]) if isinstance(name, str) else ""
    return cleaned or gettext("file %(position)d") % {"position": position}
