"""The widget's script after ``collectstatic`` with ManifestStaticFilesStorage, as a production site serves it.

The script is several ES modules that name one another by relative path. With hashed file names the browser must
still find every module, fetch each one once (the widget's modulepreload links must name the URLs the imports
resolve to), and the widget must upload as usual.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.management import call_command
from playwright.sync_api import Page, Route
import pytest

from alliance_platform.storage.async_uploads.forms import SCRIPT, SCRIPT_MODULES

from .helpers import PDF_BYTES, upload, widget

pytestmark = pytest.mark.browser

STATIC_DIR = "alliance_platform/storage"


class ModuleImportsManifestStorage(ManifestStaticFilesStorage):
    """What docs/usage.md suggests: hashed names in JS module imports too."""

    support_js_module_import_aggregation = True


@pytest.fixture(
    params=[
        pytest.param(("django.contrib.staticfiles.storage.ManifestStaticFilesStorage", False), id="manifest"),
        pytest.param((f"{__name__}.ModuleImportsManifestStorage", True), id="manifest-rewriting-imports"),
    ]
)
def collected_static(request, settings, tmp_path) -> tuple[Path, bool]:
    """Static files collected with a manifest storage; the site's pages then name the hashed files."""
    backend, hashed_imports = request.param
    root = tmp_path / "static"
    settings.STATIC_ROOT = str(root)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}
    call_command("collectstatic", interactive=False, verbosity=0)
    return root, hashed_imports


def serve_collected(page: Page, root: Path) -> list[str]:
    """Answer requests for static files from ``root``, as the web server in front of a site would (the test server
    only knows the source files). Returns the paths requested, in order, as they come."""
    requested: list[str] = []

    def handle(route: Route) -> None:
        path = urlparse(route.request.url).path.removeprefix("/static/")
        requested.append(path)
        file = root / path
        if file.is_file():
            route.fulfill(path=file)
        else:
            route.fulfill(status=404, body="not collected")

    page.route("**/static/**", handle)
    return requested


def test_widget_loads_each_module_once_and_uploads(logged_in_page: Page, collected_static):
    root, hashed_imports = collected_static
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    page = logged_in_page
    requested = serve_collected(page, root)

    page.goto("/documents/new/")
    upload(widget(page, "file"), "report.pdf", "application/pdf", PDF_BYTES)

    scripts = [path for path in requested if path.startswith(f"{STATIC_DIR}/") and path.endswith(".js")]
    modules = [f"{STATIC_DIR}/{name}" for name in SCRIPT_MODULES]
    expected = {manifest[SCRIPT], *([manifest[module] for module in modules] if hashed_imports else modules)}
    assert sorted(scripts) == sorted(expected)
    assert all((root / path).is_file() for path in scripts)
