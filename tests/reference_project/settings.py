"""A project set up exactly as the reference's documentation says, and nothing of ours beyond it.

Django's ``startproject`` settings (its middleware list, no middleware of this library), the app in
``INSTALLED_APPS``, the backend in ``STORAGES["default"]`` (chosen by ``REFERENCE_PROJECT_BACKEND``: filesystem, s3
or azure, configured through django-storages' own settings), the registry's URLs included, no ``ALLIANCE_PLATFORM``
setting. The tests run it under gunicorn (WSGI) and uvicorn (ASGI) with the database and media root they choose.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "reference-project-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "alliance_platform.storage",
    "tests.reference_project.notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.reference_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "tests.reference_project.wsgi.application"

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["REFERENCE_PROJECT_DATABASE"]}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
MEDIA_ROOT = os.environ["REFERENCE_PROJECT_MEDIA_ROOT"]
LOGIN_URL = "/accounts/login/"

_BACKENDS = {
    "filesystem": "alliance_platform.storage.async_uploads.storage.filesystem.FileSystemAsyncUploadStorage",
    "s3": "alliance_platform.storage.async_uploads.storage.s3.S3AsyncUploadStorage",
    "azure": "alliance_platform.storage.async_uploads.storage.azure.AzureAsyncUploadStorage",
}
_BACKEND = os.environ.get("REFERENCE_PROJECT_BACKEND", "filesystem")
STORAGES = {
    "default": {"BACKEND": _BACKENDS[_BACKEND]},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# django-storages' own settings ("see the S3 / Azure authentication documentation").
if _BACKEND == "s3":
    AWS_S3_ENDPOINT_URL = os.environ["REFERENCE_PROJECT_S3_ENDPOINT"]
    AWS_ACCESS_KEY_ID = os.environ["REFERENCE_PROJECT_S3_ACCESS_KEY"]
    AWS_SECRET_ACCESS_KEY = os.environ["REFERENCE_PROJECT_S3_SECRET_KEY"]
    AWS_STORAGE_BUCKET_NAME = os.environ["REFERENCE_PROJECT_S3_BUCKET"]
    AWS_S3_REGION_NAME = "us-east-1"
    AWS_S3_ADDRESSING_STYLE = "path"
    AWS_S3_SIGNATURE_VERSION = "s3v4"
elif _BACKEND == "azure":
    AZURE_CONNECTION_STRING = os.environ["REFERENCE_PROJECT_AZURE_CONNECTION_STRING"]
    AZURE_CONTAINER = os.environ["REFERENCE_PROJECT_AZURE_CONTAINER"]

# The browser-side rules are not what these tests are about (their client is not a browser).
SILENCED_SYSTEM_CHECKS = ["alliance_platform_storage.W010"]
