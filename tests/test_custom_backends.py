"""Custom backends: one written only to the reference package's documented contract, and storages that change how
temporary keys look (``temporary_key_prefix``, or ``generate_temporary_path``/``is_temporary_path`` overridden)."""

from __future__ import annotations

import os
import secrets

from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
import pytest

from alliance_platform.storage.async_uploads.fields import display_name
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.storage.filesystem import FileSystemAsyncUploadStorage
from alliance_platform.storage.async_uploads.views.backend_calls import as_upload_plan, call_backend
from tests.cloud_document import plan, submit
from tests.conftest import PDF_BYTES, media_files
from tests.reference_backend import ReferenceContractStorage, reference_storage
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)


def install(monkeypatch, storage) -> None:
    monkeypatch.setattr(CloudDocument._meta.get_field("file"), "storage", storage)


@pytest.fixture
def reference_backend(monkeypatch) -> ReferenceContractStorage:
    reference_storage.calls.clear()
    install(monkeypatch, reference_storage)
    return reference_storage


def put(client: Client, upload_plan: dict, content: bytes = PDF_BYTES) -> int:
    target = upload_plan["uploadUrl"]
    # A plan without a method (what a plain URL becomes) is a PUT of the raw file.
    method = target.get("method", "PUT")
    return client.generic(method, target["url"], content, content_type="application/pdf").status_code


# A backend written to the reference contract.


def test_a_moving_backend_promotes_when_the_record_is_saved_before_the_commit(client, reference_backend):
    # The reference promoted inside save(); its projects' tests (in TestCase, which never commits) rely on it.
    upload_plan = plan(client, "early.pdf", len(PDF_BYTES), contentType="application/pdf")
    assert put(client, upload_plan) == 201
    with transaction.atomic():
        form = submit(client, file={"key": upload_plan["key"], "name": "early.pdf"})
        assert form.is_valid(), form.errors
        doc = CloudDocument.objects.get()
        assert doc.file.name == "cloud/early.pdf", "promoted within the saving transaction"
        assert reference_backend.called("move_file") == [((upload_plan["key"], "cloud/early.pdf"), {})]
    assert media_files() == {os.path.join("cloud", "early.pdf"): PDF_BYTES}


def test_reference_backend_plans_uploads_promotes_by_moving_and_downloads(client, reference_backend):
    upload_plan = plan(client, "report.pdf", len(PDF_BYTES), contentType="application/pdf")
    key = upload_plan["key"]
    assert upload_plan["uploadUrl"]["url"].startswith("/reference-backend/upload/?token=")
    assert {name: value for name, value in upload_plan["uploadUrl"].items() if name != "url"} == {"fields": {}}, (
        "a plain URL becomes the reference's plan: the URL and no form fields"
    )
    [(args, kwargs)] = reference_backend.called("generate_upload_url")
    assert args == (key, CloudDocument._meta.get_field("file").async_field_id)
    assert kwargs["expire"] == 3600, "no expire is passed, as the reference passes none: the backend's default holds"
    assert kwargs["fields"] == {"Content-Type": "application/pdf"}, "the content type travels in fields"
    assert ["content-length-range", 0, 1024 * 1024] in kwargs["conditions"]
    assert put(client, upload_plan) == 201

    form = submit(client, file={"key": key, "name": "report.pdf"})
    assert form.is_valid(), form.errors
    doc = CloudDocument.objects.get()
    assert doc.file.name == "cloud/report.pdf"
    assert reference_backend.called("move_file") == [((key, "cloud/report.pdf"), {})]
    assert media_files() == {os.path.join("cloud", "report.pdf"): PDF_BYTES}, "moved, not copied"
    assert AsyncTempFile.objects.get(key=key).moved_to_location == "cloud/report.pdf"

    redirect = client.get(doc.file.url)
    assert redirect.status_code == 302
    assert redirect["Location"] == "/media/cloud/report.pdf"
    assert reference_backend.called("generate_download_url") == [
        (("cloud/report.pdf", doc.file.field.async_field_id), {})
    ]


def test_reference_backend_gets_the_clients_params_in_fields_but_never_their_content_type(client, reference_backend):
    plan(
        client,
        "report.pdf",
        len(PDF_BYTES),
        contentType="application/pdf",
        params='{"x-amz-meta-origin": "scanner", "content-type": "text/html"}',
    )
    [(_args, kwargs)] = reference_backend.called("generate_upload_url")
    assert kwargs["fields"] == {"x-amz-meta-origin": "scanner", "Content-Type": "application/pdf"}


def test_a_taken_name_gets_a_free_one_when_moving(client, reference_backend):
    reference_backend.save("cloud/report.pdf", ContentFile(b"someone else's"))
    upload_plan = plan(client, "report.pdf", len(PDF_BYTES))
    assert put(client, upload_plan) == 201
    assert submit(client, file={"key": upload_plan["key"], "name": "report.pdf"}).is_valid()
    doc = CloudDocument.objects.get()
    assert doc.file.name.startswith("cloud/report_") and doc.file.name.endswith(".pdf")
    assert media_files()[os.path.join("cloud", "report.pdf")] == b"someone else's", "never overwritten"
    assert media_files()[doc.file.name.replace("/", os.sep)] == PDF_BYTES


def test_a_move_whose_record_does_not_switch_is_moved_back(client, reference_backend, monkeypatch):
    upload_plan = plan(client, "report.pdf", len(PDF_BYTES))
    key = upload_plan["key"]
    assert put(client, upload_plan) == 201
    move = ReferenceContractStorage.move_file.__get__(reference_backend)
    moves = []

    def move_then_record_changes(from_key, to_key):
        move(from_key, to_key)
        moves.append((from_key, to_key))
        if len(moves) == 1:
            # Someone saves the record with another value while the file is being moved.
            CloudDocument.objects.update(file="cloud/elsewhere.pdf")

    monkeypatch.setattr(reference_backend, "move_file", move_then_record_changes)
    assert submit(client, file={"key": key, "name": "report.pdf"}).is_valid()
    assert moves == [(key, "cloud/report.pdf"), ("cloud/report.pdf", key)]
    assert media_files() == {key.replace("/", os.sep): PDF_BYTES}, "the upload is back at its temporary key"
    row = AsyncTempFile.objects.get(key=key)
    assert row.moved_to_location == ""
    assert "no longer holds" in row.error


# Storages that change what a temporary key looks like.


class PrefixedStorage(FileSystemAsyncUploadStorage):
    temporary_key_prefix = "incoming"


class StagingStorage(FileSystemAsyncUploadStorage):
    """Overrides the two methods instead of the prefix, as a backend written to the reference contract may."""

    def generate_temporary_path(self, filename, max_length=None):
        return f"staging/{secrets.token_hex(8)}-{filename}"

    def is_temporary_path(self, filename):
        return bool(filename) and filename.startswith("staging/")


@pytest.mark.parametrize("storage_class, area", [(PrefixedStorage, "incoming/"), (StagingStorage, "staging/")])
def test_overridden_temporary_keys_are_uploaded_verified_and_promoted(client, monkeypatch, storage_class, area):
    storage = storage_class()
    install(monkeypatch, storage)
    upload_plan = plan(client, "report.pdf", len(PDF_BYTES))
    key = upload_plan["key"]
    assert key.startswith(area)
    assert put(client, upload_plan) == 201, "the filesystem endpoint takes the storage's temporary keys"
    assert display_name(key, storage) == "report.pdf"

    form = submit(client, file={"key": key, "name": "report.pdf"})
    assert form.is_valid(), form.errors
    assert CloudDocument.objects.get().file.name == "cloud/report.pdf"
    assert media_files() == {os.path.join("cloud", "report.pdf"): PDF_BYTES}, "the temporary object is deleted"


def test_a_key_under_the_default_prefix_is_not_temporary_for_a_prefixed_storage(client, monkeypatch):
    install(monkeypatch, PrefixedStorage())
    upload_plan = plan(client, "report.pdf", len(PDF_BYTES))
    assert put(client, upload_plan) == 201
    default_style_key = upload_plan["key"].replace("incoming/", "async-temp-files/", 1)
    form = submit(client, file={"key": default_style_key, "name": "report.pdf"})
    assert not form.is_valid()
    assert "does not belong to this record" in str(form.errors["file"])


def test_cleanup_lists_the_temporary_area_the_storage_names(client, monkeypatch):
    from django.utils import timezone

    storage = PrefixedStorage()
    install(monkeypatch, storage)
    upload_plan = plan(client, "report.pdf", len(PDF_BYTES))
    assert put(client, upload_plan) == 201
    storage.save("async-temp-files/2020/01/01/abc-old.pdf", ContentFile(b"not ours"))
    later = timezone.now() + timezone.timedelta(days=1)
    assert list(storage.list_temporary_objects(later)) == [upload_plan["key"]]


# How the endpoints call a backend.


def test_a_plan_dict_gets_the_members_clients_rely_on():
    storage = ReferenceContractStorage()
    assert as_upload_plan({"url": "https://x/", "fields": {"key": "k"}}, storage) == {
        "url": "https://x/",
        "fields": {"key": "k"},
        "method": "POST",
        "provider": "",
    }, "form fields to send mean a presigned POST"
    assert as_upload_plan({"url": "https://x/", "fields": None}, storage)["method"] == "PUT"
    full = {"url": "u", "fields": {}, "method": "PUT", "provider": "p", "headers": {"a": "b"}}
    assert as_upload_plan(full, storage) == full


@pytest.mark.parametrize("returned", [None, "", 42, {"fields": {}}, {"url": 3}])
def test_a_backend_returning_no_url_is_a_type_error_naming_it(returned):
    with pytest.raises(TypeError, match="ReferenceContractStorage.generate_upload_url returned"):
        as_upload_plan(returned, ReferenceContractStorage())


def test_extras_reach_only_methods_that_name_them():
    received = {}

    def contract_only(name, field_id, *, expire=None, fields=None, conditions=None):
        received["contract_only"] = {"expire": expire, "fields": fields, "conditions": conditions}

    def forwards_kwargs(name, field_id, **kwargs):
        received["forwards_kwargs"] = kwargs

    def names_an_extra(name, field_id, *, size=None, **kwargs):
        received["names_an_extra"] = {"size": size, **kwargs}

    contract = {"expire": 10, "fields": None, "conditions": []}
    for method in (contract_only, forwards_kwargs, names_an_extra):
        call_backend(method, "k", "f", contract=contract, extras={"size": 5, "endpoints": {}})
    assert received == {
        "contract_only": contract,
        "forwards_kwargs": contract,
        "names_an_extra": {"size": 5, **contract},
    }
