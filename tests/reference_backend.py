"""A custom backend written only to the reference package's documented contract, and the upload view it needs.

It uses nothing of this library beyond ``AsyncUploadStorage`` itself: ``generate_upload_url`` takes the documented
keyword arguments (``expire``, ``conditions``, ``fields``) and returns a plain URL string, ``move_file`` is the only
object operation it implements, and uploads arrive through a view of its own. Every call is recorded, so tests can
prove what the library passed and which operation promoted the file.
"""

from __future__ import annotations

import os

from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from alliance_platform.storage.async_uploads.storage.base import AsyncUploadStorage

_SALT = "tests.reference_backend"


class ReferenceContractStorage(AsyncUploadStorage, FileSystemStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, tuple, dict]] = []

    def generate_upload_url(self, name, field_id, *, expire=3600, conditions=None, fields=None):
        self.calls.append(
            ("generate_upload_url", (name, field_id), {"expire": expire, "conditions": conditions, "fields": fields})
        )
        token = signing.dumps(name, salt=_SALT)
        return f"{reverse('reference_backend_upload')}?token={token}"

    def generate_download_url(self, key, field_id, **kwargs):
        self.calls.append(("generate_download_url", (key, field_id), kwargs))
        return self.url(key)

    def move_file(self, from_key, to_key):
        self.calls.append(("move_file", (from_key, to_key), {}))
        target = self.path(to_key)
        if os.path.exists(target):
            raise FileExistsError(to_key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(self.path(from_key), target)

    def called(self, name: str) -> list[tuple[tuple, dict]]:
        return [(args, kwargs) for called, args, kwargs in self.calls if called == name]


#: The instance tests install on a field (its root follows MEDIA_ROOT, which each test changes).
reference_storage = ReferenceContractStorage()


@csrf_exempt
def upload_view(request: HttpRequest) -> HttpResponse:
    """Store the raw body of a ``PUT`` at the key its signed token names."""
    if request.method != "PUT":
        return HttpResponse(status=405)
    try:
        key = signing.loads(request.GET.get("token", ""), salt=_SALT, max_age=3600)
    except signing.BadSignature:
        return HttpResponse(status=403)
    path = reference_storage.path(key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "xb") as f:
        f.write(request.body)
    return HttpResponse(status=201)
