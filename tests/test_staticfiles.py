"""``ExcludingManifestStaticFilesStorage``, exercised with a real ``collectstatic`` into temporary directories."""

from __future__ import annotations

import io
import json
from pathlib import Path
import re

from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.template import Context, Template
import pytest

from alliance_platform.storage.staticfiles.storage import ExcludingManifestStaticFilesStorage

BACKEND = "alliance_platform.storage.staticfiles.storage.ExcludingManifestStaticFilesStorage"
PATTERNS = ["site/build/*", "*.pdf"]
HASHED = r"[0-9a-f]{12}"

BASE_CSS = (
    'body { background: url("../build/body-abc123.png"); }\nheader { background: url("../images/header.png"); }\n'
)
# An excluded stylesheet that refers to a processed file: it must be left exactly as it is.
BUILD_CSS = 'main { background: url("../images/header.png"); }\n'


@pytest.fixture
def sources(tmp_path) -> Path:
    root = tmp_path / "sources"
    files = {
        "site/css/base.css": BASE_CSS.encode(),
        "site/images/header.png": b"header image",
        "site/build/body-abc123.png": b"already hashed by the build",
        "site/build/main-efg456.css": BUILD_CSS.encode(),
        "site/info.pdf": b"%PDF-1.4 stable URL",
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


@pytest.fixture
def collected(settings, sources, tmp_path) -> tuple[Path, str]:
    """STATIC_ROOT after ``collectstatic`` with the storage configured as a project would, and its output."""
    settings.STATIC_ROOT = str(tmp_path / "static-root")
    settings.STATICFILES_DIRS = [str(sources)]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": BACKEND, "OPTIONS": {"exclude_patterns": PATTERNS}},
    }
    out = io.StringIO()
    call_command("collectstatic", interactive=False, verbosity=2, stdout=out)
    return Path(settings.STATIC_ROOT), out.getvalue()


def fresh_storage(root: Path) -> ExcludingManifestStaticFilesStorage:
    """A storage that knows only what is on disk, as a web process started after the deploy would."""
    return ExcludingManifestStaticFilesStorage(location=str(root), base_url="/static/", exclude_patterns=PATTERNS)


def test_excluded_files_keep_their_names_and_others_are_hashed(collected):
    root, _output = collected
    storage = fresh_storage(root)
    assert storage.manifest_strict
    assert storage.url("site/build/body-abc123.png") == "/static/site/build/body-abc123.png"
    assert storage.url("site/build/main-efg456.css") == "/static/site/build/main-efg456.css"
    assert storage.url("site/info.pdf") == "/static/site/info.pdf"
    assert re.fullmatch(rf"/static/site/css/base\.{HASHED}\.css", storage.url("site/css/base.css"))
    assert re.fullmatch(rf"/static/site/images/header\.{HASHED}\.png", storage.url("site/images/header.png"))


def test_static_template_tag_resolves_both_kinds(collected):
    rendered = Template("{% load static %}{% static 'site/info.pdf' %} {% static 'site/images/header.png' %}").render(
        Context()
    )
    pdf, header = rendered.split()
    assert pdf == "/static/site/info.pdf"
    assert re.fullmatch(rf"/static/site/images/header\.{HASHED}\.png", header)
    assert staticfiles_storage.url("site/info.pdf") == "/static/site/info.pdf"


def test_no_hashed_copies_of_excluded_files(collected):
    root, _output = collected
    build = sorted(p.name for p in (root / "site/build").iterdir())
    assert build == ["body-abc123.png", "main-efg456.css"]
    assert sorted(p.name for p in (root / "site").glob("info*")) == ["info.pdf"]
    assert len(list((root / "site/images").glob("header.*.png"))) == 1


def test_the_manifest_lists_hashed_files_only_and_excluded_names_resolve_to_themselves(collected):
    root, _output = collected
    paths = json.loads((root / "staticfiles.json").read_text())["paths"]
    assert not {"site/build/body-abc123.png", "site/build/main-efg456.css", "site/info.pdf"} & set(paths)
    assert re.fullmatch(rf"site/css/base\.{HASHED}\.css", paths["site/css/base.css"])
    storage = fresh_storage(root)
    assert storage.manifest_strict
    assert storage.stored_name("site/build/body-abc123.png") == "site/build/body-abc123.png"
    assert storage.stored_name("site/info.pdf") == "site/info.pdf"


def test_references_to_excluded_files_resolve_unhashed(collected):
    root, _output = collected
    css_name = fresh_storage(root).stored_name("site/css/base.css")
    content = (root / css_name).read_text()
    assert 'url("../build/body-abc123.png")' in content
    assert re.search(rf'url\("\.\./images/header\.{HASHED}\.png"\)', content)


def test_excluded_files_are_not_post_processed(collected):
    root, output = collected
    assert "Post-processed 'site/css/base.css'" in output
    assert "Post-processed 'site/images/header.png'" in output
    assert "Post-processed 'site/build/" not in output
    assert "Post-processed 'site/info.pdf'" not in output
    # Its reference to a processed file is left as the build wrote it.
    assert (root / "site/build/main-efg456.css").read_text() == BUILD_CSS


def test_unknown_unexcluded_name_is_still_refused_under_manifest_strict(collected):
    root, _output = collected
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        fresh_storage(root).url("site/never-collected.js")


def test_missing_option_is_improperly_configured_naming_it(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="exclude_patterns"):
        ExcludingManifestStaticFilesStorage(location=str(tmp_path))


def test_string_instead_of_a_list_is_improperly_configured(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="exclude_patterns"):
        ExcludingManifestStaticFilesStorage(location=str(tmp_path), exclude_patterns="*.pdf")


def test_empty_list_excludes_nothing(tmp_path):
    storage = ExcludingManifestStaticFilesStorage(location=str(tmp_path), exclude_patterns=[])
    assert not storage.should_exclude("site/info.pdf")
