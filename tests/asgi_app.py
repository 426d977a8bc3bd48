"""The test project as ASGI applications, for the uvicorn servers of ``tests/asgi``.

``application`` is what the docs tell projects to use; ``django_application`` is Django's own handler, kept so that
the tests can show what it does differently (and that their checks would notice).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from alliance_platform.storage.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
django_application = ASGIHandler()
