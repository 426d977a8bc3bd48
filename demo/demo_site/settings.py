"""Settings for the demo site: SQLite, files on the local disk, uploads through the filesystem backend.

``DEMO_STORAGE=s3`` switches uploads to S3 (or any S3-compatible server), configured from the environment:
``AWS_STORAGE_BUCKET_NAME``, ``AWS_S3_ENDPOINT_URL`` (leave unset for Amazon S3), ``AWS_S3_ACCESS_KEY_ID``,
``AWS_S3_SECRET_ACCESS_KEY`` and ``AWS_S3_REGION_NAME`` (default us-east-1). Needs the ``s3`` extra, and bucket
CORS rules that let this site's origin upload (see docs/s3.md).

``DEMO_STORAGE=azure`` switches uploads to Azure Blob Storage (or Azurite, the emulator), configured from the
environment: ``AZURE_CONNECTION_STRING`` (with an AccountKey, which signs the SAS URLs), ``AZURE_CONTAINER`` and,
optionally, ``AZURE_LOCATION``. Needs the ``azure`` extra, an existing container and Blob service CORS rules for
this site's origin (see docs/azure.md).

``DEMO_STORAGE=gcs`` switches uploads to Google Cloud Storage, configured from the environment: ``GS_BUCKET_NAME``,
and credentials that can sign: a service account key (``GOOGLE_APPLICATION_CREDENTIALS``), or the default
credentials with ``GS_IAM_SIGN_BLOB=1`` (and ``GS_SA_EMAIL`` when they do not name their service account). Needs
the ``gcs`` extra, an existing bucket and bucket CORS rules for this site's origin (see docs/gcs.md).

Not for production: the secret key is public and DEBUG is on.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "demo-only-not-secret-a7f3c19e0b5d4e2f8c6a"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "alliance_platform.storage",
    # The documents API (gallery/api.py, docs/drf.md); needs the library's `drf` extra.
    "rest_framework",
    "gallery",
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
    # Lets the library know who submits a form (it checks that uploads belong to that user).
    # Needs request.user, so it comes after AuthenticationMiddleware.
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_site.urls"
WSGI_APPLICATION = "demo_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

AUTH_PASSWORD_VALIDATORS = []

LANGUAGE_CODE = "en-us"
# The languages alliance-platform-storage ships translations for; the browser's Accept-Language picks one.
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# Where the filesystem backend keeps uploaded files. Nothing is served from MEDIA_URL: downloads go
# through the library's download view, which checks permissions first.
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"

STORAGES = {
    "default": {
        "BACKEND": "alliance_platform.storage.async_uploads.storage.filesystem.FileSystemAsyncUploadStorage",
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}

DEMO_STORAGE = os.environ.get("DEMO_STORAGE", "filesystem").strip().lower()
if DEMO_STORAGE == "s3":

    def _required(name: str) -> str:
        value = os.environ.get(name, "")
        if not value:
            raise ImproperlyConfigured(f"DEMO_STORAGE=s3 needs the {name} environment variable.")
        return value

    _s3_options = {
        "bucket_name": _required("AWS_STORAGE_BUCKET_NAME"),
        "access_key": _required("AWS_S3_ACCESS_KEY_ID"),
        "secret_key": _required("AWS_S3_SECRET_ACCESS_KEY"),
        "region_name": os.environ.get("AWS_S3_REGION_NAME") or "us-east-1",
        "signature_version": "s3v4",
    }
    if os.environ.get("AWS_S3_ENDPOINT_URL"):
        # Self-hosted S3 servers (SeaweedFS, MinIO...) rarely have a DNS name per bucket: put the bucket in the path.
        _s3_options["endpoint_url"] = os.environ["AWS_S3_ENDPOINT_URL"]
        _s3_options["addressing_style"] = "path"
    STORAGES["default"] = {
        "BACKEND": "alliance_platform.storage.async_uploads.storage.s3.S3AsyncUploadStorage",
        "OPTIONS": _s3_options,
    }
elif DEMO_STORAGE == "azure":

    def _required_azure(name: str) -> str:
        value = os.environ.get(name, "")
        if not value:
            raise ImproperlyConfigured(f"DEMO_STORAGE=azure needs the {name} environment variable.")
        return value

    STORAGES["default"] = {
        "BACKEND": "alliance_platform.storage.async_uploads.storage.azure.AzureAsyncUploadStorage",
        "OPTIONS": {
            "connection_string": _required_azure("AZURE_CONNECTION_STRING"),
            "azure_container": _required_azure("AZURE_CONTAINER"),
            "location": os.environ.get("AZURE_LOCATION", ""),
        },
    }
elif DEMO_STORAGE == "gcs":
    if not os.environ.get("GS_BUCKET_NAME"):
        raise ImproperlyConfigured("DEMO_STORAGE=gcs needs the GS_BUCKET_NAME environment variable.")
    STORAGES["default"] = {
        "BACKEND": "alliance_platform.storage.async_uploads.storage.gcs.GoogleCloudAsyncUploadStorage",
        "OPTIONS": {
            "bucket_name": os.environ["GS_BUCKET_NAME"],
            "iam_sign_blob": os.environ.get("GS_IAM_SIGN_BLOB", "") not in ("", "0", "false"),
            "sa_email": os.environ.get("GS_SA_EMAIL") or None,
        },
    }
elif DEMO_STORAGE != "filesystem":
    raise ImproperlyConfigured(f"DEMO_STORAGE must be 'filesystem', 's3', 'azure' or 'gcs', not {DEMO_STORAGE!r}.")

# All library settings are optional; see the documentation for what can go here.
ALLIANCE_PLATFORM = {"STORAGE": {"CORS_ORIGINS": ["http://127.0.0.1:8000", "http://localhost:8000"]}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The demo pages need a signed-in user (the library checks the gallery app's permissions); reuse the admin's
# login page.
LOGIN_URL = "/admin/login/"
