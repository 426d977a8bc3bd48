"""A ``ManifestStaticFilesStorage`` that leaves some files exactly as they are.

Files a front-end build already named by their content (``main-3f9a1c.js``) gain nothing from a second hash, and
hashing them breaks the references the build wrote into them; a file that must keep a stable URL (a PDF linked
from elsewhere) must not be renamed at all. Configure::

    STORAGES = {
        "staticfiles": {
            "BACKEND": "alliance_platform.storage.staticfiles.storage.ExcludingManifestStaticFilesStorage",
            "OPTIONS": {"exclude_patterns": ["frontend/build/*", "*.pdf"]},
        },
    }
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import fnmatch
from typing import Any
from urllib.parse import unquote, urlsplit

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.exceptions import ImproperlyConfigured


class ExcludingManifestStaticFilesStorage(ManifestStaticFilesStorage):
    """Files whose path matches one of ``exclude_patterns`` (``fnmatch`` patterns such as ``"build/*"`` or
    ``"*.pdf"``, matched against the path relative to ``STATIC_ROOT``) are collected under their own name and never
    post-processed: no hashed copy, no rewriting of their contents.

    References to them from processed files (``url("../build/body-abc123.png")`` in a stylesheet) still resolve,
    to the unhashed name. The manifest file lists only the files that were hashed; under ``manifest_strict`` an
    excluded name still resolves, to itself, because it matches a pattern (so a manifest written before the file
    existed is fine too), and after ``collectstatic`` the storage's own table maps each excluded file to itself.
    """

    def __init__(self, *args: Any, exclude_patterns: Iterable[str] | None = None, **kwargs: Any):
        if exclude_patterns is None:
            raise ImproperlyConfigured(
                "ExcludingManifestStaticFilesStorage requires the 'exclude_patterns' option: set "
                "STORAGES['staticfiles']['OPTIONS']['exclude_patterns'] to a list of fnmatch patterns "
                "(an empty list excludes nothing)."
            )
        if isinstance(exclude_patterns, str):
            # A lone string would be iterated as single-character patterns, excluding almost nothing useful.
            raise ImproperlyConfigured(
                "ExcludingManifestStaticFilesStorage's 'exclude_patterns' option must be a list of patterns, "
                f"not the string {exclude_patterns!r}."
            )
        super().__init__(*args, **kwargs)
        self.exclude_patterns: list[str] = list(exclude_patterns)
        self._excluded_paths: list[str] = []

    def should_exclude(self, name: str) -> bool:
        """Whether ``name`` (a path relative to ``STATIC_ROOT``) matches one of the patterns."""
        name = self.clean_name(name)
        return any(fnmatch.fnmatch(name, pattern) for pattern in self.exclude_patterns)

    def hashed_name(self, name: str, content: Any = None, filename: str | None = None) -> str:
        # Reached for excluded files when a processed file refers to them: the reference keeps the plain name.
        if self.should_exclude(name):
            return name
        return super().hashed_name(name, content, filename)

    def stored_name(self, name: str) -> str:
        clean = self.clean_name(urlsplit(unquote(name)).path).strip()
        if self.should_exclude(clean):
            return clean
        return super().stored_name(name)

    def post_process(self, paths: dict[str, Any], *args: Any, **options: Any) -> Iterator[Any]:
        excluded = {path for path in paths if self.should_exclude(path)}
        self._excluded_paths = sorted(excluded)
        processed = {path: value for path, value in paths.items() if path not in excluded}
        yield from super().post_process(processed, *args, **options)

    def save_manifest(self) -> None:
        # Called once post-processing is done (never on a dry run). The written manifest keeps only hashed files,
        # as projects that read it expect; the excluded ones are mapped to themselves in memory afterwards.
        super().save_manifest()
        for path in self._excluded_paths:
            self.hashed_files[self.hash_key(self.clean_name(path))] = path
