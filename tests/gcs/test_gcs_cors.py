"""``async_uploads_cors`` for a GCS bucket: the rules it prints and applies are the ones the widget needs.

The emulator neither keeps a bucket's CORS rules nor applies them (it answers every origin), so these tests check
the bucket update the command sends; the browser tests (tests/e2e) upload through it from another origin.
"""

from __future__ import annotations

import io
import json

from django.core.management import call_command
import pytest

from tests.gcs.request_log import GcsRequestLog

ORIGIN = "https://app.example.com"

pytestmark = pytest.mark.django_db


def test_printing_changes_nothing(gcs_storage, gcs_client, gcs_bucket):
    out = io.StringIO()
    call_command("async_uploads_cors", "--origin", ORIGIN, stdout=out)
    header, printed = out.getvalue().split("\n", 1)
    assert header.startswith(f"# GCS bucket '{gcs_bucket}'")
    # Ready to save as cors.json for `gcloud storage buckets update gs://BUCKET --cors-file=cors.json`.
    (rule,) = json.loads(printed)
    assert rule["origin"] == [ORIGIN]
    assert set(rule["method"]) == {"GET", "HEAD", "POST", "PUT"}
    assert "ETag" in rule["responseHeader"]
    assert not gcs_client.get_bucket(gcs_bucket).cors


def _patched_rules(gcs_storage, existing: list[dict], monkeypatch, **command_options) -> list[dict]:
    """The CORS rules the command's bucket PATCH sends when the bucket already has ``existing`` (the emulator keeps
    no CORS rules, so the bucket it reports is given them here)."""
    original = gcs_storage.client.get_bucket

    def bucket_with_rules(name, *args, **kwargs):
        bucket = original(name, *args, **kwargs)
        bucket._properties["cors"] = existing
        return bucket

    monkeypatch.setattr(gcs_storage.client, "get_bucket", bucket_with_rules)
    log = GcsRequestLog(gcs_storage)
    call_command("async_uploads_cors", "--apply", stdout=io.StringIO(), **command_options)
    (patch,) = [request for request in log.requests if request.method == "PATCH"]
    return patch.body["cors"]


OTHER = {"origin": ["https://other.example.com"], "method": ["GET"], "responseHeader": ["*"], "maxAgeSeconds": 60}


def test_applied_rules_keep_existing_rules(gcs_storage, monkeypatch):
    rules = _patched_rules(gcs_storage, [OTHER], monkeypatch, origins=[ORIGIN])
    assert rules == [OTHER, *gcs_storage.cors_rules([ORIGIN])]


def test_applying_twice_adds_the_rule_once(gcs_storage, monkeypatch):
    ours = gcs_storage.cors_rules([ORIGIN])
    assert _patched_rules(gcs_storage, [OTHER, *ours], monkeypatch, origins=[ORIGIN]) == [OTHER, *ours]


def test_origins_come_from_the_setting(gcs_storage, settings, monkeypatch):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CORS_ORIGINS": [ORIGIN, "http://127.0.0.1:8000"]}}
    (rule,) = _patched_rules(gcs_storage, [], monkeypatch)
    assert rule["origin"] == [ORIGIN, "http://127.0.0.1:8000"]
