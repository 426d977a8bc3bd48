"""How AzureAsyncUploadStorage signs (account key or cached user delegation key), and the Blob service CORS rules
it prints and applies."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from azure.storage.blob import CorsRule, UserDelegationKey
from django.core.exceptions import ImproperlyConfigured
import pytest
import requests

from alliance_platform.storage.async_uploads.storage.azure import AzureAsyncUploadStorage
from tests.azure.conftest import make_storage


class FakeCredential:
    """Stands in for a managed identity: the tests never let it reach a server."""

    def get_token(self, *scopes, **kwargs):
        raise AssertionError("no token should be requested")


class DelegationKeys:
    """Replaces the service's Get User Delegation Key call, recording each request."""

    def __init__(self):
        self.requests: list[tuple[datetime, datetime]] = []

    def __call__(self, key_start_time: datetime, key_expiry_time: datetime, **kwargs) -> UserDelegationKey:
        self.requests.append((key_start_time, key_expiry_time))
        key = UserDelegationKey()
        key.signed_oid = "00000000-0000-0000-0000-000000000001"
        key.signed_tid = "00000000-0000-0000-0000-000000000002"
        key.signed_start = key_start_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_expiry = key_expiry_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_service = "b"
        key.signed_version = "2022-11-02"
        key.value = base64.b64encode(f"key-{len(self.requests)}".encode()).decode()
        return key


@pytest.fixture
def identity_storage(monkeypatch) -> tuple[AzureAsyncUploadStorage, DelegationKeys]:
    storage = AzureAsyncUploadStorage(account_name="acct", azure_container="uploads", token_credential=FakeCredential())
    keys = DelegationKeys()
    monkeypatch.setattr(storage.service_client, "get_user_delegation_key", keys)
    return storage, keys


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_user_delegation_key_is_fetched_once_and_reused(identity_storage):
    storage, keys = identity_storage
    urls = [
        storage.generate_download_url("cloud/a.pdf", "field"),
        storage.generate_download_url("cloud/b.pdf", "field"),
        storage.generate_upload_url("async-temp-files/x.pdf", "field", size=10)["url"],
    ]
    assert len(keys.requests) == 1
    for url in urls:
        sas = query(url)
        assert sas["skoid"] == "00000000-0000-0000-0000-000000000001", "signed with the delegation key"
        assert "sig" in sas
    start, expiry = keys.requests[0]
    assert timedelta(hours=23) < expiry - start <= timedelta(days=1, minutes=10)


def test_user_delegation_key_is_renewed_shortly_before_it_expires(identity_storage):
    storage, keys = identity_storage
    storage.generate_download_url("cloud/a.pdf", "field")
    storage._delegation_key_expiry = datetime.now(UTC) + timedelta(minutes=2)  # a day later, nearly expired
    storage.generate_download_url("cloud/a.pdf", "field")
    assert len(keys.requests) == 2
    storage.generate_download_url("cloud/a.pdf", "field")
    assert len(keys.requests) == 2, "the new key is reused in turn"


def test_a_sas_never_outlives_its_delegation_key(identity_storage, settings):
    storage, keys = identity_storage
    storage.generate_download_url("cloud/a.pdf", "field")
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"DOWNLOAD_URL_EXPIRY": 3 * 24 * 3600}}
    url = storage.generate_download_url("cloud/a.pdf", "field")
    assert len(keys.requests) == 2
    sas_expiry = datetime.fromisoformat(query(url)["se"].replace("Z", "+00:00"))
    assert keys.requests[-1][1] >= sas_expiry


def test_account_key_signing_fetches_no_delegation_key(azurite, container):
    storage = make_storage(azurite, container)
    url = storage.generate_download_url("cloud/a.pdf", "field")
    assert "skoid" not in query(url)
    assert storage._delegation_key is None


def test_signing_without_a_key_or_credential_is_a_configuration_error():
    storage = AzureAsyncUploadStorage(account_name="acct", azure_container="uploads")
    with pytest.raises(ImproperlyConfigured, match="account key"):
        storage.generate_download_url("cloud/a.pdf", "field")


@pytest.fixture
def service_cors(blob_service):
    """Azurite's account-wide CORS rules, put back as they were after the test."""
    before = blob_service.get_service_properties()["cors"]
    yield blob_service
    blob_service.set_service_properties(cors=before)


def preflight(url: str, origin: str) -> requests.Response:
    return requests.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-ms-blob-type,content-type",
        },
        timeout=30,
    )


def test_cors_rules_name_what_the_widget_needs(azurite, container):
    (rule,) = make_storage(azurite, container).cors_rules(["https://app.example.com"])
    assert rule["allowedOrigins"] == ["https://app.example.com"]
    assert rule["allowedMethods"] == ["PUT", "GET", "HEAD", "OPTIONS"]
    assert {"x-ms-blob-type", "content-type", "x-ms-version"} <= set(rule["allowedHeaders"])
    assert "etag" in rule["exposedHeaders"]
    assert rule["maxAgeInSeconds"] > 0


def test_apply_cors_rules_lets_the_origin_upload(azurite, container, service_cors):
    storage = make_storage(azurite, container)
    blob_url = storage.client.get_blob_client("async-temp-files/x.pdf").url
    service_cors.set_service_properties(cors=[CorsRule(["https://other.example.com"], ["GET"])])
    assert preflight(blob_url, "https://app.example.com").status_code == 403

    storage.apply_cors_rules(["https://app.example.com"])
    allowed = preflight(blob_url, "https://app.example.com")
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert preflight(blob_url, "https://evil.example.com").status_code == 403

    storage.apply_cors_rules(["https://app.example.com"])
    rules = service_cors.get_service_properties()["cors"]
    assert [rule.allowed_origins for rule in rules] == ["https://app.example.com", "https://other.example.com"], (
        "applied again, our rule is replaced, not repeated; other rules are kept after it"
    )


def test_apply_cors_rules_refuses_to_exceed_azures_limit(azurite, container, service_cors):
    others = [CorsRule([f"https://site{i}.example.com"], ["GET"]) for i in range(5)]
    service_cors.set_service_properties(cors=others)
    with pytest.raises(ImproperlyConfigured, match="5"):
        make_storage(azurite, container).apply_cors_rules(["https://app.example.com"])
    assert len(service_cors.get_service_properties()["cors"]) == 5


def test_missing_extra_is_a_clear_configuration_error(monkeypatch):
    import importlib
    import sys

    module = "alliance_platform.storage.async_uploads.storage.azure"
    monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "azure.storage.blob", None)  # as if azure-storage-blob were not installed
    with pytest.raises(ImproperlyConfigured, match=r"alliance-platform-storage\[azure\]"):
        importlib.import_module(module)


def test_configuration_checks_name_what_is_missing():
    storage = AzureAsyncUploadStorage(account_name="acct", sas_token="sv=2022&sig=x")
    ids = {problem.id for problem in storage.check_configuration()}
    assert ids == {"alliance_platform_storage.W020", "alliance_platform_storage.W021"}
    assert (
        AzureAsyncUploadStorage(account_name="acct", account_key="a2V5", azure_container="c").check_configuration()
        == []
    )


def test_cors_target_names_the_storage_account(azurite, container):
    target = make_storage(azurite, container).cors_target()
    assert target.startswith("Azure storage account 'devstoreaccount1' (http://127.0.0.1:")


def test_cors_command_prints_and_applies_the_azure_rules(azure_storage, service_cors):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("async_uploads_cors", "--origin", "https://app.example.com", "--apply", stdout=out)
    assert "Azure storage account 'devstoreaccount1'" in out.getvalue()
    assert '"x-ms-blob-type"' in out.getvalue()
    rules = service_cors.get_service_properties()["cors"]
    assert rules[0].allowed_origins == "https://app.example.com"
    assert "PUT" in rules[0].allowed_methods.split(",")


def load_demo_settings(monkeypatch, **environment: str):
    import importlib
    import sys

    for name in ("AZURE_CONNECTION_STRING", "AZURE_CONTAINER", "AZURE_LOCATION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "demo_site.settings", raising=False)
    return importlib.import_module("demo_site.settings")


def test_demo_switches_to_azure_from_the_environment(monkeypatch):
    demo = load_demo_settings(
        monkeypatch,
        DEMO_STORAGE="azure",
        AZURE_CONNECTION_STRING="AccountName=a;AccountKey=a2V5",
        AZURE_CONTAINER="demo",
    )
    default = demo.STORAGES["default"]
    assert default["BACKEND"] == "alliance_platform.storage.async_uploads.storage.azure.AzureAsyncUploadStorage"
    assert default["OPTIONS"]["azure_container"] == "demo"


def test_demo_on_azure_names_a_missing_setting(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="AZURE_CONNECTION_STRING"):
        load_demo_settings(monkeypatch, DEMO_STORAGE="azure", AZURE_CONTAINER="demo")
