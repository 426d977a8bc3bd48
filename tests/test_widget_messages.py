"""The widget's texts: one table on the server, used by the scripts as ``MESSAGES.<key>``, rendered translated."""

from __future__ import annotations

from html.parser import HTMLParser
import json
from pathlib import Path
import re

from django.contrib.staticfiles import finders
from django.utils import translation
import pytest

from alliance_platform.storage.async_uploads.forms import SCRIPT, SCRIPT_MODULES
from alliance_platform.storage.async_uploads.widget_messages import PLACEHOLDER, WIDGET_MESSAGES, Interpolated

USE = re.compile(r"\bMESSAGES\.(\w+)\s*(\()?")
# Block comments, and line comments that start a line or follow a space (never "//" inside a URL string).
COMMENT = re.compile(r"/\*.*?\*/|(?:^|(?<=\s))//[^\n]*", re.DOTALL | re.MULTILINE)
OPENING, CLOSING = "([{", ")]}"


def scripts() -> dict[str, str]:
    names = [SCRIPT, *(f"alliance_platform/storage/{name}" for name in SCRIPT_MODULES)]
    return {name: COMMENT.sub("", Path(finders.find(name)).read_text()) for name in names}


def argument_count(source: str, start: int) -> int:
    """Arguments of the call whose "(" is at ``start``: top-level commas, outside strings, plus one."""
    depth, count, quote, index = 0, 0, None, start
    while True:
        char = source[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in OPENING:
            depth += 1
        elif char in CLOSING:
            depth -= 1
            if depth == 0:
                return count + 1 if source[start + 1 : index].strip() else 0
        elif char == "," and depth == 1:
            count += 1
        index += 1


def test_every_message_the_scripts_use_is_in_the_table_with_the_shape_they_use():
    uses = []
    for name, source in scripts().items():
        for match in USE.finditer(source):
            key, called = match.group(1), match.group(2)
            uses.append(key)
            assert key in WIDGET_MESSAGES, f"{name}: MESSAGES.{key} is not in widget_messages.WIDGET_MESSAGES"
            entry = WIDGET_MESSAGES[key]
            if called:
                assert isinstance(entry, Interpolated), f"{name} calls MESSAGES.{key}, a plain text"
                assert argument_count(source, match.start(2)) == len(entry.params), f"{name}: MESSAGES.{key}(...)"
    assert len(set(uses)) > 15


def test_every_message_of_the_table_is_used_by_the_scripts():
    source = "\n".join(scripts().values())
    for key in WIDGET_MESSAGES:
        assert f"MESSAGES.{key}" in source or f'"{key}"' in source, f"{key} is used by no script"


def test_parameters_are_the_placeholders_of_the_text():
    with translation.override(None):  # the source texts (msgids)
        for key, entry in WIDGET_MESSAGES.items():
            if isinstance(entry, Interpolated):
                assert len(set(entry.params)) == len(entry.params), key
                assert set(PLACEHOLDER.findall(str(entry.text))) == set(entry.params), key
            else:
                assert not PLACEHOLDER.search(str(entry)), f"{key} has placeholders but no parameters"


class _MessagesJson(HTMLParser):
    """The JSON in the widget's ``[data-ap-upload-messages] > script``, and the page's visible texts."""

    def __init__(self):
        super().__init__()
        self.stack: list[dict[str, str | None]] = []
        self.tables: list[dict] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append({"tag": tag, **dict(attrs)})

    def handle_endtag(self, tag):
        self.stack.pop()

    def handle_data(self, data):
        inside = self.stack[-2] if len(self.stack) > 1 else {}
        if self.stack and self.stack[-1]["tag"] == "script" and "data-ap-upload-messages" in inside:
            self.tables.append(json.loads(data))
        elif data.strip():
            self.texts.append(data.strip())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, cancelled, uploading, drop_text",
    [
        ("en", "Upload cancelled.", "Uploading %(name)s…", "Drop a file here or"),
        ("de", "Upload abgebrochen.", "%(name)s wird hochgeladen …", "Datei hierher ziehen oder"),
        ("fr", "Téléversement annulé.", "Téléversement de %(name)s…", "Déposez un fichier ici ou"),
    ],
)
def test_widget_renders_its_texts_in_the_active_language(language, cancelled, uploading, drop_text):
    from gallery.forms import DocumentForm

    with translation.override(language):
        parser = _MessagesJson()
        parser.feed(str(DocumentForm()["file"]))
    [table] = parser.tables
    assert table["locale"] == language
    assert set(table["messages"]) == set(WIDGET_MESSAGES)
    assert table["messages"]["cancelled"] == cancelled
    assert table["messages"]["uploading"] == {"text": uploading, "params": ["name"]}
    assert drop_text in parser.texts
