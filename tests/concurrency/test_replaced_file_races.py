"""Deleting replaced files while other records take the same name over: real threads, PostgreSQL and each store,
many rounds. After every round, every saved record points at an object that exists and holds the bytes written
under that name; a record that would have taken over a deleted name was refused (``MissingFileError``) and kept
its own file.

Each record is changed inside ``transaction.atomic()``, which is what the library's protection needs (see
``replaced_files``): the lock on a name a save takes over lasts until the commit.
"""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
import pytest

from alliance_platform.storage.async_uploads.replaced_files import MissingFileError, delete_replaced_file
from tests.testapp.models import CloudDocument

from .conftest import ROUNDS, Backend, run_together


@pytest.fixture
def deleting(settings, transactional_db):
    settings.ALLIANCE_PLATFORM = {"STORAGE": {"DELETE_REPLACED_FILES": True}}


class Files:
    """Objects written for a round, each with bytes of its own, so that a record on the wrong object shows."""

    def __init__(self, backend: Backend, round_number: int):
        self.backend = backend
        self.round_number = round_number
        self.expected: dict[str, bytes] = {}

    def write(self, label: str) -> str:
        content = b"%PDF-1.4\n" + hashlib.sha256(f"{self.round_number}-{label}".encode()).hexdigest().encode() * 8
        name = self.backend.storage.save(f"cloud/r{self.round_number}-{label}.pdf", ContentFile(content))
        self.expected[name] = content
        return name


def assert_every_record_has_its_object(backend: Backend, files: Files, round_number: int) -> None:
    for pk, name in CloudDocument.objects.values_list("pk", "file"):
        assert name, f"round {round_number}: record {pk} lost its file"
        stored = backend.read(name)
        assert stored is not None, f"round {round_number}: record {pk} points at a missing object {name}"
        assert stored == files.expected[name], f"round {round_number}: record {pk} holds other bytes than {name}'s"


def refused_or_done(action) -> str:
    try:
        action()
    except MissingFileError:
        return "refused"
    return "done"


def test_a_record_replaced_while_another_takes_over_or_swaps_its_name(backend: Backend, deleting):
    """Thread 1 replaces A's file (its old file is deleted after the commit); thread 2, at the same moment, gives
    B the name A held ("share") or swaps the two records' names ("swap")."""
    outcomes: dict[str, int] = {}
    for round_number in range(ROUNDS):
        files = Files(backend, round_number)
        a = CloudDocument.objects.create(title="a", file=files.write("a"))
        b = CloudDocument.objects.create(title="b", file=files.write("b"))
        replacement = files.write("new")
        mode = "share" if round_number % 2 == 0 else "swap"

        def replace_a() -> str:
            with transaction.atomic():
                record = CloudDocument.objects.get(pk=a.pk)
                record.file = replacement
                record.save()
            return "done"

        def take_over() -> str:
            def run() -> None:
                with transaction.atomic():
                    first = CloudDocument.objects.get(pk=a.pk)
                    second = CloudDocument.objects.get(pk=b.pk)
                    if mode == "swap":
                        first.file, second.file = second.file.name, first.file.name
                        first.save()
                    else:
                        second.file = first.file.name
                    second.save()

            return refused_or_done(run)

        replaced, taken = run_together(replace_a, take_over)
        assert replaced == "done", "replacing a record's own file is never refused"
        outcomes[f"{mode}-{taken}"] = outcomes.get(f"{mode}-{taken}", 0) + 1
        assert_every_record_has_its_object(backend, files, round_number)
        CloudDocument.objects.all().delete()
    print(f"{backend.name}: {outcomes}")


def test_the_deletion_and_a_record_taking_the_name_at_the_same_moment(backend: Backend, deleting):
    """The deletion job itself (as the task or the commit runs it) against a save that takes the name over: the
    name is either kept for the record or deleted with the record refused, never deleted under it."""
    field_id = CloudDocument._meta.get_field("file").async_field_id
    outcomes: dict[str, int] = {}
    for round_number in range(ROUNDS * 2):
        files = Files(backend, round_number)
        let_go = files.write("let-go")  # a file no record holds any more: its deletion is due
        b = CloudDocument.objects.create(title="b", file=files.write("b"))

        def delete() -> str:
            return delete_replaced_file(field_id, let_go)

        def take_over() -> str:
            def run() -> None:
                with transaction.atomic():
                    record = CloudDocument.objects.get(pk=b.pk)
                    record.file = let_go
                    record.save()

            return refused_or_done(run)

        deleted, taken = run_together(delete, take_over)
        assert (deleted, taken) in {("deleted", "refused"), ("kept: held by testapp.CloudDocument.file", "done")}, (
            deleted,
            taken,
        )
        outcomes[taken] = outcomes.get(taken, 0) + 1
        assert_every_record_has_its_object(backend, files, round_number)
        CloudDocument.objects.all().delete()
    print(f"{backend.name}: {outcomes}")
