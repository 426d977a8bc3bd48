"""A project that ran alliance-platform-storage 0.0.5 installs this package, runs ``migrate`` and keeps working.

The reference is installed from PyPI into a virtual environment of its own (built once per run); it migrates a
fresh database (a SQLite file, or a new database on the suite's PostgreSQL server when the run uses PostgreSQL)
and leaves records and uploads in it. Then this package, in another process on the same database and media
directory, migrates and reports what it finds. The two packages share an import path, so they never meet in one
process.
"""

from __future__ import annotations

from collections.abc import Iterator
import hashlib
import json
import os
from pathlib import Path
import subprocess
import sys
import uuid

import django
import pytest

PROJECT = Path(__file__).parent / "upgrade_project"
REFERENCE = "alliance-platform-storage==0.0.5"
# The reference depends on these without pinning them; pinned so that the run does not change under us.
REFERENCE_DEPENDENCIES = ["alliance-platform-core==0.0.5", "django-allianceutils==4.2.1"]
OUR_MIGRATIONS = [
    "0001_initial",
    "0002_asynctempfile_upload_id",
    "0003_claims_and_pinning",
    "0004_upgrade_from_reference_schema",
    "0005_translated_labels",
    "0006_promotion_tasks_and_scanning",
]
USES_POSTGRES = os.environ.get("AP_TEST_DB", "sqlite") == "postgres"

pytestmark = pytest.mark.slow


def run(command: list[str], env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def reference_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A virtual environment with the reference and the Django this run uses (the upgrade changes only us)."""
    venv = tmp_path_factory.mktemp("reference-venv")
    run([sys.executable, "-m", "venv", str(venv)], dict(os.environ))
    python = str(venv / "bin" / "python")
    packages = [REFERENCE, *REFERENCE_DEPENDENCIES, f"Django=={django.__version__}"]
    if USES_POSTGRES:
        packages.append("psycopg[binary]")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "5", *packages]
    try:
        run(pip, dict(os.environ), timeout=600)
    except AssertionError:
        run(pip, dict(os.environ), timeout=600)  # one more attempt: PyPI can fail a download now and then
    return python


@pytest.fixture
def database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Settings for a database nobody has migrated yet, for both sides of the upgrade."""
    if not USES_POSTGRES:
        yield {"UPGRADE_DB_ENGINE": "sqlite", "UPGRADE_DB_NAME": str(tmp_path / "project.sqlite3")}
        return
    import psycopg

    host, port = os.environ["AP_TEST_PG_HOST"], os.environ["AP_TEST_PG_PORT"]
    name = f"ap_upgrade_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "UPGRADE_DB_ENGINE": "postgres",
            "UPGRADE_DB_NAME": name,
            "UPGRADE_PG_HOST": host,
            "UPGRADE_PG_PORT": port,
        }
    finally:
        with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def project_env(database: dict[str, str], media: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTHON", "VIRTUAL_ENV", "AP_TEST_DB"))
    }
    env.update(database)
    env.update(
        UPGRADE_MEDIA_ROOT=str(media),
        DJANGO_SETTINGS_MODULE="upgrade_settings",
        PYTHONPATH=str(PROJECT),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def registry_id(model_label: str, field_name: str) -> str:
    """The field id as the registry documents it, written out here independently of the code."""

    def short(value: str) -> str:
        return hashlib.shake_256(value.encode()).hexdigest(8)

    return f"{short(model_label)}.{short(field_name)}.{field_name}"


def test_a_database_migrated_by_the_reference_is_upgraded(reference_python, database, tmp_path):
    env = project_env(database, tmp_path / "media")
    made = json.loads(run([reference_python, "reference_side.py"], env))

    migrate_output = run([sys.executable, "-m", "django", "migrate", "--noinput"], env)
    assert "Applying alliance_platform_storage.0004_upgrade_from_reference_schema... OK" in migrate_output
    arguments = {
        "pending_key": made["pending"]["key"],
        "record_pk": made["record"]["pk"],
        "check_objects": [made["pending"]["key"], made["abandoned"]["key"], made["record"]["name"]],
    }
    found = json.loads(run([sys.executable, "our_side.py", json.dumps(arguments)], env))

    # Every migration of ours is applied, nothing is left to apply, the reference's table is gone and the legacy
    # table it copied from is left alone.
    migrations = found["migrations"]
    assert migrations["unapplied"] == []
    assert migrations["ours_on_disk"] == OUR_MIGRATIONS
    assert set(OUR_MIGRATIONS) <= set(migrations["ours_applied"])
    assert migrations["tables"] == ["alliance_platform_storage_asynctempfile", "common_storage_async_temp_file"]

    # Each reference row became one of ours, for the field the registry now serves under the same key.
    field_id = registry_id("legacyapp.Report", "file")
    assert found["field_id"] == field_id
    rows = found["rows"]
    assert set(rows) == set(made["rows"])  # one row per key, however many the reference had
    # Uploads nobody had submitted yet are marked as planned before the upgrade (on PostgreSQL also the legacy
    # table's pending row, which the reference copied); the others have no owner.
    legacy_key = "async-temp-files/2020/01/01/legacy0000-legacy.pdf"
    waiting = {made["pending"]["key"], made["abandoned"]["key"], legacy_key}
    for key, before in made["rows"].items():
        assert rows[key]["field_id"] == field_id
        assert rows[key]["original_filename"] == before["original_filename"]
        assert rows[key]["uploaded_by_id"] is None
        assert rows[key]["session_fingerprint"] == ("planned-before-upgrade" if key in waiting else "")
    promoted = rows[made["promoted"]["key"]]
    assert promoted["moved_to_location"] == made["promoted"]["moved_to_location"] == made["record"]["name"]
    assert promoted["error"] == ""
    assert rows[made["failed"]["key"]]["error"] == made["failed"]["error"]
    assert rows[made["failed"]["key"]]["moved_to_location"] == ""
    assert rows[made["pending"]["key"]] == {
        "field_id": field_id,
        "original_filename": "waiting.pdf",
        "moved_to_location": "",
        "error": "",
        "uploaded_by_id": None,
        "session_fingerprint": "planned-before-upgrade",
    }
    # The reference's 0002 copied the legacy table's row on PostgreSQL only; we convert what it left, once.
    assert (legacy_key in rows) is (made["vendor"] == "postgresql")

    # A converted pending upload is accepted from the first submitter, as the reference would have accepted it,
    # and promoted with its bytes; that submitter owns it from then on, so nobody else can submit it again.
    first = found["submit_as_user"]
    assert first["valid"] and first["errors"] == []
    assert first["saved"]["name"].startswith("reports/") and first["saved"]["name"].endswith(".pdf")
    assert first["saved"]["bytes"] == made["pending"]["bytes"]
    assert found["owner_after_submit"] == {"uploaded_by": "after-upgrade", "moved": True}
    refusal = "This upload was not found or has expired. Please upload the file again."
    assert found["submit_anonymously"] == {"valid": False, "errors": [refusal], "saved": None}
    assert found["pending_after_submit"] == {"row": True, "object": False}

    # The record promoted by the reference still opens.
    assert found["record_bytes"] == made["record"]["bytes"]

    # Cleanup treats converted rows like its own: expired ones go (the abandoned upload with its object, the
    # promoted row without touching the final file), the failed one stays for a person, the fresh one (promoted
    # just now, its temporary object gone) stays.
    after = found["after_cleanup"]
    assert after["keys"] == sorted([made["pending"]["key"], made["failed"]["key"]])
    assert after["objects"] == {
        made["pending"]["key"]: False,
        made["abandoned"]["key"]: False,
        made["record"]["name"]: True,
    }


def test_our_migrations_on_a_fresh_database_create_our_table_directly(database, tmp_path):
    env = project_env(database, tmp_path / "media")
    output = run([sys.executable, "-m", "django", "migrate", "--noinput"], env)
    for name in OUR_MIGRATIONS:
        assert f"Applying alliance_platform_storage.{name}... OK" in output
    script = (
        "import django, json; django.setup()\n"
        "from django.db import connection\n"
        "with connection.cursor() as c: tables = connection.introspection.table_names(c)\n"
        "from alliance_platform.storage.async_uploads.models import AsyncTempFile\n"
        "columns = [f.column for f in AsyncTempFile._meta.local_fields]\n"
        "with connection.cursor() as c:\n"
        "    described = [d.name for d in connection.introspection.get_table_description(c, AsyncTempFile._meta.db_table)]\n"
        "print(json.dumps({'tables': sorted(t for t in tables if 'temp' in t), 'missing': sorted(set(columns) - set(described))}))\n"
    )
    found = json.loads(run([sys.executable, "-c", script], env))
    assert found == {"tables": ["alliance_platform_storage_asynctempfile"], "missing": []}


def run_ours(env: dict[str, str], script: str, *arguments: str) -> dict:
    """Run ``script`` (Python, after ``django.setup()``) with this package; it prints one JSON object."""
    prelude = "import django, json, sys\ndjango.setup()\n"
    return json.loads(run([sys.executable, "-c", prelude + script, *arguments], env))


def test_a_database_our_own_migrations_made_keeps_its_rows(database, tmp_path):
    """Migrated by 0001-0003 of ours before 0004 existed: 0004 changes nothing."""
    env = project_env(database, tmp_path / "media")
    run([sys.executable, "-m", "django", "migrate", "--noinput"], env)
    run([sys.executable, "-m", "django", "migrate", "--noinput", "alliance_platform_storage", "0003"], env)
    made = run_ours(
        env,
        "from django.contrib.auth import get_user_model\n"
        "from django.db import connection\n"
        "from django.db.migrations.loader import MigrationLoader\n"
        # The model as 0003 left the table (today's has columns added since).
        "state = MigrationLoader(connection).project_state(('alliance_platform_storage', '0003_claims_and_pinning'))\n"
        "AsyncTempFile = state.apps.get_model('alliance_platform_storage', 'AsyncTempFile')\n"
        "user = get_user_model().objects.create_user('owner')\n"
        "row = AsyncTempFile.objects.create(key='async-temp-files/2026/01/01/abc-ours.pdf', original_filename='ours.pdf',"
        " field_id='f.g.file', uploaded_by_id=user.pk, declared_size=12, content_type='application/pdf',"
        " planned_for='7')\n"
        "print(json.dumps({'pk': row.pk, 'user': user.pk}))\n",
    )
    output = run([sys.executable, "-m", "django", "migrate", "--noinput"], env)
    assert "Applying alliance_platform_storage.0004_upgrade_from_reference_schema... OK" in output
    found = run_ours(
        env,
        "from alliance_platform.storage.async_uploads.models import AsyncTempFile\n"
        "print(json.dumps(list(AsyncTempFile.objects.values('pk', 'key', 'field_id', 'uploaded_by_id', "
        "'declared_size', 'content_type', 'planned_for'))))\n",
    )
    assert found == [
        {
            "pk": made["pk"],
            "key": "async-temp-files/2026/01/01/abc-ours.pdf",
            "field_id": "f.g.file",
            "uploaded_by_id": made["user"],
            "declared_size": 12,
            "content_type": "application/pdf",
            "planned_for": "7",
        }
    ]


# Puts a database fully migrated by us back into the reference's state (its table, with rows this package's
# tests need but the reference would rarely make, and only 0001 recorded for our app), so the conversion's edge
# cases can be tested without installing the reference.
TO_REFERENCE_STATE = """
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from legacyapp.models import Report

quote = connection.ops.quote_name
report = ContentType.objects.get_for_model(Report).pk
gone = ContentType.objects.create(app_label="legacyapp", model="removedmodel").pk
long_name = "n" * 1500 + ".pdf"
rows = [
    ("async-temp-files/a-long.pdf", long_name, "file", report, "", None),
    ("async-temp-files/b-far.pdf", "far.pdf", "file", report, "reports/" + "x" * 1200 + ".pdf", None),
    ("async-temp-files/c-gone.pdf", "gone.pdf", "attachment", gone, "", "it broke"),
    ("async-temp-files/d-dup.pdf", "first.pdf", "file", report, "", None),
    ("async-temp-files/d-dup.pdf", "second.pdf", "file", report, "", None),
]
with connection.cursor() as cursor:
    cursor.execute("DROP TABLE alliance_platform_storage_asynctempfile")
    cursor.execute(
        "CREATE TABLE alliance_platform_storage_async_temp_file (id integer PRIMARY KEY, created_at timestamp with time"
        " zone NOT NULL, original_filename text NOT NULL, key varchar(500) NOT NULL, field_name varchar(100) NOT NULL,"
        " moved_to_location text NOT NULL, error text NULL, content_type_id integer NOT NULL)"
    )
    for number, (key, name, field, content_type, moved, error) in enumerate(rows, start=1):
        cursor.execute(
            "INSERT INTO alliance_platform_storage_async_temp_file VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [number, "2025-01-01T00:00:00+00:00", name, key, field, moved, error, content_type],
        )
    cursor.execute(
        "DELETE FROM django_migrations WHERE app = 'alliance_platform_storage' AND name <> '0001_initial'"
    )
print(json.dumps({}))
"""


def test_conversion_edge_cases(database, tmp_path):
    env = project_env(database, tmp_path / "media")
    run([sys.executable, "-m", "django", "migrate", "--noinput"], env)
    run_ours(env, TO_REFERENCE_STATE)
    output = run([sys.executable, "-m", "django", "migrate", "--noinput"], env)
    for name in OUR_MIGRATIONS[1:]:
        assert f"Applying alliance_platform_storage.{name}... OK" in output
    found = run_ours(
        env,
        "from alliance_platform.storage.async_uploads.models import AsyncTempFile\n"
        "rows = AsyncTempFile.objects.order_by('key')\n"
        "print(json.dumps({r.key: [r.original_filename, r.field_id, r.moved_to_location, r.error] for r in rows}))\n",
    )
    report_id = registry_id("legacyapp.Report", "file")
    assert found == {
        # Cut to our column's length.
        "async-temp-files/a-long.pdf": ["n" * 1000, report_id, "", ""],
        # The promoted row whose final location does not fit is left out; the model that is gone keeps its
        # content type's name, the error its text.
        "async-temp-files/c-gone.pdf": [
            "gone.pdf",
            registry_id("legacyapp.removedmodel", "attachment"),
            "",
            "it broke",
        ],
        # The same key twice: one row, the oldest.
        "async-temp-files/d-dup.pdf": ["first.pdf", report_id, "", ""],
    }
