"""A floor for the plan benchmark, and the page the S3 upload benchmark drives in Chromium.

``floor``: the same middleware, CSRF check and session read as ``generate-upload-url``, and nothing else. The gap
between this and the real endpoint is what the library (and its INSERT) costs.

``upload_page``: the benchmark model's form with the library's widget, as a project would render it.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from .forms import BlobForm


@require_POST
def floor(request: HttpRequest) -> JsonResponse:
    fields = {name: request.POST.get(name, "") for name in ("fieldId", "filename", "size")}
    return JsonResponse({"authenticated": request.user.is_authenticated, "fields": fields})


@require_GET
@ensure_csrf_cookie
def upload_page(request: HttpRequest) -> HttpResponse:
    return render(request, "benchapp/upload.html", {"form": BlobForm()})
