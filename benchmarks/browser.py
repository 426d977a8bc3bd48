"""What the upload widget does over HTTP, without a browser: keep a session cookie, send Django's CSRF token in
``X-CSRFToken``, POST to ``generate-upload-url/``, then send the file where the plan says."""

from __future__ import annotations

from typing import Any

import requests

from .harness import BenchmarkError, GunicornServer, csrf_secret


def plan_path() -> str:
    from alliance_platform.storage.async_uploads.registry import default_async_field_registry

    return default_async_field_registry.reverse("generate_upload_url")


def blob_field_id() -> str:
    from benchmarks.benchapp.models import Blob

    return Blob._meta.get_field("file").async_field_id


class Browser:
    def __init__(self, server: GunicornServer):
        self.server = server
        self.session = requests.Session()
        token = csrf_secret()
        self.session.cookies.set("csrftoken", token)
        self.session.headers.update({"X-CSRFToken": token, "Accept": "application/json"})
        self.plan_url = server.base_url + plan_path()
        self.field_id = blob_field_id()

    def plan(self, filename: str, size: int) -> dict[str, Any]:
        response = self.session.post(self.plan_url, data={"fieldId": self.field_id, "filename": filename, "size": size})
        if response.status_code != 200:
            raise BenchmarkError(f"generate-upload-url answered {response.status_code}: {response.text[:500]}")
        plan = response.json()
        if plan.get("uploadUrl", {}).get("method") != "PUT" or not plan.get("key"):
            raise BenchmarkError(f"unexpected upload plan: {plan}")
        return plan

    def cookie_header(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.session.cookies)

    def close(self) -> None:
        self.session.close()
