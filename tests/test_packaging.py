"""The installed package carries everything it needs: templates, static files and complete migrations."""

from collections.abc import Callable
from html.parser import HTMLParser
from io import StringIO
import json
import os
from pathlib import Path
import posixpath
import re

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.management import call_command
from django.template.loader import get_template
import pytest

import alliance_platform.storage
from alliance_platform.storage.async_uploads.admin import SCRIPT as INLINE_DROP_SCRIPT
from alliance_platform.storage.async_uploads.forms import SCRIPT, SCRIPT_MODULES

STATIC_DIR = "alliance_platform/storage"
# Relative module paths in `import ... from "./x.js";` statements: the only form the widget's modules use.
RELATIVE_IMPORT = re.compile(r"""\bfrom\s*["'](\.{1,2}/[^"']+)["']\s*;""")


class ModuleImportsManifestStorage(ManifestStaticFilesStorage):
    """What docs/usage.md suggests: hashed names in JS module imports too."""

    support_js_module_import_aggregation = True


def test_widget_template_and_static_files_are_found():
    get_template("alliance_platform/storage/widgets/async_file_input.html")
    assert finders.find(SCRIPT)
    assert finders.find(f"{STATIC_DIR}/async-upload.css")
    for name in SCRIPT_MODULES:
        assert finders.find(f"{STATIC_DIR}/{name}"), name


def test_preloaded_modules_are_exactly_those_the_script_loads():
    """SCRIPT_MODULES feeds the widget's modulepreload links: a module added or renamed must be listed there."""
    loaded = module_graph(SCRIPT, lambda name: Path(finders.find(name)).read_text())
    assert loaded == {SCRIPT} | {f"{STATIC_DIR}/{name}" for name in SCRIPT_MODULES}
    on_disk = {path.name for path in Path(finders.find(SCRIPT)).parent.glob("*.js")}
    # The admin inline's drop script is an entry point of its own (loaded through the mixin's Media).
    assert on_disk == {posixpath.basename(SCRIPT), *SCRIPT_MODULES, posixpath.basename(INLINE_DROP_SCRIPT)}


def test_inline_drop_script_imports_nothing():
    """It is loaded by a hashed URL under manifest storages: a relative import from it would reach the widget's
    modules under other URLs than the widget's script uses, and run them twice."""
    assert module_graph(INLINE_DROP_SCRIPT, lambda name: Path(finders.find(name)).read_text()) == {INLINE_DROP_SCRIPT}


def test_widget_preloads_the_modules_the_script_loads_with_plain_static_files():
    assert preloaded_urls() == {f"/static/{STATIC_DIR}/{name}" for name in SCRIPT_MODULES}


@pytest.mark.parametrize(
    "backend, hashed_imports",
    [
        pytest.param("django.contrib.staticfiles.storage.ManifestStaticFilesStorage", False, id="manifest"),
        pytest.param(f"{__name__}.ModuleImportsManifestStorage", True, id="manifest-rewriting-imports"),
    ],
)
def test_collected_script_finds_its_modules_with_manifest_storage(settings, tmp_path, backend, hashed_imports):
    """After collectstatic the browser loads the hashed script; every module it reaches must be there, and the
    widget must preload exactly those URLs (any other would be fetched for nothing)."""
    settings.STATIC_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    entry = manifest[SCRIPT]
    assert entry != SCRIPT

    loaded = module_graph(entry, lambda name: (tmp_path / name).read_text())
    modules = loaded - {entry}
    assert len(modules) == len(SCRIPT_MODULES)
    if hashed_imports:
        # The hashed copies, each named by the manifest: a new release never meets a stale cached module.
        assert modules == {manifest[f"{STATIC_DIR}/{name}"] for name in SCRIPT_MODULES}
    else:
        # Unchanged imports resolve next to the hashed script, to the plain copies collectstatic keeps.
        assert modules == {f"{STATIC_DIR}/{name}" for name in SCRIPT_MODULES}
    assert preloaded_urls() == {f"/static/{name}" for name in modules}


def module_graph(entry: str, read: Callable[[str], str]) -> set[str]:
    """Every static file the browser loads for the module ``entry``, following relative imports as it would."""
    seen: set[str] = set()
    queue = [entry]
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        for specifier in RELATIVE_IMPORT.findall(read(name)):
            queue.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), specifier)))
    return seen


class _PreloadLinks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "link" and values.get("rel") == "modulepreload":
            self.urls.append(values["href"])


def preloaded_urls() -> set[str]:
    from gallery.forms import DocumentForm

    parser = _PreloadLinks()
    parser.feed(str(DocumentForm()["file"]))
    assert len(parser.urls) == len(set(parser.urls)), parser.urls
    return set(parser.urls)


@pytest.mark.django_db
def test_migrations_match_the_models():
    out = StringIO()
    call_command("makemigrations", "alliance_platform_storage", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.skipif(not os.environ.get("AP_TEST_REQUIRE_WHEEL"), reason="only meaningful when testing a built wheel")
def test_package_is_imported_from_the_installed_wheel():
    package_dir = Path(alliance_platform.storage.__file__).parent
    assert "site-packages" in package_dir.parts
    assert (package_dir / "migrations" / "0001_initial.py").exists()
    static_dir = package_dir / "static" / "alliance_platform" / "storage"
    for name in ("async-upload.js", "async-upload.css", *SCRIPT_MODULES):
        assert (static_dir / name).exists(), name
    for language in ("de", "fr"):
        assert (package_dir / "locale" / language / "LC_MESSAGES" / "django.mo").exists(), language


def test_public_import_paths():
    from alliance_platform.storage.async_uploads.forms import AsyncFileField, AsyncFileInput, AsyncImageField
    from alliance_platform.storage.async_uploads.models import (
        AsyncFieldFile,
        AsyncFileInputData,
        AsyncImageFieldFile,
        AsyncTempFile,
        default_max_length,
        default_max_size,
    )
    from alliance_platform.storage.async_uploads.registry import AsyncFieldRegistry, default_async_field_registry
    from alliance_platform.storage.async_uploads.rest_framework import (
        AsyncFileField as SerializerFileField,
        AsyncImageField as SerializerImageField,
    )
    from alliance_platform.storage.async_uploads.storage.azure import AzureAsyncUploadStorage
    from alliance_platform.storage.async_uploads.storage.base import AsyncUploadStorage, GenerateUploadUrlResponse
    from alliance_platform.storage.async_uploads.storage.filesystem import FileSystemAsyncUploadStorage
    from alliance_platform.storage.async_uploads.storage.gcs import GoogleCloudAsyncUploadStorage
    from alliance_platform.storage.async_uploads.storage.s3 import S3AsyncUploadStorage
    from alliance_platform.storage.async_uploads.views import DownloadRedirectView, GenerateUploadUrlView

    assert (default_max_length, default_max_size) == (500, 100)
    assert isinstance(default_async_field_registry, AsyncFieldRegistry)
    assert issubclass(FileSystemAsyncUploadStorage, AsyncUploadStorage)
    for backend in (S3AsyncUploadStorage, AzureAsyncUploadStorage, GoogleCloudAsyncUploadStorage):
        assert issubclass(backend, AsyncUploadStorage)
    for name in (AsyncFileField, AsyncFileInput, AsyncImageField, AsyncFieldFile, AsyncFileInputData):
        assert name is not None
    for name in (AsyncImageFieldFile, AsyncTempFile, SerializerFileField, SerializerImageField):
        assert name is not None
    assert GenerateUploadUrlResponse and DownloadRedirectView and GenerateUploadUrlView
