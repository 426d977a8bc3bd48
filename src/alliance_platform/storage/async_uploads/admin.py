"""``AsyncUploadInlineMixin``: drop several files on an admin inline to get one row per file.

An album's photos are added one "Add another Photo" at a time; with this mixin on the inline, dropping ten photos
on it adds ten rows, each of which uploads its file with the usual widget, ready to be saved with the album. The
browser side is ``static/alliance_platform/storage/inline-drop.js``; nothing here changes what the server accepts:
each row is an ordinary inline form, verified on save like any other.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import HttpRequest
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.translation import gettext

from .fields import AsyncFileField

SCRIPT = "alliance_platform/storage/inline-drop.js"
STYLESHEET = "alliance_platform/storage/inline-drop.css"


class ModuleScript:
    """A ``<script type="module">`` for ``Media.js``: the script is an ES module, which a plain path in ``Media``
    would load as a classic script. Equal by path, so ``Media`` merges it once however many inlines list it."""

    def __init__(self, path: str):
        self.path = path

    def __html__(self) -> str:
        return format_html('<script type="module" src="{}"></script>', static(self.path))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModuleScript) and other.path == self.path

    def __hash__(self) -> int:
        return hash((ModuleScript, self.path))

    def __str__(self) -> str:
        return self.__html__()


class AsyncUploadInlineMixin:
    """Mix into a ``TabularInline`` or ``StackedInline`` whose model has an async file field.

    ``bulk_upload_field`` names that field; it may be left out when the model has only one. Rows are added with
    the inline's own "Add another" link, so ``max_num`` and the add permission apply as they do to clicks: files
    beyond what the inline can take are left out, and the inline says so.
    """

    bulk_upload_field: str | None = None

    def get_bulk_upload_field(self) -> str:
        """The name of the async field each dropped file goes to."""
        model: type[models.Model] = self.model  # type: ignore[attr-defined]
        names = [field.name for field in model._meta.get_fields() if isinstance(field, AsyncFileField)]
        if self.bulk_upload_field is not None:
            if self.bulk_upload_field not in names:
                raise ImproperlyConfigured(
                    f"{type(self).__name__}.bulk_upload_field is {self.bulk_upload_field!r}, which is not an async "
                    f"file field of {model.__name__} (those are: {', '.join(names) or 'none'})."
                )
            return self.bulk_upload_field
        if len(names) != 1:
            raise ImproperlyConfigured(
                f"{type(self).__name__} needs bulk_upload_field: {model.__name__} has "
                f"{len(names) or 'no'} async file fields{' (' + ', '.join(names) + ')' if names else ''}."
            )
        return names[0]

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest | None, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None and db_field.name == self.get_bulk_upload_field():
            # The mark the script looks for, carrying its texts in the language of this request.
            formfield.widget.attrs["data-inline-drop"] = json.dumps(self.bulk_upload_texts())
        return formfield

    def bulk_upload_texts(self) -> dict[str, str]:
        """What the inline tells the user; ``{name}`` placeholders are filled in by the script."""
        opts = self.model._meta  # type: ignore[attr-defined]
        return {
            "hint": gettext("Drop files here to add a %(name)s for each.") % {"name": opts.verbose_name},
            "added": gettext("Files added: {count}. Save to keep them once they have uploaded."),
            "partial": gettext("Only {added} of the {total} files were added: this list takes at most {max} rows."),
        }

    @property
    def media(self) -> forms.Media:
        return super().media + forms.Media(  # type: ignore[misc]
            js=[ModuleScript(SCRIPT)], css={"all": [STYLESHEET]}
        )
