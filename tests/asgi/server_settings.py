"""``tests.settings`` for a uvicorn process: a database file and a media root of the test's choosing.

The tests' own in-memory SQLite database exists only inside the pytest process; the server runs elsewhere, so it
gets a file that ``migrate`` prepared (``AP_ASGI_TEST_DATABASE``). It is SQLite whatever ``AP_TEST_DB`` says, so
that these tests never write to a shared PostgreSQL database outside pytest-django's test database.
"""

import os

from tests.settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["AP_ASGI_TEST_DATABASE"]}}
MEDIA_ROOT = os.environ["AP_ASGI_TEST_MEDIA_ROOT"]
