"""The one rule for refusing text that may reach a database column, a header or a storage key.

Refusing and cleaning are different jobs. Input a client sends (plan parameters, a submitted key and name, a
multipart ETag) is refused with ``has_control_characters``: a client that sends a NUL or a newline is broken or
hostile, and guessing what it meant would hide that. A filename is in addition *cleaned* for display by
``keys.sanitize_filename``, which strips a wider set (Unicode categories Cc and Cf, such as right-to-left overrides
that are harmless to store but misleading to show); it never replaces this check.
"""

from __future__ import annotations


def has_control_characters(value: str) -> bool:
    """Whether ``value`` holds a C0 control character (U+0000 to U+001F) or DEL (U+007F).

    No key, filename, content type or ETag we issue contains one; some databases cannot store NUL; a newline in a
    header splits it. Other characters (C1 controls, formatting characters) are stored safely and are left to
    ``keys.sanitize_filename`` where a name is shown.
    """
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in value)
