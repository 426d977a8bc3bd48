"""A floor for the plan benchmark: the same middleware, CSRF check and session read as ``generate-upload-url``,
and nothing else. The gap between this and the real endpoint is what the library (and its INSERT) costs."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST


@require_POST
def floor(request: HttpRequest) -> JsonResponse:
    fields = {name: request.POST.get(name, "") for name in ("fieldId", "filename", "size")}
    return JsonResponse({"authenticated": request.user.is_authenticated, "fields": fields})
