"""The reference-docs project (``tests/reference_project``) served by a real gunicorn or uvicorn process, and a
client that uses it as a browser would: a session cookie, CSRF tokens, the widget's plan and upload requests."""

from __future__ import annotations

from dataclasses import dataclass, field
import html
import json
import os
from pathlib import Path
import re
import secrets
import subprocess
import sys
from urllib.parse import urljoin

import requests

from tests.asgi.live import HOST, ROOT, free_port, poll_until, stop_child
from tests.services.process import log_tail

SETTINGS = "tests.reference_project.settings"
PASSWORD = "reference-pw-0123"


@dataclass
class Backend:
    """Which storage the project uses, and the environment that configures it."""

    name: str
    env: dict[str, str] = field(default_factory=dict)


class LiveProject:
    """One migrated project (a SQLite file and a media root of its own) served by one server process."""

    def __init__(self, workdir: Path, backend: Backend, server: str):
        self.workdir = workdir
        self.backend = backend
        self.server = server  # "wsgi" (gunicorn) or "asgi" (uvicorn with Django's own handler)
        self.log_path = workdir / f"{server}.log"
        self.process: subprocess.Popen | None = None
        self.port = 0
        (workdir / "media").mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.backend.env,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "REFERENCE_PROJECT_BACKEND": self.backend.name,
            "REFERENCE_PROJECT_DATABASE": str(self.workdir / "db.sqlite3"),
            "REFERENCE_PROJECT_MEDIA_ROOT": str(self.workdir / "media"),
            "PYTHONPATH": str(ROOT),
        }

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def prepare(self, *usernames: str) -> None:
        self.manage("migrate", "--noinput", "--verbosity", "0")
        for username in usernames:
            self.manage(
                "shell",
                "-c",
                "from django.contrib.auth.models import User; "
                f"User.objects.create_superuser({username!r}, '{username}@example.com', {PASSWORD!r})",
            )

    def start(self) -> None:
        self.port = free_port()
        if self.server == "wsgi":
            command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--worker-class"]
            command += ["gthread", "--bind", f"{HOST}:{self.port}", "tests.reference_project.wsgi:application"]
        else:
            command = [sys.executable, "-m", "uvicorn", "tests.reference_project.asgi:application", "--host", HOST]
            command += ["--port", str(self.port), "--lifespan", "off", "--log-level", "warning"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

        def answers() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.server} server exited:\n{self.log_tail()}")
            try:
                return requests.get(self.url("/accounts/login/"), timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        poll_until(answers, 60, f"the {self.server} server", interval=0.1)

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_child(process, patience=15)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def url(self, path: str) -> str:
        return urljoin(f"http://{HOST}:{self.port}/", path)

    def browser(self, username: str) -> Browser:
        browser = Browser(self)
        browser.log_in(username)
        return browser


class Browser:
    """A logged-in session of the project, doing what the page and its widget do."""

    def __init__(self, project: LiveProject):
        self.project = project
        self.session = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.project.url(path), timeout=30, **kwargs)

    def post_form(self, path: str, data: dict[str, str]) -> requests.Response:
        """Submit the form at ``path`` as the page would (its CSRF token included); redirects are not followed."""
        page = self.get(path)
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, "the page has a CSRF token"
        return self.session.post(
            self.project.url(path),
            data={"csrfmiddlewaretoken": token.group(1), **data},
            allow_redirects=False,
            timeout=60,
        )

    def log_in(self, username: str) -> None:
        response = self.post_form("/accounts/login/", {"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.text

    def widget(self, path: str, field_name: str) -> dict[str, str]:
        """The widget's data attributes for ``field_name`` on the form at ``path``, and its current value."""
        page = self.get(path)
        assert page.status_code == 200, page.text
        # Each widget: its <div class="ap-upload" ...> and, inside it, the hidden input the form submits.
        widgets = re.split(r'(?=<div class="ap-upload"[\s>])', page.text)[1:]
        value_input = re.compile(
            r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)" data-role="value">'
        )
        for widget in widgets:
            match = value_input.search(widget)
            if match is not None and match.group("name") == field_name:
                opening = widget[: widget.index(">")]
                found = {name: html.unescape(text) for name, text in re.findall(r'(data-[a-z-]+)="([^"]*)"', opening)}
                found["value"] = html.unescape(match.group("value"))
                return found
        raise AssertionError(f"no widget for {field_name} on {path}")

    def upload(self, widget: dict[str, str], filename: str, content: bytes, content_type: str) -> str:
        """Plan an upload as the widget does, send the bytes where the plan says; the temporary key."""
        planned = self.session.get(
            self.project.url(widget["data-plan-url"]),
            params={
                "fieldId": widget["data-field-id"],
                "filename": filename,
                "size": len(content),
                "contentType": content_type,
            },
            timeout=30,
        )
        assert planned.status_code == 200, planned.text
        plan = planned.json()
        target = plan["uploadUrl"]
        url = self.project.url(target["url"])
        if target["method"] == "POST":
            files = {target.get("fileFieldName", "file"): (filename, content, content_type)}
            sent = requests.post(url, data=target["fields"], files=files, timeout=60)
        else:
            # Only the project's own endpoint gets the session cookie; a store gets what the plan says.
            send = self.session.request if url.startswith(self.project.url("/")) else requests.request
            sent = send(target["method"], url, data=content, headers=target.get("headers", {}), timeout=60)
        assert sent.status_code in (200, 201, 204), sent.text
        return plan["key"]

    def download(self, url: str) -> bytes:
        response = self.session.get(self.project.url(url), timeout=60)
        assert response.status_code == 200, response.text
        return response.content


def unique_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def value(key: str, name: str) -> str:
    return json.dumps({"key": key, "name": name})
