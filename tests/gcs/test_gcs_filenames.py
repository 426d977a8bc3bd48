"""Names long in bytes or with nothing usable are stored and promoted on GCS as on the filesystem."""

from __future__ import annotations

import pytest

from alliance_platform.storage.async_uploads.keys import is_temporary_path
from tests.cloud_document import plan, submit
from tests.conftest import PDF_BYTES
from tests.gcs.conftest import post_upload
from tests.testapp.models import CloudDocument

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("name", ["é" * 130 + ".pdf", "文" * 94 + ".pdf", "😀.pdf", "#.pdf", "a b?c&d.pdf"])
def test_a_difficult_name_is_promoted(client, gcs_storage, name):
    planned = plan(client, name, len(PDF_BYTES))
    assert post_upload(planned, PDF_BYTES).status_code in (200, 201, 204)
    form = submit(client, file={"key": planned["key"], "name": name})
    assert form.is_valid(), form.errors
    saved = CloudDocument.objects.get().file.name
    assert not is_temporary_path(saved)
    assert all(len(part.encode()) <= 255 for part in saved.split("/"))
    assert not saved.rsplit("/", 1)[1].startswith(".")
    with gcs_storage.open(saved, "rb") as f:
        assert f.read() == PDF_BYTES
