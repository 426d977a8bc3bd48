"""The demo page in German and French, as the browser's language asks: the widget's template texts and the
messages its script shows come from the server's catalogs (the script carries no texts of its own)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, Route, expect
import pytest

from .conftest import PASSWORD, TIMEOUT_MS
from .helpers import PDF_BYTES, part, pick, widget

pytestmark = pytest.mark.browser

NBSP = "\u00a0"
# The texts each widget carries (templates/alliance_platform/storage/widgets/widget_messages.html).
TEXTS = re.compile(r"<div hidden data-ap-upload-messages>.*?</div>", re.DOTALL)
# Just over the demo's 10 MB limit for Document.file: refused by the widget before anything is sent.
TOO_LARGE_BYTES = b"%PDF-1.4\n" + b"\0" * (10 * 1024 * 1024 + 512 * 1024 - 9)

EXPECTED = {
    "de-DE": {
        "lang": "de",
        "browse": "Datei auswählen",
        "hint": "Erlaubt: .pdf, .txt, image/* · bis 10,0\u00a0MB",
        "remove": "Entfernen",
        "too_large": f"„gross.pdf“ ist 10,5{NBSP}MB groß; Dateien dürfen höchstens 10{NBSP}MB groß sein.",
        "wrong_type": "„werkzeug.exe“ hat keinen erlaubten Dateityp. Erlaubt: .pdf, .txt, image/*.",
        "uploaded": "bericht.pdf hochgeladen.",
    },
    "fr-FR": {
        "lang": "fr",
        "browse": "choisissez un fichier",
        "hint": f"Types autorisés{NBSP}: .pdf, .txt, image/* · jusqu’à 10,0\u00a0Mio",
        "remove": "Retirer",
        "too_large": (
            f"«{NBSP}gross.pdf{NBSP}» fait 10,5{NBSP}Mio{NBSP}; les fichiers ne peuvent pas dépasser 10{NBSP}Mio."
        ),
        "wrong_type": (
            f"«{NBSP}werkzeug.exe{NBSP}» n’est pas un type de fichier autorisé. Types autorisés{NBSP}: .pdf, .txt, image/*."
        ),
        "uploaded": "bericht.pdf téléversé.",
    },
}


def signed_in_page(browser: Browser, live_server, superuser, locale: str) -> tuple[Page, list[str]]:
    """A page of a browser whose language is ``locale``, signed in; and the errors its console reports."""
    context = browser.new_context(base_url=live_server.url, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # The widget's own console errors (a missing resource, such as a favicon, is none of its business).
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.text.startswith("alliance_platform.storage") else None,
    )
    page.goto("/admin/login/?next=/documents/new/")
    page.locator("#id_username").fill(superuser.get_username())
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/documents/new/")
    return page, problems


@pytest.mark.parametrize("locale", EXPECTED)
def test_widget_speaks_the_language_of_the_browser(browser: Browser, live_server, superuser, locale):
    expected = EXPECTED[locale]
    page, problems = signed_in_page(browser, live_server, superuser, locale)
    try:
        expect(page.locator("html")).to_have_attribute("lang", expected["lang"])
        file_widget = widget(page, "file")
        # The template's texts.
        expect(file_widget.locator(".ap-upload__browse")).to_have_text(expected["browse"])
        # The script lists the allowed types with spaces once it has started: wait for that.
        expect(part(file_widget, "hint")).to_have_text(expected["hint"])

        # The script's texts, with the values it fills in: checked and refused before anything is sent.
        pick(file_widget, "gross.pdf", "application/pdf", TOO_LARGE_BYTES)
        error = part(file_widget, "error")
        expect(error).not_to_be_empty()
        assert error.text_content() == expected["too_large"]
        pick(file_widget, "werkzeug.exe", "application/x-msdownload", b"MZ" + b"\0" * 100)
        expect(error).not_to_have_text(expected["too_large"])
        assert error.text_content() == expected["wrong_type"]

        # An upload that succeeds is announced in the same language.
        pick(file_widget, "bericht.pdf", "application/pdf", PDF_BYTES)
        expect(file_widget).to_have_attribute("data-state", "done")
        expect(part(file_widget, "status")).to_have_text(expected["uploaded"])
        expect(part(file_widget, "clear")).to_have_text(expected["remove"])
        assert problems == []
    finally:
        page.context.close()


def test_without_the_texts_on_the_page_the_widget_shows_keys_and_says_why(browser: Browser, live_server, superuser):
    """A widget template of a project's own that leaves out the texts: no English copy in the script to fall
    back on, so the widget shows each message's key and the console names what is missing."""
    page, problems = signed_in_page(browser, live_server, superuser, "en-US")
    try:

        def without_texts(route: Route) -> None:
            response = route.fetch()
            route.fulfill(response=response, body=TEXTS.sub("", response.text()))

        page.route("**/documents/new/", without_texts)
        page.reload()
        assert page.locator("[data-async-upload]").count() == 2
        assert page.locator("[data-ap-upload-messages]").count() == 0
        file_widget = widget(page, "file")
        pick(file_widget, "werkzeug.exe", "application/x-msdownload", b"MZ" + b"\0" * 100)
        expect(part(file_widget, "error")).to_have_text("wrongType")
        assert any("texts are missing from the page" in problem for problem in problems), problems
    finally:
        page.context.close()
