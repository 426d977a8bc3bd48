"""Settings for the test suite: the library, the demo's ``gallery`` app and a test-only app.

``AP_TEST_DB`` picks the database: ``sqlite`` (default) or ``postgres`` (``AP_TEST_PG_HOST``/``AP_TEST_PG_PORT``).
"""

import os
from pathlib import Path
import tempfile

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
# The languages the library ships translations for; English when a request asks for none of them.
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("de", "German"), ("fr", "French")]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "alliance_platform.storage",
    "gallery",
    "tests.testapp",
    # The database task backend's table, so that tests can enqueue on it for their real workers (tests/tasks).
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of each request from its Accept-Language header (or language cookie): the widget's texts and
    # the upload errors follow it.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if os.environ.get("AP_TEST_DB", "sqlite") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "postgres",
            "USER": "postgres",
            "HOST": os.environ.get("AP_TEST_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("AP_TEST_PG_PORT", "5433"),
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

# Each test gets its own empty MEDIA_ROOT (see conftest.py); this is only the fallback.
MEDIA_ROOT = os.path.join(tempfile.gettempdir(), "ap-storage-tests-media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"

STORAGES = {
    "default": {"BACKEND": "alliance_platform.storage.async_uploads.storage.filesystem.FileSystemAsyncUploadStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

ALLIANCE_PLATFORM = {"STORAGE": {}}
# The broker of the RQ task backend (tests/tasks), when the run started Redis (--services=...,redis).
RQ_QUEUES = {"default": {"URL": os.environ.get("AP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/admin/login/"
