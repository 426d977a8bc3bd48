"""drf-spectacular support: describe the field as the object it exchanges, not as a file upload or a string.

Imported by the package ``__init__`` when drf-spectacular is installed; defining the extension registers it. A list
of uploads (``AsyncFileListField``, a ``ListField``) needs nothing of its own: drf-spectacular describes it as an
array of what its child field maps to here, with ``maxItems`` from ``max_files``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from .fields import AsyncImageField

_KEY = {"type": "string", "description": "Storage key: a temporary key from the upload plan, or the current key."}
_NAME = {"type": "string", "description": "The file's name as the user knows it."}


class AsyncFileFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "alliance_platform.storage.async_uploads.rest_framework.fields.AsyncFileField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        if direction == "request":
            properties: dict[str, Any] = {
                "key": _KEY,
                "name": _NAME,
                "url": {"type": "string", "description": "Accepted (as sent in responses) and ignored."},
            }
            if isinstance(self.target, AsyncImageField):
                hint = "Ignored: the server reads the dimensions from the uploaded image."
                properties["width"] = {"type": "integer", "description": hint}
                properties["height"] = {"type": "integer", "description": hint}
            return {
                "type": "object",
                "description": "The key returned by the upload plan once the file is uploaded, or the current value.",
                "properties": properties,
                "required": ["key", "name"],
                "additionalProperties": False,
            }
        return {
            "type": "object",
            "properties": {
                "key": _KEY,
                "name": _NAME,
                "url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Download URL: checks the detail permission, then redirects to the file.",
                },
            },
            "required": ["key", "name", "url"],
        }
