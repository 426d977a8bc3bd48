"""cleanup_async_temp_files: what goes, what stays, and that nothing referenced is ever deleted."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
import os

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models.signals import post_save
from django.utils import timezone
import pytest

from alliance_platform.storage.async_uploads.keys import generate_temporary_path
from alliance_platform.storage.async_uploads.models import AsyncTempFile
from alliance_platform.storage.async_uploads.promotion import schedule_promotions
from gallery.models import Document
from tests.conftest import PDF_BYTES, field_id

pytestmark = pytest.mark.django_db(transaction=True)


def make_upload(hours_old: float, *, field: str = "file", error: str = "", moved_to: str = "", with_object=True):
    key = generate_temporary_path("old.pdf")
    if with_object:
        default_storage.save(key, ContentFile(PDF_BYTES))
    return AsyncTempFile.objects.create(
        key=key,
        original_filename="old.pdf",
        field_id=field_id(Document, field) if field else "0000000000000000.0000000000000000.removed",
        created_at=timezone.now() - timedelta(hours=hours_old),
        error=error,
        moved_to_location=moved_to,
    )


def run(*args: str) -> str:
    out = StringIO()
    call_command("cleanup_async_temp_files", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_expired_unsubmitted_uploads_are_removed_from_disk_and_table():
    rows = [make_upload(49) for _ in range(3)]
    output = run()
    assert not AsyncTempFile.objects.exists()
    assert not any(default_storage.exists(row.key) for row in rows)
    assert "Deleted 3 expired" in output


def test_empty_temporary_directories_are_pruned():
    row = make_upload(49)
    run()
    assert not default_storage.exists(row.key.rsplit("/", 2)[0])
    assert not default_storage.exists(row.key.rsplit("/", 1)[0])


def test_recent_uploads_are_kept():
    row = make_upload(47)
    run()
    assert AsyncTempFile.objects.filter(pk=row.pk).exists()
    assert default_storage.exists(row.key)


def test_age_option_in_hours():
    row = make_upload(3)
    run("--age", "2")
    assert not AsyncTempFile.objects.filter(pk=row.pk).exists()


def test_promoted_rows_are_deleted_and_their_final_file_kept():
    default_storage.save("documents/final.pdf", ContentFile(PDF_BYTES))
    row = make_upload(49, moved_to="documents/final.pdf", with_object=False)
    run()
    assert not AsyncTempFile.objects.filter(pk=row.pk).exists()
    assert default_storage.exists("documents/final.pdf")


def test_promoted_rows_whose_source_was_left_behind_have_it_deleted():
    row = make_upload(49, moved_to="documents/final.pdf")
    run()
    assert not default_storage.exists(row.key)
    assert not AsyncTempFile.objects.filter(pk=row.pk).exists()


def test_rows_with_an_error_are_kept_with_their_object():
    row = make_upload(100, error="OSError: disk on fire")
    output = run()
    assert AsyncTempFile.objects.filter(pk=row.pk).exists()
    assert default_storage.exists(row.key)
    assert "kept 1 with errors" in output


def test_a_row_is_kept_when_its_object_cannot_be_deleted(monkeypatch):
    failing, fine = make_upload(49), make_upload(49)
    storage_class = type(default_storage._wrapped)
    real_delete_many = storage_class.delete_many

    def delete_many(self, keys):
        keys = list(keys)
        failures = real_delete_many(self, [key for key in keys if key != failing.key])
        return {**failures, failing.key: OSError("permission denied")}

    monkeypatch.setattr(storage_class, "delete_many", delete_many)
    output = run()
    assert AsyncTempFile.objects.filter(pk=failing.pk).exists()
    assert default_storage.exists(failing.key)
    assert not AsyncTempFile.objects.filter(pk=fine.pk).exists()
    assert "Could not delete 1 objects" in output


def test_rows_of_removed_models_or_fields_are_cleaned_through_the_default_storage():
    row = make_upload(49, field="")
    run()
    assert not AsyncTempFile.objects.filter(pk=row.pk).exists()
    assert not default_storage.exists(row.key)


def test_a_temporary_key_still_held_by_a_record_is_promoted_not_deleted():
    row = make_upload(49)
    # A process killed after the save committed (with its claim on the upload) but before promoting it.
    post_save.disconnect(dispatch_uid="alliance_platform_storage_promotion")
    try:
        doc = Document.objects.create(title="crashed", file=row.key)
    finally:
        post_save.connect(schedule_promotions, dispatch_uid="alliance_platform_storage_promotion")
    AsyncTempFile.objects.filter(pk=row.pk).update(object_id=str(doc.pk))
    output = run()
    doc.refresh_from_db()
    assert doc.file.name == "documents/old.pdf"
    with default_storage.open(doc.file.name) as f:
        assert f.read() == PDF_BYTES
    assert "promoted 1 still in use" in output


def test_dry_run_changes_nothing():
    rows = [make_upload(49) for _ in range(2)]
    output = run("--dry-run")
    assert AsyncTempFile.objects.count() == 2
    assert all(default_storage.exists(row.key) for row in rows)
    assert "Would delete 2" in output


def test_batches_cover_every_row():
    rows = [make_upload(49) for _ in range(7)]
    run("--batch-size", "3")
    assert not AsyncTempFile.objects.exists()
    assert not any(default_storage.exists(row.key) for row in rows)


def test_quiet_prints_nothing():
    make_upload(49)
    assert run("--quiet") == ""


def test_missing_objects_do_not_block_row_deletion():
    row = make_upload(49, with_object=False)
    run()
    assert not AsyncTempFile.objects.filter(pk=row.pk).exists()


def make_orphan(hours_old: float, name: str = "orphan.pdf") -> str:
    """A temporary object with no row (left by a crash, a restored database or a row deleted by hand)."""
    key = default_storage.save(generate_temporary_path(name), ContentFile(PDF_BYTES))
    modified = (timezone.now() - timedelta(hours=hours_old)).timestamp()
    os.utime(default_storage.path(key), (modified, modified))
    return key


def test_old_orphaned_temporary_objects_are_swept():
    orphan = make_orphan(49)
    # A partial file of an upload whose process died while receiving it.
    partial = make_orphan(49, "crashed.pdf")
    os.rename(default_storage.path(partial), default_storage.path(partial) + ".3f2a9c.part")
    young = make_orphan(47)
    final = default_storage.save("documents/old-final.pdf", ContentFile(PDF_BYTES))
    os.utime(default_storage.path(final), (0, 0))

    output = run()

    assert not default_storage.exists(orphan)
    assert not default_storage.exists(partial + ".3f2a9c.part")
    assert default_storage.exists(young), "younger than --age: may be an upload in progress"
    assert default_storage.exists(final), "only the temporary area is swept"
    assert "Deleted 2 orphaned temporary objects" in output


def test_an_orphan_still_held_by_a_record_is_kept():
    key = make_orphan(49)
    # Its row was deleted by hand while a record (saved without promotion) still held the key.
    post_save.disconnect(dispatch_uid="alliance_platform_storage_promotion")
    try:
        doc = Document.objects.create(title="held", file=key)
    finally:
        post_save.connect(schedule_promotions, dispatch_uid="alliance_platform_storage_promotion")
    run()
    assert default_storage.exists(key)
    assert Document.objects.get(pk=doc.pk).file.name == key


def test_objects_with_a_row_are_left_to_the_row_rules():
    row = make_upload(47)
    os.utime(default_storage.path(row.key), (0, 0))
    run()
    assert default_storage.exists(row.key), "its row is not expired yet"


def test_dry_run_reports_orphans_without_deleting_them():
    key = make_orphan(49)
    output = run("--dry-run")
    assert default_storage.exists(key)
    assert "Would delete 1 orphaned temporary objects" in output
