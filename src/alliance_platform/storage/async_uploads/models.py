"""Public import path for the async upload model fields and the temporary file record."""

from .fields import (
    AsyncFieldFile,
    AsyncFileField,
    AsyncFileMixin,
    AsyncImageField,
    AsyncImageFieldFile,
    default_max_length,
    default_max_size,
)
from .input_data import AsyncFileInputData
from .temp_files import AsyncTempFile

__all__ = [
    "AsyncFieldFile",
    "AsyncFileField",
    "AsyncFileInputData",
    "AsyncFileMixin",
    "AsyncImageField",
    "AsyncImageFieldFile",
    "AsyncTempFile",
    "default_max_length",
    "default_max_size",
]
