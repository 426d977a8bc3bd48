"""Settings of the reference's project: the benchmark project's (``benchmarks.settings``) with what the reference
cannot have taken out, so the two differ only in the library.

- Same apps (with ``refapp`` instead of ``benchapp``), the same middleware minus ours (the reference has none to
  add), ``DEBUG`` off, the filesystem backend, the same SQLite options or PostgreSQL connection settings.
- Its own database: a second SQLite file in the workspace, or a second database on the same PostgreSQL cluster
  (``AP_BENCH_REF_PG_NAME``), so neither project reads the other's rows.
- Its tables come from ``migrate --run-syncdb``; on SQLite without the reference's own migrations (its 0002 runs
  on PostgreSQL only; 0.0.5's model is what its migrations end in).
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

try:
    BENCH_DIR = Path(os.environ["AP_BENCH_DIR"])
except KeyError:
    raise ImproperlyConfigured("AP_BENCH_DIR is not set; the benchmark runner sets it.") from None

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "alliance_platform.storage",
    "benchmarks.reference_project.refapp",
]
MIDDLEWARE = [
    "benchmarks.query_count.QueryCountMiddleware",  # counts queries only when asked (plan benchmark)
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "benchmarks.reference_project.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
# refapp has no migrations (its table comes from --run-syncdb, as benchapp's).
MIGRATION_MODULES = {"refapp": None}

DATABASE = os.environ.get("AP_BENCH_DB", "sqlite")
if DATABASE == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(BENCH_DIR / "reference.sqlite3"),
            "OPTIONS": {"timeout": 30},
        }
    }
    # The reference's migration 0002 runs on PostgreSQL only: on SQLite its table comes from --run-syncdb too.
    MIGRATION_MODULES["alliance_platform_storage"] = None
elif DATABASE == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("AP_BENCH_PG_HOST", "127.0.0.1"),
            "PORT": os.environ["AP_BENCH_PG_PORT"],
            "NAME": os.environ.get("AP_BENCH_REF_PG_NAME", "ap_storage_reference"),
            "USER": "postgres",
            "CONN_MAX_AGE": int(os.environ.get("AP_BENCH_PG_CONN_MAX_AGE", "60")),
        }
    }
else:
    raise ImproperlyConfigured(f"AP_BENCH_DB must be sqlite or postgres, not {DATABASE!r}.")

MEDIA_ROOT = str(BENCH_DIR / "reference-media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STORAGES = {
    "default": {"BACKEND": "alliance_platform.storage.async_uploads.storage.filesystem.FileSystemAsyncUploadStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The reference's settings base class wants the core package's PROJECT_DIR.
ALLIANCE_PLATFORM = {"CORE": {"PROJECT_DIR": str(BENCH_DIR)}, "STORAGE": {}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
