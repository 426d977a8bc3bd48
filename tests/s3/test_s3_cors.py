"""``async_uploads_cors --apply`` against the S3 server: the rules it writes are the ones the browser needs."""

from __future__ import annotations

import io
import json

from django.core.management import call_command
import pytest
import requests

ORIGIN = "https://app.example.com"


def preflight(s3_server, bucket: str, method: str, origin: str = ORIGIN) -> requests.Response:
    return requests.options(
        f"{s3_server['endpoint_url']}/{bucket}/async-temp-files/x.pdf",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )


def test_printing_changes_nothing(s3_storage, s3_client, bucket):
    out = io.StringIO()
    call_command("async_uploads_cors", "--origin", ORIGIN, stdout=out)
    header, printed = out.getvalue().split("\n", 1)
    assert header.startswith(f"# S3 bucket '{bucket}'")
    # Ready to save as cors.json for `aws s3api put-bucket-cors --cors-configuration file://cors.json`.
    assert json.loads(printed)["CORSRules"][0]["ExposeHeaders"] == ["ETag"]
    with pytest.raises(s3_client.exceptions.ClientError, match="NoSuchCORSConfiguration"):
        s3_client.get_bucket_cors(Bucket=bucket)


def test_applied_rules_let_the_origin_upload_and_keep_existing_rules(s3_storage, s3_server, s3_client, bucket):
    other = {"AllowedOrigins": ["https://other.example.com"], "AllowedMethods": ["GET"], "AllowedHeaders": ["*"]}
    s3_client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [other]})
    assert preflight(s3_server, bucket, "PUT").headers.get("Access-Control-Allow-Origin") != ORIGIN

    call_command("async_uploads_cors", "--origin", ORIGIN, "--apply", stdout=io.StringIO())
    call_command("async_uploads_cors", "--origin", ORIGIN, "--apply", stdout=io.StringIO())  # idempotent

    rules = s3_client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert len(rules) == 2
    assert rules[0]["AllowedOrigins"] == ["https://other.example.com"]
    assert rules[1]["ExposeHeaders"] == ["ETag"]
    for method in ("POST", "PUT", "GET"):
        response = preflight(s3_server, bucket, method)
        assert response.status_code == 200, (method, response.text)
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert method in response.headers["Access-Control-Allow-Methods"]
    assert preflight(s3_server, bucket, "PUT", origin="https://evil.example.com").headers.get(
        "Access-Control-Allow-Origin"
    ) not in ("*", "https://evil.example.com")


def test_origins_come_from_the_setting(s3_storage, s3_client, bucket, settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CORS_ORIGINS": [ORIGIN, "http://127.0.0.1:8000"]}}
    call_command("async_uploads_cors", "--apply", stdout=io.StringIO())
    (rule,) = s3_client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rule["AllowedOrigins"] == [ORIGIN, "http://127.0.0.1:8000"]
