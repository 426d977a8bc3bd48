"""A project written to the reference's documentation, unchanged, saves uploads on every backend, under WSGI and
ASGI, with the ownership check in force: no middleware and no setting of ours (``tests/reference_project``).

Each combination runs the project in its own gunicorn or uvicorn process against its own SQLite file, and uses it
over HTTP as a browser would: log in, open the form, plan and send the file as the widget does, submit the key.
"""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path

import pytest

from tests.conftest import PDF_BYTES, service_variable

from .live_project import Backend, LiveProject, unique_name, value

SERVERS = ["wsgi", "asgi"]


def s3_backend() -> Backend:
    import boto3

    endpoint = service_variable("AP_TEST_S3_ENDPOINT", "s3")
    access_key, secret_key = os.environ["AP_TEST_S3_ACCESS_KEY"], os.environ["AP_TEST_S3_SECRET_KEY"]
    bucket = unique_name("ap-reference-project")
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return Backend(
        "s3",
        {
            "REFERENCE_PROJECT_S3_ENDPOINT": endpoint,
            "REFERENCE_PROJECT_S3_ACCESS_KEY": access_key,
            "REFERENCE_PROJECT_S3_SECRET_KEY": secret_key,
            "REFERENCE_PROJECT_S3_BUCKET": bucket,
        },
    )


def azure_backend() -> Backend:
    from azure.storage.blob import BlobServiceClient

    connection_string = service_variable("AP_TEST_AZURE_CONNECTION_STRING", "azure")
    container = unique_name("ap-reference-project")
    BlobServiceClient.from_connection_string(connection_string).create_container(container)
    return Backend(
        "azure",
        {
            "REFERENCE_PROJECT_AZURE_CONNECTION_STRING": connection_string,
            "REFERENCE_PROJECT_AZURE_CONTAINER": container,
        },
    )


BACKENDS = {"filesystem": lambda: Backend("filesystem"), "s3": s3_backend, "azure": azure_backend}


@pytest.fixture(scope="module", params=[(b, s) for b in BACKENDS for s in SERVERS], ids=lambda p: f"{p[0]}-{p[1]}")
def project(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveProject]:
    backend_name, server = request.param
    workdir: Path = tmp_path_factory.mktemp(f"reference-{backend_name}-{server}")
    live = LiveProject(workdir, BACKENDS[backend_name](), server)
    live.prepare("alice", "bob")
    live.start()
    yield live
    live.stop()


def test_a_new_record_saves_its_upload_and_serves_it(project: LiveProject):
    alice = project.browser("alice")
    key = alice.upload(alice.widget("/notes/new/", "file"), "report.pdf", PDF_BYTES, "application/pdf")

    saved = alice.post_form("/notes/new/", {"title": "first", "file": value(key, "report.pdf"), "image": ""})

    assert saved.status_code == 302, saved.text
    current = alice.widget(saved.headers["Location"], "file")
    stored = current["value"]
    assert '"name": "report.pdf"' in stored and "async-temp-files" not in stored, "promoted to its final key"
    url = stored.split('"url": "', 1)[1].split('"', 1)[0]
    assert alice.download(url) == PDF_BYTES


def test_an_edit_replaces_the_file(project: LiveProject):
    alice = project.browser("alice")
    first = alice.upload(alice.widget("/notes/new/", "file"), "v1.pdf", PDF_BYTES, "application/pdf")
    created = alice.post_form("/notes/new/", {"title": "edit me", "file": value(first, "v1.pdf"), "image": ""})
    assert created.status_code == 302, created.text
    edit_path = created.headers["Location"]

    replacement = PDF_BYTES.replace(b"0", b"1")
    widget = alice.widget(edit_path, "file")
    assert widget["data-instance-id"], "the edit form plans for its record"
    second = alice.upload(widget, "v2.pdf", replacement, "application/pdf")
    edited = alice.post_form(edit_path, {"title": "edit me", "file": value(second, "v2.pdf"), "image": ""})

    assert edited.status_code == 302, edited.text
    stored = alice.widget(edit_path, "file")["value"]
    assert '"name": "v2.pdf"' in stored
    assert alice.download(stored.split('"url": "', 1)[1].split('"', 1)[0]) == replacement


def test_a_key_uploaded_by_someone_else_is_refused(project: LiveProject):
    alice, bob = project.browser("alice"), project.browser("bob")
    bobs_key = bob.upload(bob.widget("/notes/new/", "file"), "bobs.pdf", PDF_BYTES, "application/pdf")

    refused = alice.post_form("/notes/new/", {"title": "stolen", "file": value(bobs_key, "bobs.pdf"), "image": ""})

    assert refused.status_code == 200, "the form is shown again"
    assert "errorlist" in refused.text
    # Bob can still use his own upload: the refusal did not consume it.
    saved = bob.post_form("/notes/new/", {"title": "bob's", "file": value(bobs_key, "bobs.pdf"), "image": ""})
    assert saved.status_code == 302, saved.text
