"""The shipped catalogs (German, French): complete, clean and compiled.

Checked with GNU gettext, as Django's own ``makemessages`` and ``compilemessages`` use it: a catalog that misses a
text of the sources, translates one with other placeholders, or whose ``.mo`` is older than its ``.po`` fails
here. ``scripts/translations.sh`` brings them up to date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import gettext
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys

import pytest

import alliance_platform.storage

PACKAGE_DIR = Path(alliance_platform.storage.__file__).parent
LANGUAGES = ("de", "fr")
# Python's format directives: named (``%(name)s``, ``%(count)d``) and positional (``%s``); ``%%`` is a literal.
DIRECTIVE = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str = ""
    msgstr: str = ""
    # The forms of a plural entry, msgstr[0], msgstr[1], …; empty for a singular one.
    plural_forms: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    def translations(self) -> list[tuple[str, str]]:
        """Each translated text with the source text whose placeholders it must keep."""
        if not self.msgid_plural:
            return [(self.msgstr, self.msgid)]
        return [(form, self.msgid_plural) for form in self.plural_forms]


def read_po(path: Path) -> list[Entry]:
    """The entries of a catalog, header excluded (only what these checks need)."""
    entries: list[Entry] = []
    entry, target = Entry(), None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("#~"):
            entry.obsolete = True
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("msgid_plural "):
            target, entry.msgid_plural = "msgid_plural", _unquote(line[13:])
        elif match := re.match(r"msgstr\[(\d+)\] ", line):
            entry.plural_forms.append(_unquote(line[match.end() :]))
            target = "plural_form"
        elif line.startswith("msgctxt "):
            target, entry.msgctxt = "msgctxt", _unquote(line[8:])
        elif line.startswith("msgid "):
            target, entry.msgid = "msgid", _unquote(line[6:])
        elif line.startswith("msgstr "):
            target, entry.msgstr = "msgstr", _unquote(line[7:])
        elif line.startswith('"') and target == "plural_form":
            entry.plural_forms[-1] += _unquote(line)
        elif line.startswith('"') and target:
            setattr(entry, target, getattr(entry, target) + _unquote(line))
        elif not line.strip():
            if entry.msgid or entry.obsolete:
                entries.append(entry)
            entry, target = Entry(), None
    return entries


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda match: _ESCAPES[match.group(1)], text.strip()[1:-1])


def catalog(language: str) -> Path:
    return PACKAGE_DIR / "locale" / language / "LC_MESSAGES" / "django.po"


def gettext_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install GNU gettext (apt-get install gettext); scripts/test.sh does")
    return path


def directives(text: str) -> list[str]:
    return sorted(match.group(0) for match in DIRECTIVE.finditer(text) if match.group(0) != "%%")


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_compiles_without_a_warning_and_translates_everything(language, tmp_path):
    result = subprocess.run(
        [gettext_tool("msgfmt"), "--check", "--statistics", "-o", str(tmp_path / "django.mo"), str(catalog(language))],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stderr
    entries = [entry for entry in read_po(catalog(language)) if not entry.obsolete]
    # Nothing but the count: no warning, no untranslated or fuzzy message.
    assert result.stderr.strip() == f"{len(entries)} translated messages.", result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_and_are_not_fuzzy(language):
    entries = read_po(catalog(language))
    assert entries
    for entry in entries:
        assert not entry.obsolete, entry.msgid
        assert "fuzzy" not in entry.flags, entry.msgid
        for translation, source in entry.translations():
            assert translation.strip(), entry.msgid
            assert directives(translation) == directives(source), entry.msgid
        if directives(entry.msgid):
            assert "python-format" in entry.flags, entry.msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_is_the_one_of_its_po_file(language, tmp_path):
    """The wheel ships the committed .mo files: each must hold exactly what its .po says."""
    compiled = tmp_path / "django.mo"
    subprocess.run([gettext_tool("msgfmt"), "-o", str(compiled), str(catalog(language))], check=True)
    committed = catalog(language).with_suffix(".mo")
    assert committed.exists(), f"{committed} missing: run scripts/translations.sh"
    with compiled.open("rb") as fresh, committed.open("rb") as shipped:
        assert gettext.GNUTranslations(shipped)._catalog == gettext.GNUTranslations(fresh)._catalog, (
            f"{committed} is out of date: run scripts/translations.sh"
        )


def test_every_text_of_the_sources_is_in_both_catalogs(tmp_path):
    """makemessages over a copy of the package: the catalogs it produces must be the committed ones, complete."""
    gettext_tool("xgettext")
    gettext_tool("msgmerge")
    copy = tmp_path / "storage"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    command = [sys.executable, "-m", "django", "makemessages", "--no-location"]
    for language in LANGUAGES:
        command += ["-l", language]
    subprocess.run(command, cwd=copy, env=env, check=True, capture_output=True)
    for language in LANGUAGES:
        regenerated = read_po(copy / "locale" / language / "LC_MESSAGES" / "django.po")
        committed = read_po(catalog(language))
        new = {(e.msgctxt, e.msgid) for e in regenerated if not e.obsolete} - {(e.msgctxt, e.msgid) for e in committed}
        gone = [entry.msgid for entry in regenerated if entry.obsolete]
        assert not new, f"{language}: texts not in the catalog yet (run scripts/translations.sh): {sorted(new)}"
        assert not gone, f"{language}: texts no longer in the sources (run scripts/translations.sh): {gone}"
        assert len(regenerated) == len(committed) > 0
