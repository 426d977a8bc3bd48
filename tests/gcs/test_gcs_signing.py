"""How GoogleCloudAsyncUploadStorage signs, checked without a server (the emulator checks no signature).

Every signature is verified with the public half of the key that made it, over a string to sign rebuilt here from
GCS's V4 rules (canonical request, credential scope), not taken from the signer: a URL or policy whose signed
parts differ from what it carries would not verify. Signing through IAM ``signBlob`` (no key file) is checked by
answering the IAM call with that key, as IAM would with the service account's.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
import hashlib
import json
from urllib.parse import parse_qsl, quote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from google.auth import credentials as google_credentials
from google.auth.transport import requests as google_auth_requests
import pytest

from alliance_platform.storage.async_uploads.storage.gcs import GoogleCloudAsyncUploadStorage
from tests.gcs.conftest import SERVICE_ACCOUNT, SigningCredentials, public_key_verifier

ENDPOINT = "https://storage.googleapis.com"
KEY = "async-temp-files/2026/12/04/0123456789abcdef0123-contract.pdf"


def storage(**options) -> GoogleCloudAsyncUploadStorage:
    options.setdefault("credentials", SigningCredentials())
    return GoogleCloudAsyncUploadStorage(bucket_name="uploads", project_id="ap-test", **options)


def v4_string_to_sign(method: str, url: str, headers: dict[str, str] | None = None) -> tuple[bytes, bytes]:
    """GCS's V4 string to sign for ``url`` (and the signature it carries), rebuilt from the URL alone."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    signature = dict(query)["X-Goog-Signature"]
    signed = sorted((name, value) for name, value in query if name != "X-Goog-Signature")
    canonical_query = "&".join(f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in signed)
    all_headers = {"host": parts.netloc, **{name.lower(): value for name, value in (headers or {}).items()}}
    signed_headers = dict(signed)["X-Goog-SignedHeaders"]
    assert signed_headers == ";".join(sorted(all_headers)), "every header sent is signed, and only those"
    canonical_headers = "".join(f"{name}:{all_headers[name]}\n" for name in sorted(all_headers))
    canonical_request = "\n".join(
        [method, parts.path, canonical_query, canonical_headers, signed_headers, "UNSIGNED-PAYLOAD"]
    )
    scope = dict(signed)["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            dict(signed)["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    return string_to_sign.encode(), bytes.fromhex(signature)


def assert_signed_by_the_key(method: str, url: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    message, signature = v4_string_to_sign(method, url, headers)
    assert public_key_verifier().verify(message, signature)
    return dict(parse_qsl(urlsplit(url).query))


# POST policies (small files).


def test_the_post_policy_is_signed_by_the_service_account_and_pins_key_type_size_and_expiry():
    plan = storage().generate_upload_url(KEY, "field", max_size=1000, content_type="application/pdf", size=900)
    fields = plan["fields"]
    assert plan["url"] == f"{ENDPOINT}/uploads"
    assert public_key_verifier().verify(fields["policy"].encode(), bytes.fromhex(fields["x-goog-signature"]))
    assert fields["x-goog-credential"].startswith(f"{SERVICE_ACCOUNT}/")
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"bucket": "uploads"} in conditions and {"key": KEY} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 0, 1000] in conditions
    assert {"x-goog-credential": fields["x-goog-credential"]} in conditions
    # Every field the form carries (but the signature and the policy itself) is a condition of the policy.
    for name, value in fields.items():
        if name not in ("policy", "x-goog-signature"):
            assert {name: value} in conditions, name
    expires = datetime.fromisoformat(policy["expiration"])
    assert abs(expires - (datetime.now(UTC) + timedelta(seconds=3600))) < timedelta(seconds=30)


def test_a_policy_changed_after_signing_no_longer_verifies():
    fields = storage().generate_upload_url(KEY, "field", max_size=1000, content_type="application/pdf")["fields"]
    widened = base64.b64encode(base64.b64decode(fields["policy"]).replace(b"1000]", b"99999999]")).decode()
    assert widened != fields["policy"]
    assert not public_key_verifier().verify(widened.encode(), bytes.fromhex(fields["x-goog-signature"]))


def test_the_clients_fields_never_reach_the_policy():
    fields = storage().generate_upload_url(
        KEY,
        "field",
        max_size=10,
        fields={"Content-Type": "text/html", "acl": "public-read"},
        conditions=[["content-length-range", 0, 10**12]],
    )["fields"]
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    assert ["content-length-range", 0, 10] in conditions
    assert ["content-length-range", 0, 10**12] not in conditions
    assert "acl" not in fields and fields.get("Content-Type") != "text/html"


def test_object_parameters_are_form_fields_and_conditions():
    parameters = {"cache_control": "private, max-age=60", "metadata": {"origin": "upload"}}
    fields = storage(object_parameters=parameters).generate_upload_url(KEY, "field", max_size=10)["fields"]
    assert fields["Cache-Control"] == "private, max-age=60"
    assert fields["x-goog-meta-origin"] == "upload"
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    assert {"Cache-Control": "private, max-age=60"} in conditions and {"x-goog-meta-origin": "upload"} in conditions


# Signed URLs: parts and downloads.


def test_part_urls_are_signed_puts_of_their_own_objects(settings):
    upload = storage()
    (part,) = upload.sign_upload_parts(KEY, "00aa11bb22cc33dd", [7])
    query = assert_signed_by_the_key("PUT", part["url"], part["headers"])
    assert urlsplit(part["url"]).path == (
        "/uploads/async-temp-files/.parts/2026/12/04/0123456789abcdef0123-contract.pdf/00aa11bb22cc33dd/00007"
    )
    assert query["X-Goog-Expires"] == "3600"
    assert query["X-Goog-Credential"].startswith(f"{SERVICE_ACCOUNT}/")


def test_a_part_url_signed_for_one_part_does_not_verify_for_another():
    (part,) = storage().sign_upload_parts(KEY, "00aa11bb22cc33dd", [1])
    other = part["url"].replace("/00001?", "/00002?")
    message, signature = v4_string_to_sign("PUT", other)
    assert not public_key_verifier().verify(message, signature)


def test_download_urls_are_signed_attachments_with_a_harmless_type():
    url = storage().generate_download_url("cloud/page.html", "field", filename="page.html")
    query = assert_signed_by_the_key("GET", url)
    assert query["response-content-disposition"] == 'attachment; filename="page.html"'
    assert query["response-content-type"] == "application/octet-stream"
    assert query["X-Goog-Expires"] == "3600"


def test_a_custom_endpoint_names_the_download_host_but_not_the_upload_host():
    upload = storage(custom_endpoint="https://files.example.com")
    download = upload.generate_download_url("cloud/a.pdf", "field")
    assert download.startswith("https://files.example.com/cloud/a.pdf?")
    assert_signed_by_the_key("GET", download)
    (part,) = upload.sign_upload_parts(KEY, "00aa11bb22cc33dd", [1])
    assert part["url"].startswith(f"{ENDPOINT}/uploads/")


def test_an_api_endpoint_is_where_uploads_and_downloads_go():
    upload = storage(api_endpoint="http://127.0.0.1:4443")
    assert upload.generate_upload_url(KEY, "field", max_size=10)["url"] == "http://127.0.0.1:4443/uploads"
    url = upload.generate_download_url("cloud/a.pdf", "field")
    assert url.startswith("http://127.0.0.1:4443/uploads/cloud/a.pdf?")
    assert_signed_by_the_key("GET", url)


def test_unknown_download_parameters_are_refused_and_reported():
    upload = storage()
    with pytest.raises(TypeError):
        upload.generate_download_url("cloud/a.pdf", "field", ResponseCacheControl="no-cache")
    assert upload.unsupported_download_params({"ResponseContentType": "x", "Expires": 3}) == ["Expires"]


# Without a key file: IAM signBlob with the default credentials.


class TokenCredentials(google_credentials.Credentials):
    """Default credentials on Google Cloud (a metadata server, workload identity): a token, no private key."""

    def __init__(self):
        super().__init__()
        self.token = "default-credentials-token"

    def refresh(self, request) -> None:
        pass


class IamSignBlob:
    """Answers IAM credentials' ``signBlob`` as IAM would for the service account, signing with the test key;
    records each call. Any other request is a failure: signing must not need one."""

    def __init__(self):
        self.calls: list[dict] = []
        self._signer = SigningCredentials()

    def __call__(self, transport, url, method="GET", body=None, headers=None, **kwargs):
        assert method == "POST" and url.startswith("https://iamcredentials.googleapis.com/"), url
        payload = base64.b64decode(json.loads(body)["payload"])
        self.calls.append({"url": url, "authorization": headers["Authorization"], "payload": payload})
        signed = base64.b64encode(self._signer.sign_bytes(payload)).decode()
        return _IamResponse(json.dumps({"keyId": "test-key", "signedBlob": signed}).encode())


class _IamResponse:
    status = 200
    headers: dict[str, str] = {}

    def __init__(self, data: bytes):
        self.data = data


@pytest.fixture
def iam(monkeypatch) -> IamSignBlob:
    answer = IamSignBlob()
    monkeypatch.setattr(
        google_auth_requests.Request, "__call__", lambda transport, *args, **kwargs: answer(transport, *args, **kwargs)
    )
    return answer


def iam_storage(**options) -> GoogleCloudAsyncUploadStorage:
    return storage(credentials=TokenCredentials(), iam_sign_blob=True, sa_email=SERVICE_ACCOUNT, **options)


def test_without_a_key_urls_are_signed_by_iam_with_the_default_credentials(iam):
    url = iam_storage().generate_download_url("cloud/a.pdf", "field")
    query = assert_signed_by_the_key("GET", url)
    assert query["X-Goog-Credential"].startswith(f"{SERVICE_ACCOUNT}/")
    (call,) = iam.calls
    assert f"/serviceAccounts/{SERVICE_ACCOUNT}:signBlob" in call["url"]
    assert call["authorization"] == "Bearer default-credentials-token"


def test_without_a_key_post_policies_are_signed_by_iam(iam):
    fields = iam_storage().generate_upload_url(KEY, "field", max_size=10)["fields"]
    assert public_key_verifier().verify(fields["policy"].encode(), bytes.fromhex(fields["x-goog-signature"]))
    (call,) = iam.calls
    assert call["payload"] == fields["policy"].encode(), "IAM signs the policy itself"


def test_without_a_key_or_iam_signing_fails_with_a_hint():
    with pytest.raises(ImproperlyConfigured, match="GS_IAM_SIGN_BLOB"):
        storage(credentials=TokenCredentials()).generate_download_url("cloud/a.pdf", "field")


# Configuration checks.


def _ids(problems) -> list[str]:
    return [problem.id for problem in problems]


def test_a_signing_configuration_passes_the_checks(monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    assert storage().check_configuration() == []
    assert iam_storage().check_configuration() == []


def test_checks_report_a_missing_bucket_and_credentials_that_cannot_sign(monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    assert _ids(
        GoogleCloudAsyncUploadStorage(bucket_name="", credentials=SigningCredentials()).check_configuration()
    ) == ["alliance_platform_storage.W030"]
    assert _ids(storage(credentials=TokenCredentials()).check_configuration()) == ["alliance_platform_storage.W031"]
    assert _ids(GoogleCloudAsyncUploadStorage(bucket_name="b").check_configuration()) == [
        "alliance_platform_storage.W032"
    ]
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/etc/key.json")
    assert GoogleCloudAsyncUploadStorage(bucket_name="b").check_configuration() == [], "a key file can sign"
