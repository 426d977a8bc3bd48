import re

from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created

_PRAGMA = re.compile(r"^[a-z_]+=[A-Za-z0-9_]+$")


def sqlite_pragmas() -> list[str]:
    pragmas = [p.strip() for p in settings.SQLITE_PRAGMAS.split(";") if p.strip()]
    for pragma in pragmas:
        if not _PRAGMA.match(pragma):
            raise ValueError(f"Not a SQLite pragma of the form name=value: {pragma!r}")
    return pragmas


def apply_sqlite_pragmas(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for pragma in sqlite_pragmas():
                cursor.execute(f"PRAGMA {pragma}")


class BenchAppConfig(AppConfig):
    name = "benchmarks.benchapp"
    label = "benchapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        if sqlite_pragmas():
            connection_created.connect(apply_sqlite_pragmas, dispatch_uid="benchapp_sqlite_pragmas")
