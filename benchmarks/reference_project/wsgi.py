"""The reference's project as a WSGI application, for gunicorn: ``benchmarks.reference_project.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.reference_project.settings")
application = get_wsgi_application()
