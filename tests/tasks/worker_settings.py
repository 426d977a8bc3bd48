"""Settings of the task workers the tests start: the test settings, on the test run's database (the name pytest
gave it, ``AP_WORKER_DB_NAME``), with the task backend the test enqueues on and the library's settings it chose."""

import json
import os

from tests.settings import *  # noqa: F403

DATABASES["default"]["NAME"] = os.environ["AP_WORKER_DB_NAME"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "django_rq", "tests.tasks.worker_app.WorkerStorageConfig"]  # noqa: F405
TASKS = json.loads(os.environ["AP_WORKER_TASKS"])
ALLIANCE_PLATFORM = {"STORAGE": json.loads(os.environ.get("AP_WORKER_STORAGE_SETTINGS", "{}"))}
LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"alliance_platform.storage": {"handlers": ["console"], "level": "INFO"}},
}
