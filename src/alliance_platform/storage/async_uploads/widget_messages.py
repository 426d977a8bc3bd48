"""Every text the widget's JavaScript shows, in one table, translated on the server.

The browser never carries its own copy of these texts: the widget's template renders this table as JSON in the
language of the request (``widget_messages()``), and ``messages.js`` reads it and fills in the values. Adding a
message is one entry here, under the key the scripts use as ``MESSAGES.<key>``:

- a plain text (``_("Upload cancelled.")``) for a key the scripts use as a string;
- ``Interpolated(_("Uploading %(name)s…"), "name")`` for a key the scripts call as a function: the text uses
  Django's named placeholders, so translators can move them, and the names after it are the function's arguments,
  in the order the scripts pass them.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy as _

__all__ = ["WIDGET_MESSAGES", "Interpolated", "widget_messages"]

#: Django's named placeholders, ``%(name)s``; ``%%`` is a literal percent sign.
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class Interpolated:
    """A text the scripts call as a function: ``params`` name its arguments, in the order the scripts pass them."""

    __slots__ = ("params", "text")

    def __init__(self, text: str | Promise, *params: str):
        self.text = text
        self.params = params


WIDGET_MESSAGES: dict[str, str | Promise | Interpolated] = {
    "uploading": Interpolated(_("Uploading %(name)s…"), "name"),
    "uploaded": Interpolated(_("%(name)s uploaded."), "name"),
    "cancelled": _("Upload cancelled."),
    "removed": _("File removed."),
    "removedSaved": _("The current file will be removed when you save."),
    "tooLarge": Interpolated(_("“%(name)s” is %(size)s; files can be at most %(limit)s."), "name", "size", "limit"),
    "wrongType": Interpolated(_("“%(name)s” is not an allowed type of file. Allowed: %(allowed)s."), "name", "allowed"),
    "oneFile": _("Drop one file at a time."),
    "planUnreachable": _("Could not reach the server to start the upload. Check your connection and try again."),
    "planMalformed": _("The server sent an unexpected answer. Try again."),
    "signedOut": _(
        "The server did not accept the upload request; you may have been signed out. Reload the page and try again."
    ),
    "planFailed": Interpolated(_("The upload could not be started (error %(status)s). Try again."), "status"),
    "uploadUnreachable": _("The upload failed: the storage server could not be reached. Try again."),
    "uploadFailed": Interpolated(_("The upload failed (error %(status)s). Try again."), "status"),
    "resuming": Interpolated(_("Resuming the upload of %(name)s…"), "name"),
    "serverUnreachable": _("Could not reach the server. Check your connection and try again."),
    "serverFailed": Interpolated(
        _("The server could not continue the upload (error %(status)s). Try again."), "status"
    ),
    "completeFailed": Interpolated(_("The upload could not be completed (error %(status)s). Try again."), "status"),
    "missingEtag": _(
        "The storage server did not return the ETag of a part of the file. "
        "Its CORS configuration must expose the ETag header."
    ),
    "unexpected": _("Something went wrong with the upload. Try again."),
    "submitBlocked": _("Please wait until the upload has finished, then save again."),
    # The widget for several files.
    "queued": Interpolated(_("%(name)s is waiting to upload…"), "name"),
    "itemCancelled": Interpolated(_("Upload of %(name)s cancelled."), "name"),
    "itemRemoved": Interpolated(_("%(name)s removed."), "name"),
    "itemMoved": Interpolated(_("%(name)s moved to position %(position)s of %(count)s."), "name", "position", "count"),
    "tooManyFiles": Interpolated(
        _("Too many files: there is room for %(room)s more (limit: %(limit)s). Choose fewer files."), "limit", "room"
    ),
    "listFull": Interpolated(_("The list is full (limit: %(limit)s). Remove a file before adding another."), "limit"),
    "submitBlockedFiles": _(
        "Please wait until every file has uploaded, and remove the files that failed, then save again."
    ),
    "moveUp": Interpolated(_("Move up %(name)s"), "name"),
    "moveDown": Interpolated(_("Move down %(name)s"), "name"),
    "retryItem": Interpolated(_("Try again %(name)s"), "name"),
    "cancelItem": Interpolated(_("Cancel %(name)s"), "name"),
    "removeItem": Interpolated(_("Remove %(name)s"), "name"),
    "progressOf": Interpolated(_("Upload progress of %(name)s"), "name"),
    # Progress besides the percentage, as progress.js puts it together ("2.1 MB of 10 MB · 1.3 MB/s · about 6 s
    # left"); the sizes and numbers are already formatted for the page's language.
    "progressBytes": Interpolated(_("%(sent)s of %(total)s"), "sent", "total"),
    "speed": Interpolated(_("%(size)s/s"), "size"),
    "secondsLeft": Interpolated(_("about %(seconds)s s left"), "seconds"),
    "minutesLeft": Interpolated(_("about %(minutes)s min left"), "minutes"),
    # File sizes, as files.js formats them (the number is already formatted for the page's language).
    "sizeBytes": Interpolated(_("%(size)s bytes"), "size"),
    "sizeKB": Interpolated(_("%(size)s KB"), "size"),
    "sizeMB": Interpolated(_("%(size)s MB"), "size"),
    "sizeGB": Interpolated(_("%(size)s GB"), "size"),
    "sizeTB": Interpolated(_("%(size)s TB"), "size"),
}


def widget_messages() -> dict[str, Any]:
    """The table in the active language, as the widget's template renders it for ``messages.js``.

    ``locale`` (a language code such as ``de`` or ``en-us``) is the language the scripts format numbers for, so that sizes read as the
    server's own do.
    """
    messages: dict[str, Any] = {}
    for key, entry in WIDGET_MESSAGES.items():
        if isinstance(entry, Interpolated):
            messages[key] = {"text": str(entry.text), "params": list(entry.params)}
        else:
            messages[key] = str(entry)
    return {"locale": get_language() or settings.LANGUAGE_CODE, "messages": messages}
