"""Settings of a small project written to the reference's documentation, run by both the reference and us.

The database and media directory come from the environment the test gives each subprocess.
"""

import os

SECRET_KEY = "upgrade-test-only"
USE_TZ = True
ROOT_URLCONF = "upgrade_urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "alliance_platform.storage",
    "legacyapp",
]
if os.environ["UPGRADE_DB_ENGINE"] == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["UPGRADE_DB_NAME"],
            "USER": "postgres",
            "HOST": os.environ["UPGRADE_PG_HOST"],
            "PORT": os.environ["UPGRADE_PG_PORT"],
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["UPGRADE_DB_NAME"]}}
MEDIA_ROOT = os.environ["UPGRADE_MEDIA_ROOT"]
STORAGES = {
    "default": {"BACKEND": "alliance_platform.storage.async_uploads.storage.filesystem.FileSystemAsyncUploadStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLIANCE_PLATFORM = {"CORE": {"PROJECT_DIR": os.path.dirname(__file__)}, "STORAGE": {}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
