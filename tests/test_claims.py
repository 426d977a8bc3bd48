"""The claim protocol and the rules bound to it, one step at a time (tests/concurrency runs the same rules as real
races): who may submit an upload to which record, what cleanup may touch, what a held claim means."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
import pytest

from alliance_platform.storage.async_uploads import claims, cleanup, promotion
from alliance_platform.storage.async_uploads.temp_files import AsyncTempFile
from alliance_platform.storage.async_uploads.uploader_cookie import COOKIE_NAME
from gallery.models import Document
from tests.conftest import PDF_BYTES, read
from tests.testapp.models import Attachment

pytestmark = pytest.mark.django_db(transaction=True)


def old(key: str, days: int = 3) -> None:
    AsyncTempFile.objects.filter(key=key).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def creator(django_user_model):
    """May create documents but not change them."""
    user = django_user_model.objects.create_user("carol", password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_document", "view_document"]))
    return user


def test_a_key_planned_for_a_new_record_cannot_replace_an_existing_records_file(client_for, creator, upload):
    existing = Document.objects.create(
        title="theirs", file=upload(client_for(creator), Document, "file", "a.pdf", PDF_BYTES).key
    )
    existing.refresh_from_db()
    before = existing.file.name
    browser = client_for(creator)
    planned = upload(browser, Document, "file", "b.pdf", PDF_BYTES)  # no instanceId: checked perm_create only

    response = browser.post(f"/documents/{existing.pk}/edit/", {"title": "mine", "file": planned.value()})

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "This upload was made for another record. Please upload the file again."
    ]
    existing.refresh_from_db()
    assert existing.file.name == before


def test_with_perm_update_a_key_planned_for_a_new_record_may_go_to_an_existing_one(logged_in, upload):
    existing = Document.objects.create(title="t", file=upload(logged_in, Document, "file", "a.pdf", PDF_BYTES).key)
    planned = upload(logged_in, Document, "file", "b.pdf", b"%PDF-1.4\nother\n")
    response = logged_in.post(f"/documents/{existing.pk}/edit/", {"title": "t", "file": planned.value()})
    assert response.status_code == 302, response.context["form"].errors
    existing.refresh_from_db()
    assert read(existing.file.name) == b"%PDF-1.4\nother\n"


def test_a_key_planned_for_one_record_needs_permission_for_another(client_for, creator, user, upload):
    first = Document.objects.create(title="1", file=upload(client_for(user), Document, "file", "a.pdf", PDF_BYTES).key)
    second = Document.objects.create(title="2", file=upload(client_for(user), Document, "file", "b.pdf", PDF_BYTES).key)
    planned_for = AsyncTempFile.objects.get(
        key=upload(client_for(user), Document, "file", "c.pdf", PDF_BYTES, instanceId=first.pk).key
    )
    assert planned_for.planned_for == str(first.pk)
    # The same user with perm_update on the other record: fine. A user without it: refused.
    AsyncTempFile.objects.filter(pk=planned_for.pk).update(uploaded_by=creator)
    response = client_for(creator).post(
        f"/documents/{second.pk}/edit/", {"title": "2", "file": f'{{"key": "{planned_for.key}", "name": "c.pdf"}}'}
    )
    assert "file" in response.context["form"].errors


def test_an_anonymous_upload_stays_submittable_after_logging_in(user, upload):
    browser = Client()
    planned = upload(browser, Attachment, "file", "a.pdf", PDF_BYTES)
    token = browser.cookies[COOKIE_NAME].value
    session_key_before = browser.session.session_key  # the test client makes a session, as a login page would
    assert browser.login(username="alice", password="pw")  # django.contrib.auth.login, as a login view calls it
    assert browser.session.session_key != session_key_before, "Django rotates the session key on login"
    assert browser.cookies[COOKIE_NAME].value == token

    from django import forms

    from alliance_platform.storage.async_uploads.requester import bind_request
    from tests.conftest import request_for

    class AttachmentForm(forms.ModelForm):
        class Meta:
            model = Attachment
            fields = ["file"]

    with bind_request(request_for(browser)):
        form = AttachmentForm(data={"file": planned.value()})
        assert form.is_valid(), form.errors
        saved = form.save()
    saved.refresh_from_db()
    assert read(saved.file.name) == PDF_BYTES


def test_a_submit_counts_as_activity_so_cleanup_leaves_the_upload_to_its_form(logged_in, upload):
    """A form left open over a weekend: the upload is older than the cleanup age, but verified when the form is
    submitted, and cleanup counts its age from then."""
    planned = upload(logged_in, Document, "file", "weekend.pdf", PDF_BYTES)
    old(planned.key)
    response = logged_in.post("/documents/new/", {"title": "", "file": planned.value()})  # invalid: no title
    assert response.status_code == 200
    report = cleanup.cleanup_expired(48)
    assert report.deleted_rows == 0
    assert logged_in.post("/documents/new/", {"title": "t", "file": planned.value()}).status_code == 302
    assert read(Document.objects.get().file.name) == PDF_BYTES


def test_cleanup_skips_an_upload_another_actor_holds(logged_in, upload):
    planned = upload(logged_in, Document, "file", "held.pdf", PDF_BYTES)
    old(planned.key)
    row, token = claims.try_claim(planned.key)
    assert row is not None
    report = cleanup.cleanup_expired(48)
    assert report.deleted_rows == 0 and read(planned.key) == PDF_BYTES
    claims.release(row.pk, token)
    assert cleanup.cleanup_expired(48).deleted_rows == 1


def test_cleanup_never_removes_an_upload_younger_than_its_url(logged_in, upload):
    planned = upload(logged_in, Document, "file", "fresh.pdf", PDF_BYTES)
    AsyncTempFile.objects.filter(key=planned.key).update(created_at=timezone.now() - timedelta(minutes=30))
    assert cleanup.cleanup_expired(0.001).deleted_rows == 0
    assert read(planned.key) == PDF_BYTES


def test_a_submit_waits_for_the_claim_then_answers_busy(logged_in, upload, settings):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CLAIM_WAIT": 0}}
    planned = upload(logged_in, Document, "file", "busy.pdf", PDF_BYTES)
    row, token = claims.try_claim(planned.key)
    response = logged_in.post("/documents/new/", {"title": "t", "file": planned.value()})
    assert response.context["form"].errors["file"] == [
        "This upload is being processed by another request. Please try again in a moment."
    ]
    claims.release(row.pk, token)


def test_a_promotion_that_finds_the_upload_held_leaves_it_and_records_no_error(
    logged_in, upload, settings, monkeypatch
):
    planned = upload(logged_in, Document, "file", "late.pdf", PDF_BYTES)
    with monkeypatch.context() as patch:
        patch.setattr(promotion, "promote", lambda *args, **kwargs: None)
        record = Document.objects.create(title="t", file=planned.key)
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"CLAIM_WAIT": 0}}
    row, token = claims.try_claim(planned.key)
    assert promotion.promote(Document._meta.get_field("file"), record, planned.key) is None
    claims.release(row.pk, token)
    assert AsyncTempFile.objects.get(key=planned.key).error == ""
    assert promotion.promote(Document._meta.get_field("file"), record, planned.key) is not None
    record.refresh_from_db()
    assert read(record.file.name) == PDF_BYTES


def test_an_object_deleted_between_two_reads_is_a_validation_error(logged_in, upload, monkeypatch):
    from django.core.files.storage import default_storage

    planned = upload(logged_in, Document, "file", "gone.pdf", PDF_BYTES)
    storage_class = type(default_storage._wrapped)
    original = storage_class.read_head

    def deleted_first(self, key, length, **kwargs):
        self.delete(key)
        return original(self, key, length, **kwargs)

    monkeypatch.setattr(storage_class, "read_head", deleted_first)
    response = logged_in.post("/documents/new/", {"title": "t", "file": planned.value()})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["The uploaded file was not found. Please upload it again."]
    assert not Document.objects.exists()


def test_a_second_record_saved_with_a_claimed_key_gets_its_own_copy(logged_in, upload, monkeypatch):
    """Two saves of one key (their validations ran at the same moment): the second record copies the upload,
    from the temporary object kept for it or from the owner's file, and both point at objects that exist."""
    planned = upload(logged_in, Document, "file", "both.pdf", PDF_BYTES)
    with monkeypatch.context() as patch:
        patch.setattr(promotion, "promote", lambda *args, **kwargs: None)
        owner = Document.objects.create(title="owner", file=planned.key)
        second = Document.objects.create(title="second", file=planned.key)
    row = AsyncTempFile.objects.get(key=planned.key)
    assert (row.object_id, row.contended) == (str(owner.pk), True)
    field = Document._meta.get_field("file")
    owner_key = promotion.promote(field, owner, planned.key)
    assert read(planned.key) == PDF_BYTES, "kept while the second record holds it"
    second_key = promotion.promote(field, second, planned.key)
    assert owner_key != second_key
    assert read(owner_key) == read(second_key) == PDF_BYTES
    with pytest.raises(FileNotFoundError):
        read(planned.key)  # released once no record holds it
    row.refresh_from_db()
    assert (row.moved_to_location, row.error) == (owner_key, "")
