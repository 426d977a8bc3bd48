"""Browser tests: the widget's JavaScript against the real server, in headless Chromium.

Playwright's sync API keeps an event loop marked as running in this thread while it is started, which makes Django
take every ORM call for one from async code. These tests only call the ORM between browser steps, so the check is
switched off, for this package only: Playwright is stopped and the setting restored before other tests run.
"""

from __future__ import annotations

import os
import re

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
import pytest

# Azurite and a fresh container per test, for the browser tests against Azure (test_azure.py), the S3 server and
# the GCS emulator with a fresh bucket per test, for those against S3 (test_s3.py) and GCS (test_gcs.py); skipped
# like the backends' own tests when their server is not configured.
from tests.azure.conftest import azurite, blob_service, container  # noqa: F401
from tests.gcs.conftest import gcs_bucket, gcs_client, gcs_server  # noqa: F401
from tests.s3.conftest import bucket, r2_proxy, s3_client, s3_server  # noqa: F401

from .axe import Axe, axe_script

# The demo's storage switched to S3, Azure or GCS (cloud.py).
from .cloud import (  # noqa: F401
    azure_container,
    blocks,
    gcs_parts,
    gcs_upload_bucket,
    multipart,
    r2_bucket,
    s3_bucket,
)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "e2e-secret-pw"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="package", autouse=True)
def _allow_orm_next_to_playwright():
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def browser(_allow_orm_next_to_playwright) -> Browser:
    executable = os.environ.get("AP_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        expect.set_options(timeout=TIMEOUT_MS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe() -> Axe:
    """The accessibility audit: ``axe.check(page, "state")`` fails on any WCAG 2.x A/AA violation in the page."""
    return Axe(axe_script())


@pytest.fixture
def context(browser: Browser, live_server) -> BrowserContext:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    # Surface errors from the widget's script in the test output instead of failing silently.
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def superuser(transactional_db, django_user_model):
    return django_user_model.objects.create_superuser("e2e-admin", "e2e-admin@example.com", PASSWORD)


@pytest.fixture
def logged_in_page(page: Page, superuser) -> Page:
    """A page whose browser context is signed in as a superuser, through the admin's login form."""
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(superuser.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    return page
