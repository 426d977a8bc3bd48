"""Django settings for the benchmarks: a plain project using the library the documented way.

Everything that is written (the SQLite database or the PostgreSQL cluster, uploaded files, the bare app's output)
lives under ``AP_BENCH_DIR``, a temporary directory the runner creates and removes. The same module is used
in-process by the runner and by the gunicorn workers it starts, and the database and the storage are chosen by
environment variables they all inherit (``AP_BENCH_DB``, ``AP_BENCH_PG_*``, ``AP_BENCH_STORAGE``, ``AP_BENCH_S3_*``,
``AP_BENCH_AZURE_*``), so all of them see one database and one media root, bucket or container; the task worker of
the background-promotion benchmark also gets ``AP_BENCH_PROMOTION=task``.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

try:
    BENCH_DIR = Path(os.environ["AP_BENCH_DIR"])
except KeyError:
    raise ImproperlyConfigured(
        "AP_BENCH_DIR is not set. Run the benchmarks with `python -m benchmarks` from the repository root."
    ) from None

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
    "benchmarks.benchapp",
    # The database task backend's table, for the background-promotion benchmark (PROMOTION="task").
    "django_tasks_db",
]

# What a typical project has, plus the library's middleware right after authentication (as documented).
MIDDLEWARE = [
    "benchmarks.query_count.QueryCountMiddleware",  # counts queries only when asked (plan benchmark)
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "alliance_platform.storage.middleware.AsyncUploadRequestMiddleware",
]

ROOT_URLCONF = "benchmarks.urls"
# Only the cloud upload benchmarks render a page (the widget, from the library's templates).
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]

# The database: a SQLite file in the workspace (default), or with ``--database postgres`` the throwaway PostgreSQL
# cluster the runner started (see benchmarks/database.py), which it describes in AP_BENCH_PG_*.
DATABASE = os.environ.get("AP_BENCH_DB", "sqlite")
if DATABASE == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(BENCH_DIR / "db.sqlite3"),
            # The runner and the gunicorn worker take turns on this file; never fail on a briefly held lock.
            "OPTIONS": {"timeout": 30},
        }
    }
elif DATABASE == "postgres":
    try:
        PG_PORT = os.environ["AP_BENCH_PG_PORT"]
    except KeyError:
        raise ImproperlyConfigured("AP_BENCH_DB=postgres needs AP_BENCH_PG_PORT (the runner sets both).") from None
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("AP_BENCH_PG_HOST", "127.0.0.1"),
            "PORT": PG_PORT,
            "NAME": os.environ.get("AP_BENCH_PG_NAME", "ap_storage_bench"),
            "USER": "postgres",
            # Persistent connections, as Django recommends for PostgreSQL: opening one (TCP connect, a new server
            # process, Django's per-connection setup) costs more than a plan request. The plan benchmark runs once more
            # with AP_BENCH_PG_CONN_MAX_AGE=0 (Django's default: a new connection for every request).
            "CONN_MAX_AGE": int(os.environ.get("AP_BENCH_PG_CONN_MAX_AGE", "60")),
        }
    }
else:
    raise ImproperlyConfigured(f"AP_BENCH_DB must be sqlite or postgres, not {DATABASE!r}.")

MEDIA_ROOT = str(BENCH_DIR / "media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"

STORAGES = {
    "default": {"BACKEND": "alliance_platform.storage.async_uploads.storage.filesystem.FileSystemAsyncUploadStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The storage: the filesystem backend (default), or with ``--backend s3`` the S3 backend on the throwaway SeaweedFS
# the runner started (see benchmarks/s3.py), which it describes in AP_BENCH_S3_*.
STORAGE_BACKEND = os.environ.get("AP_BENCH_STORAGE", "filesystem")
if STORAGE_BACKEND == "s3":
    try:
        S3_ENDPOINT = os.environ["AP_BENCH_S3_ENDPOINT"]
    except KeyError:
        raise ImproperlyConfigured("AP_BENCH_STORAGE=s3 needs AP_BENCH_S3_ENDPOINT (the runner sets both).") from None
    STORAGES["default"] = {
        "BACKEND": "alliance_platform.storage.async_uploads.storage.s3.S3AsyncUploadStorage",
        "OPTIONS": {
            "bucket_name": os.environ["AP_BENCH_S3_BUCKET"],
            "endpoint_url": S3_ENDPOINT,
            "access_key": os.environ["AP_BENCH_S3_ACCESS_KEY"],
            "secret_key": os.environ["AP_BENCH_S3_SECRET_KEY"],
            "region_name": "us-east-1",
            "signature_version": "s3v4",
            "addressing_style": "path",
        },
    }
elif STORAGE_BACKEND == "azure":
    # ``--backend azure``: the Azure backend on the throwaway Azurite the runner started (see benchmarks/azure.py).
    try:
        AZURE_CONNECTION_STRING = os.environ["AP_BENCH_AZURE_CONNECTION_STRING"]
    except KeyError:
        raise ImproperlyConfigured(
            "AP_BENCH_STORAGE=azure needs AP_BENCH_AZURE_CONNECTION_STRING (the runner sets both)."
        ) from None
    STORAGES["default"] = {
        "BACKEND": "alliance_platform.storage.async_uploads.storage.azure.AzureAsyncUploadStorage",
        "OPTIONS": {
            "connection_string": AZURE_CONNECTION_STRING,
            "azure_container": os.environ["AP_BENCH_AZURE_CONTAINER"],
        },
    }
elif STORAGE_BACKEND != "filesystem":
    raise ImproperlyConfigured(f"AP_BENCH_STORAGE must be filesystem, s3 or azure, not {STORAGE_BACKEND!r}.")

# SQLite pragmas every new connection runs, as "name=value;name=value" (see benchapp/apps.py). The plan benchmark
# runs once more with "synchronous=OFF" to show how much of a plan request is waiting for the disk (fsync).
SQLITE_PRAGMAS = os.environ.get("AP_BENCH_SQLITE_PRAGMAS", "")

# One anonymous session plans thousands of uploads in the plan benchmark; the per-session cap would stop it at 50.
ALLIANCE_PLATFORM = {"STORAGE": {"MAX_PENDING_UPLOADS": None}}
# The S3 upload benchmark's single-POST server raises the multipart threshold above the file's size.
if os.environ.get("AP_BENCH_S3_MULTIPART_THRESHOLD"):
    ALLIANCE_PLATFORM["STORAGE"]["S3_MULTIPART_THRESHOLD"] = int(os.environ["AP_BENCH_S3_MULTIPART_THRESHOLD"])
# The same for the Azure upload benchmark's single-PUT server (a block list above this size).
if os.environ.get("AP_BENCH_AZURE_BLOCK_THRESHOLD"):
    ALLIANCE_PLATFORM["STORAGE"]["AZURE_BLOCK_THRESHOLD"] = int(os.environ["AP_BENCH_AZURE_BLOCK_THRESHOLD"])

# Where the library's tasks go when a benchmark turns on PROMOTION="task": the database backend, whose worker
# (``db_worker``) the background-promotion benchmark runs. Promotion stays in the request (the library's default)
# for every other benchmark; the worker process gets AP_BENCH_PROMOTION=task.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
if os.environ.get("AP_BENCH_PROMOTION"):
    ALLIANCE_PLATFORM["STORAGE"]["PROMOTION"] = os.environ["AP_BENCH_PROMOTION"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"alliance_platform.storage": {"handlers": ["console"], "level": "WARNING"}},
}
