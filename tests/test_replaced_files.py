"""Deleting replaced and removed files: what is captured, what is kept and why, task mode, and what it costs when
it is off. (The same behaviours on each real store: test_replaced_files_stores.py; races: tests/concurrency.)"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import translation
import pytest

from alliance_platform.storage.async_uploads import replaced_files
from alliance_platform.storage.async_uploads.models import AsyncFileField
from alliance_platform.storage.async_uploads.replaced_files import MissingFileError
from gallery.models import Document
from tests.conftest import PDF_BYTES, png_bytes, read
from tests.testapp.models import Attachment, CaptionedPicture, Picture, PictureProxy

pytestmark = pytest.mark.django_db(transaction=True)

DELETING = {"STORAGE": {"DELETE_REPLACED_FILES": True}}
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def deleting(settings):
    settings.ALLIANCE_PLATFORM = DELETING


@pytest.fixture
def uploaded(logged_in, upload):
    """A finished, unsubmitted upload for ``model.field`` (Document.file by default); its temporary key."""

    def make(name: str = "contract.pdf", content: bytes = PDF_BYTES, model=Document, field: str = "file") -> str:
        result = upload(logged_in, model, field, name, content)
        assert result.put_status == 201
        return result.key

    return make


def stored(name: str, content: bytes = PDF_BYTES) -> str:
    """An object saved straight to the default storage (a file some record will hold); its name."""
    return default_storage.save(name, ContentFile(content))


def test_the_field_argument_is_part_of_its_migration_state_only_when_given():
    assert "delete_replaced" not in AsyncFileField().deconstruct()[3]
    assert AsyncFileField(delete_replaced=True).deconstruct()[3]["delete_replaced"] is True
    assert AsyncFileField(delete_replaced=False).deconstruct()[3]["delete_replaced"] is False


def test_the_field_argument_wins_over_the_setting(settings):
    assert not AsyncFileField().deletes_replaced, "Django's behaviour by default: files stay"
    settings.ALLIANCE_PLATFORM = DELETING
    assert AsyncFileField().deletes_replaced
    assert not AsyncFileField(delete_replaced=False).deletes_replaced
    settings.ALLIANCE_PLATFORM = {"STORAGE": {}}
    assert AsyncFileField(delete_replaced=True).deletes_replaced


def test_replacing_an_upload_deletes_the_promoted_file_only_after_the_commit(uploaded, deleting):
    doc = Document.objects.create(title="a", file=uploaded("first.pdf", PDF_BYTES + b"1"))
    old = doc.file.name
    second = uploaded("second.pdf", PDF_BYTES + b"2")
    with transaction.atomic():
        doc.file = second
        doc.save()
        assert default_storage.exists(old), "still there until the commit"
    assert not default_storage.exists(old)
    doc.refresh_from_db()
    assert read(doc.file.name) == PDF_BYTES + b"2"


def test_the_old_name_comes_from_the_database_not_from_a_stale_instance(deleting):
    """Two copies of one record: the second replaces the file after the first was loaded. The first, saved with a
    new file, deletes the file its row really held, and the one it loaded (already gone) is not looked for."""
    doc = Document.objects.create(title="a", file=stored("documents/one.pdf"))
    stale = Document.objects.get(pk=doc.pk)
    fresh = Document.objects.get(pk=doc.pk)
    fresh.file = stored("documents/two.pdf")
    fresh.save()
    assert not default_storage.exists("documents/one.pdf")
    stale.file = stored("documents/three.pdf")
    stale.save()
    assert not default_storage.exists("documents/two.pdf"), "the file the row held when the stale copy saved"
    assert Document.objects.get(pk=doc.pk).file.name == "documents/three.pdf"


def test_saving_a_stale_instance_whose_file_was_deleted_is_refused(deleting):
    doc = Document.objects.create(title="a", file=stored("documents/one.pdf"))
    stale = Document.objects.get(pk=doc.pk)
    fresh = Document.objects.get(pk=doc.pk)
    fresh.file = stored("documents/two.pdf")
    fresh.save()
    stale.title = "edited meanwhile"
    with pytest.raises(MissingFileError):
        stale.save()
    assert Document.objects.get(pk=doc.pk).file.name == "documents/two.pdf", "not pointed at the deleted file"
    assert default_storage.exists("documents/two.pdf")


def test_taking_over_the_name_of_a_deleted_file_is_refused_in_the_active_language(deleting):
    doc = Document.objects.create(title="a", file=stored("documents/one.pdf"))
    doc.file = stored("documents/two.pdf")
    doc.save()
    with translation.override("de"), pytest.raises(MissingFileError, match="nicht mehr im Speicher"):
        Document.objects.create(title="b", file="documents/one.pdf")
    assert list(Document.objects.values_list("file", flat=True)) == ["documents/two.pdf"]


def test_another_field_of_another_model_holding_the_name_keeps_it(deleting):
    name = stored("shared/contract.pdf")
    doc = Document.objects.create(title="a", file=name)
    attachment = Attachment.objects.create(other=name)
    doc.file = stored("documents/new.pdf")
    doc.save()
    assert default_storage.exists(name), "Attachment.other still holds it"
    attachment.other = ""
    attachment.save()
    assert not default_storage.exists(name), "the last holder let go of it (Attachment deletes too: the setting)"


def test_an_unpromoted_temporary_upload_is_never_deleted_here(uploaded, deleting):
    first = uploaded("first.pdf")
    doc = Document.objects.create(title="a", file=stored("documents/one.pdf"))
    # The record holds an upload whose promotion has not run yet (a task still queued, say).
    Document.objects.filter(pk=doc.pk).update(file=first)
    doc = Document.objects.get(pk=doc.pk)
    doc.file = stored("documents/two.pdf")
    doc.save()
    assert default_storage.exists(first), "pending promotion (or cleanup's to remove): not this feature's"


def test_a_field_that_overwrites_in_place_keeps_the_object_promotion_replaces(uploaded, deleting, monkeypatch):
    monkeypatch.setattr(Document._meta.get_field("file"), "allow_overwrite", True)
    doc = Document.objects.create(title="a", file=uploaded("contract.pdf", PDF_BYTES + b"1"))
    assert doc.file.name == "documents/contract.pdf"
    doc.file = uploaded("contract.pdf", PDF_BYTES + b"2")
    doc.save()
    doc.refresh_from_db()
    assert doc.file.name == "documents/contract.pdf"
    assert read("documents/contract.pdf") == PDF_BYTES + b"2", "promotion replaced it; nothing deleted it after"


def test_a_deletion_rolled_back_keeps_the_file(deleting):
    doc = Document.objects.create(title="a", file=stored("documents/one.pdf"))
    with pytest.raises(RuntimeError), transaction.atomic():
        doc.delete()
        raise RuntimeError
    assert default_storage.exists("documents/one.pdf")


def test_deleting_many_records_deletes_each_file_unless_another_record_holds_it(deleting):
    names = [stored(f"documents/{index}.pdf") for index in range(3)]
    for name in names:
        Document.objects.create(title="a", file=name)
    Attachment.objects.create(other=names[0])
    Document.objects.all().delete()
    assert [default_storage.exists(name) for name in names] == [True, False, False]


@pytest.mark.parametrize("model", [CaptionedPicture, PictureProxy, Picture])
def test_a_deleted_child_or_proxy_record_deletes_the_inherited_field_file(model, deleting):
    name = stored("pictures/p.png", png_bytes())
    record = model.objects.create(image=name)
    record.delete()
    assert not default_storage.exists(name)
    assert not Picture.objects.exists()


def test_with_the_feature_off_a_save_costs_no_query_and_no_storage_call(monkeypatch):
    doc = Document.objects.create(title="a", file=stored("documents/one.pdf"))
    monkeypatch.setattr(type(default_storage._wrapped), "exists", lambda self, name: pytest.fail("storage call"))
    doc.file = "documents/one-renamed.pdf"
    with CaptureQueriesContext(connection) as queries:
        doc.save()
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_an_unchanged_field_that_does_not_delete_costs_no_read(monkeypatch):
    """Document.image shares the storage with Document.file, which deletes: an unchanged image costs nothing."""
    monkeypatch.setattr(Document._meta.get_field("file"), "delete_replaced", True)
    monkeypatch.setattr(Document._meta.get_field("image"), "delete_replaced", False)
    doc = Document.objects.create(title="a", file=stored("documents/one.pdf"), image=stored("images/p.png"))
    doc = Document.objects.get(pk=doc.pk)
    with CaptureQueriesContext(connection) as queries:
        doc.save(update_fields=["title", "image"])
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_task_mode_deletes_in_the_task(uploaded, settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"DELETE_REPLACED_FILES": True, "PROMOTION": "task"}}
    with override_settings(TASKS=IMMEDIATE_TASKS):
        doc = Document.objects.create(title="a", file=uploaded("first.pdf"))
        doc.refresh_from_db()
        old = doc.file.name
        assert not default_storage.is_temporary_path(old), "promoted by its task"
        doc.file = uploaded("second.pdf")
        doc.save()
    assert not default_storage.exists(old)


def test_the_task_checks_again_right_before_deleting(settings):
    """The task is enqueued after the commit; a record that takes the name before a worker runs it keeps it."""
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"DELETE_REPLACED_FILES": True, "PROMOTION": "task"}}
    with override_settings(TASKS=DUMMY_TASKS):
        from django_tasks import default_task_backend

        doc = Document.objects.create(title="a", file=stored("documents/one.pdf"))
        doc.file = stored("documents/two.pdf")
        doc.save()
        [result] = [r for r in default_task_backend.results if r.task.name == "delete_replaced_file"]
        field_id = Document._meta.get_field("file").async_field_id
        assert list(result.args) == [field_id, "documents/one.pdf", "default"]
        assert default_storage.exists("documents/one.pdf"), "nothing deleted before a worker runs the task"
        holder = Attachment.objects.create(other="documents/one.pdf")
        assert result.task.call(*result.args) == "kept: held by testapp.Attachment.other"
        assert default_storage.exists("documents/one.pdf")
        Attachment.objects.filter(pk=holder.pk).update(other="")
        assert result.task.call(*result.args) == "deleted"
    assert not default_storage.exists("documents/one.pdf")


def test_a_failed_delete_is_logged_not_raised(deleting, monkeypatch, caplog):
    doc = Document.objects.create(title="a", file=stored("documents/one.pdf"))

    def refuse(self, name):
        raise PermissionError("read-only bucket")

    monkeypatch.setattr(type(default_storage._wrapped), "delete", refuse)
    doc.file = stored("documents/two.pdf")
    doc.save()  # the commit succeeded: its caller sees no error
    assert "Could not delete replaced file documents/one.pdf" in caplog.text
    assert default_storage.exists("documents/one.pdf")


def test_the_task_has_the_name_the_job_is_enqueued_by():
    """``run_after_commit`` enqueues the task named like the job it is given."""
    from alliance_platform.storage.async_uploads import tasks

    assert tasks.delete_replaced_file.name == replaced_files.delete_replaced_file.__name__


def test_models_keep_djangos_fast_delete_while_none_of_their_fields_deletes(settings, monkeypatch):
    """A ``post_delete`` listener makes Django load every record a cascade deletes: there is one only while a field
    of the model deletes files, following the setting and the field's argument as they change."""
    from django.db.models.signals import post_delete

    assert not post_delete.has_listeners(Document)
    settings.ALLIANCE_PLATFORM = DELETING
    assert post_delete.has_listeners(Document)
    settings.ALLIANCE_PLATFORM = {"STORAGE": {}}
    assert not post_delete.has_listeners(Document)
    monkeypatch.setattr(Document._meta.get_field("image"), "delete_replaced", True)
    assert post_delete.has_listeners(Document)
    assert not post_delete.has_listeners(Attachment)
    monkeypatch.undo()
    assert not post_delete.has_listeners(Document)
