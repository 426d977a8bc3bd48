"""The promotion invariants: a saved record always points at an object that exists."""

from __future__ import annotations

import logging
import os

from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
import pytest

from alliance_platform.storage.async_uploads.keys import is_temporary_path
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from gallery.models import Document
from tests.conftest import PDF_BYTES, read

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def uploaded(logged_in, upload):
    """A finished, unsubmitted upload for Document.file."""

    def make(name: str = "contract.pdf", content: bytes = PDF_BYTES):
        result = upload(logged_in, Document, "file", name, content)
        assert result.put_status == 201
        return result.key

    return make


def test_save_promotes_to_upload_to_with_identical_bytes(uploaded):
    key = uploaded()
    doc = Document.objects.create(title="a", file=key)
    assert doc.file.name == "documents/contract.pdf"
    assert Document.objects.get().file.name == "documents/contract.pdf"
    assert read(doc.file.name) == PDF_BYTES
    assert not default_storage.exists(key)
    row = AsyncTempFile.objects.get(key=key)
    assert (row.moved_to_location, row.object_id, row.error) == ("documents/contract.pdf", str(doc.pk), "")


def test_promotion_is_a_hard_link_not_a_copy(uploaded, monkeypatch):
    key = uploaded()
    temp_inode = os.stat(default_storage.path(key)).st_ino
    monkeypatch.setattr(type(default_storage._wrapped), "delete", lambda self, name: None)
    doc = Document.objects.create(title="a", file=key)
    assert os.stat(default_storage.path(doc.file.name)).st_ino == temp_inode


def test_rollback_of_surrounding_transaction_keeps_previous_value(uploaded):
    first = uploaded("first.pdf", PDF_BYTES + b"1")
    doc = Document.objects.create(title="a", file=first)
    promoted = doc.file.name
    second = uploaded("second.pdf", PDF_BYTES + b"2")
    with pytest.raises(RuntimeError), transaction.atomic():
        doc.file = second
        doc.save()
        raise RuntimeError("view failed after saving")
    doc.refresh_from_db()
    assert doc.file.name == promoted
    assert read(promoted) == PDF_BYTES + b"1"
    assert default_storage.exists(second), "the unsubmitted upload stays for cleanup"
    assert not default_storage.exists("documents/second.pdf")


def test_rollback_of_create_leaves_no_row_and_no_final_object(uploaded):
    key = uploaded()
    with pytest.raises(RuntimeError), transaction.atomic():
        Document.objects.create(title="a", file=key)
        raise RuntimeError
    assert not Document.objects.exists()
    assert default_storage.exists(key)
    assert not default_storage.exists("documents/contract.pdf")


def test_promotion_waits_for_commit(uploaded):
    key = uploaded()
    with transaction.atomic():
        doc = Document.objects.create(title="a", file=key)
        assert Document.objects.get().file.name == key, "inside the transaction the record holds the temp key"
        assert not default_storage.exists("documents/contract.pdf")
    assert Document.objects.get().file.name == "documents/contract.pdf" == doc.file.name


def test_storage_error_during_copy_keeps_record_on_temp_key_and_records_error(uploaded, monkeypatch, caplog):
    key = uploaded()

    def broken_copy(self, from_key, to_key):
        raise OSError("disk on fire")

    monkeypatch.setattr(type(default_storage._wrapped), "copy_file", broken_copy)
    with caplog.at_level(logging.ERROR, logger="alliance_platform.storage"):
        doc = Document.objects.create(title="a", file=key)
    doc.refresh_from_db()
    assert doc.file.name == key
    assert read(key) == PDF_BYTES
    assert "disk on fire" in AsyncTempFile.objects.get(key=key).error
    assert any(record.name == "alliance_platform.storage" and key in record.getMessage() for record in caplog.records)


def test_database_error_after_copy_removes_the_copy(uploaded, monkeypatch):
    key = uploaded()
    queryset_class = type(AsyncTempFile.objects.all())
    real_update = queryset_class.update

    def failing_update(self, **kwargs):
        if "moved_to_location" in kwargs:
            raise RuntimeError("database went away")
        return real_update(self, **kwargs)

    monkeypatch.setattr(queryset_class, "update", failing_update)
    doc = Document.objects.create(title="a", file=key)
    doc.refresh_from_db()
    assert doc.file.name == key, "the record switch was rolled back with the failed bookkeeping"
    assert default_storage.exists(key)
    assert not default_storage.exists("documents/contract.pdf"), "the orphan copy is removed"
    assert "database went away" in AsyncTempFile.objects.get(key=key).error


def test_failure_to_delete_source_keeps_record_promoted(uploaded, monkeypatch):
    key = uploaded()
    real_delete = type(default_storage._wrapped).delete

    def delete(self, name):
        if is_temporary_path(name):
            raise OSError("busy")
        return real_delete(self, name)

    monkeypatch.setattr(type(default_storage._wrapped), "delete", delete)
    doc = Document.objects.create(title="a", file=key)
    doc.refresh_from_db()
    assert doc.file.name == "documents/contract.pdf"
    assert read(doc.file.name) == PDF_BYTES
    assert AsyncTempFile.objects.get(key=key).moved_to_location == doc.file.name


def test_promotion_writes_one_update_and_no_second_post_save(uploaded):
    key = uploaded()
    saves = []

    def count(sender, instance, **kwargs):
        saves.append(instance.pk)

    post_save.connect(count, sender=Document)
    try:
        with CaptureQueriesContext(connection) as queries:
            Document.objects.create(title="a", file=key)
    finally:
        post_save.disconnect(count, sender=Document)
    assert len(saves) == 1
    updates = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "gallery_document" in q["sql"]
    ]
    assert len(updates) == 1


def test_existing_name_is_never_overwritten(uploaded):
    first = Document.objects.create(title="a", file=uploaded("contract.pdf", PDF_BYTES + b"one"))
    second = Document.objects.create(title="b", file=uploaded("contract.pdf", PDF_BYTES + b"two"))
    assert first.file.name != second.file.name
    assert read(first.file.name) == PDF_BYTES + b"one"
    assert read(second.file.name) == PDF_BYTES + b"two"


def test_a_field_that_allows_overwrite_replaces_the_file_under_its_name(uploaded, monkeypatch):
    monkeypatch.setattr(Document._meta.get_field("file"), "allow_overwrite", True)
    first = Document.objects.create(title="a", file=uploaded("contract.pdf", PDF_BYTES + b"one"))
    second = Document.objects.create(title="b", file=uploaded("contract.pdf", PDF_BYTES + b"two"))
    assert first.file.name == second.file.name == "documents/contract.pdf"
    assert read("documents/contract.pdf") == PDF_BYTES + b"two"
    directory = os.path.dirname(default_storage.path("documents/contract.pdf"))
    assert os.listdir(directory) == ["contract.pdf"], "no staging file is left behind"


def test_allow_overwrite_is_kept_in_migrations():
    field = Document._meta.get_field("file")
    assert "allow_overwrite" not in field.deconstruct()[3]
    clone = type(field)(upload_to="x", allow_overwrite=True)
    assert clone.deconstruct()[3]["allow_overwrite"] is True


def test_a_promoted_upload_given_to_a_second_record_becomes_its_own_copy(uploaded):
    key = uploaded()
    first = Document.objects.create(title="a", file=key)
    second = Document.objects.create(title="b", file=key)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.file.name == "documents/contract.pdf"
    assert second.file.name not in (first.file.name, key), "never the first record's file, never a missing key"
    assert read(first.file.name) == read(second.file.name) == PDF_BYTES
    row = AsyncTempFile.objects.get(key=key)
    assert (row.object_id, row.moved_to_location) == (str(first.pk), first.file.name)


def test_two_records_saved_with_one_key_in_one_transaction_never_share_a_file(uploaded):
    key = uploaded()
    with transaction.atomic():
        first = Document.objects.create(title="a", file=key)
        second = Document.objects.create(title="b", file=key)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.file.name != second.file.name
    assert read(first.file.name) == read(second.file.name) == PDF_BYTES
    assert not default_storage.exists(key)
    assert AsyncTempFile.objects.get(key=key).object_id == str(first.pk)


def test_the_claim_on_an_upload_is_rolled_back_with_the_save(uploaded):
    key = uploaded()
    with pytest.raises(RuntimeError), transaction.atomic():
        Document.objects.create(title="a", file=key)
        assert AsyncTempFile.objects.get(key=key).object_id != ""
        raise RuntimeError
    assert AsyncTempFile.objects.get(key=key).object_id == ""


def test_saving_the_same_record_twice_in_one_transaction_promotes_once(uploaded):
    key = uploaded()
    with transaction.atomic():
        doc = Document.objects.create(title="a", file=key)
        doc.title = "b"
        doc.save()
    doc.refresh_from_db()
    assert doc.file.name == "documents/contract.pdf"
    assert sorted(os.listdir(default_storage.path("documents"))) == ["contract.pdf"]
    assert AsyncTempFile.objects.get(key=key).error == ""
