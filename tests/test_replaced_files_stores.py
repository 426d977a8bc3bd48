"""Deleting replaced and removed files, opted in, on each real store: the filesystem, S3 (SeaweedFS) and Azure
Blob Storage (Azurite). Uploads are planned, sent and submitted as a browser would, through ``CloudDocument``'s
form; what is kept and what is deleted is read back from the store itself."""

from __future__ import annotations

from dataclasses import dataclass
import json

from django.db import transaction
from django.test import Client
import pytest

from alliance_platform.storage.async_uploads.requester import bind_request
from alliance_platform.storage.async_uploads.storage.base import AsyncUploadStorage
from alliance_platform.storage.async_uploads.storage.filesystem import FileSystemAsyncUploadStorage
from tests.azure.conftest import (  # noqa: F401 - fixtures
    azurite,
    blob_service,
    container,
    make_storage as make_azure_storage,
    put_upload,
)
from tests.cloud_document import CloudDocumentForm, plan, submit
from tests.conftest import PDF_BYTES, png_bytes, request_for
from tests.gcs.conftest import (  # noqa: F401 - fixtures
    gcs_bucket,
    gcs_client,
    gcs_server,
    make_storage as make_gcs_storage,
    post_upload as post_gcs_upload,
)
from tests.s3.conftest import bucket, make_storage as make_s3_storage, post_upload, s3_client, s3_server  # noqa: F401
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Store:
    kind: str
    storage: AsyncUploadStorage
    client: Client

    def upload(self, filename: str, content: bytes, field: str = "file") -> str:
        """Plan and send an upload; its temporary key."""
        planned = plan(self.client, filename, len(content), field=field)
        if self.kind == "s3":
            response = post_upload(planned, content, filename)
        elif self.kind == "gcs":
            response = post_gcs_upload(planned, content, filename)
        elif self.kind == "azure":
            response = put_upload(planned, content)
        else:
            upload_url = planned["uploadUrl"]
            response = self.client.generic(
                upload_url["method"], upload_url["url"], content, content_type="application/octet-stream"
            )
        assert response.status_code in (200, 201, 204), response
        return planned["key"]

    def read(self, name: str) -> bytes | None:
        if not self.storage.exists(name):
            return None
        with self.storage.open(name, "rb") as f:
            return f.read()


@pytest.fixture(params=["filesystem", "s3", "azure", "gcs"])
def store(request, monkeypatch, client) -> Store:
    if request.param == "s3":
        storage = make_s3_storage(request.getfixturevalue("s3_server"), request.getfixturevalue("bucket"))
    elif request.param == "gcs":
        storage = make_gcs_storage(request.getfixturevalue("gcs_server"), request.getfixturevalue("gcs_bucket"))
    elif request.param == "azure":
        storage = make_azure_storage(request.getfixturevalue("azurite"), request.getfixturevalue("container"))
    else:
        storage = FileSystemAsyncUploadStorage()  # on this test's MEDIA_ROOT
    for name in ("file", "image"):
        monkeypatch.setattr(CloudDocument._meta.get_field(name), "storage", storage)
    return Store(request.param, storage, client)


@pytest.fixture
def deleting(settings):
    """The library setting on: every field that does not say otherwise deletes the files its records let go of."""
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"DELETE_REPLACED_FILES": True}}


def pdf(tag: str) -> bytes:
    return PDF_BYTES + tag.encode()


def saved(store: Store, filename: str = "first.pdf", content: bytes | None = None) -> CloudDocument:
    """A record saved through the form with a fresh upload, promoted."""
    form = submit(store.client, file={"key": store.upload(filename, content or pdf(filename)), "name": filename})
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get(pk=form.instance.pk)
    assert store.read(doc.file.name) == (content or pdf(filename))
    return doc


def replace(store: Store, doc: CloudDocument, filename: str = "second.pdf") -> CloudDocument:
    """Submit the edit form of ``doc`` with a new upload for its file."""
    key = store.upload(filename, pdf(filename))
    form = submit(store.client, instance=CloudDocument.objects.get(pk=doc.pk), file={"key": key, "name": filename})
    assert form.is_valid(), form.errors
    return CloudDocument.objects.get(pk=doc.pk)


def test_a_replaced_file_is_deleted_after_the_commit(store, deleting):
    doc = saved(store)
    old = doc.file.name
    doc = replace(store, doc)
    assert doc.file.name != old
    assert store.read(doc.file.name) == pdf("second.pdf")
    assert store.read(old) is None


def test_a_cleared_file_is_deleted(store, deleting):
    image_key = store.upload("p.png", png_bytes(), field="image")
    form = submit(
        store.client,
        file={"key": store.upload("a.pdf", pdf("a")), "name": "a.pdf"},
        image={"key": image_key, "name": "p.png"},
    )
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get()
    image = doc.image.name
    assert store.read(image) == png_bytes()
    data = {"title": "t", "file": json.dumps({"key": doc.file.name, "name": "a.pdf"}), "image": ""}
    with bind_request(request_for(store.client)):
        edit = CloudDocumentForm(data=data, instance=doc)
        assert edit.is_valid(), edit.errors
        edit.save()
    doc.refresh_from_db()
    assert doc.image.name == ""
    assert store.read(image) is None
    assert store.read(doc.file.name) == pdf("a"), "the field that kept its file keeps it"


def test_a_rollback_keeps_the_old_file(store, deleting):
    doc = saved(store)
    old = doc.file.name
    key = store.upload("second.pdf", pdf("second"))
    with pytest.raises(RuntimeError), transaction.atomic():
        doc.file = key
        doc.save()
        raise RuntimeError("the view failed after saving")
    doc.refresh_from_db()
    assert doc.file.name == old
    assert store.read(old) == pdf("first.pdf")


def test_a_name_another_record_holds_is_kept(store, deleting):
    doc = saved(store)
    shared = doc.file.name
    other = CloudDocument.objects.create(title="copy", file=shared)
    replace(store, doc)
    assert store.read(shared) == pdf("first.pdf")
    other.refresh_from_db()
    assert other.file.name == shared
    # Once the last record lets go of it, it goes.
    replace(store, other, "third.pdf")
    assert store.read(shared) is None


def test_off_by_default_the_old_file_stays(store):
    doc = saved(store)
    old = doc.file.name
    replace(store, doc)
    assert store.read(old) == pdf("first.pdf")


def test_a_field_can_opt_in_when_the_setting_is_off(store, monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "delete_replaced", True)
    doc = saved(store)
    old = doc.file.name
    replace(store, doc)
    assert store.read(old) is None


def test_a_field_can_opt_out_when_the_setting_is_on(store, deleting, monkeypatch):
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "delete_replaced", False)
    doc = saved(store)
    old = doc.file.name
    replace(store, doc)
    assert store.read(old) == pdf("first.pdf")


def test_deleting_a_record_deletes_its_files_after_the_commit(store, deleting):
    doc = saved(store)
    name = doc.file.name
    with transaction.atomic():
        doc.delete()
        assert store.read(name) == pdf("first.pdf"), "nothing is deleted before the commit"
    assert store.read(name) is None
