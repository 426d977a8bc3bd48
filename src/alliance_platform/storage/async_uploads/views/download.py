"""``DownloadRedirectView``: what ``record.field.url`` points at. Checks ``perm_detail``, then redirects to a
short-lived URL from the backend."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext
from django.views import View

from ...auth import has_permission
from ..fields import display_name
from ..registry import AsyncFieldRegistry, default_async_field_registry
from ..scanning import awaiting_scan, unscanned_download_message
from .authentication import ApiClientAuthenticationMixin
from .backend_calls import call_backend, endpoint_urls
from .common import InstanceLookupError, get_instance, json_error


class DownloadRedirectView(ApiClientAuthenticationMixin, View):
    registry: AsyncFieldRegistry = default_async_field_registry
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        field_id = request.GET.get("fieldId") or request.GET.get("field_id") or ""
        instance_id = request.GET.get("instanceId") or request.GET.get("instance_id") or ""
        field = self.registry.get_field(field_id)
        if field is None:
            return json_error(400, {"fieldId": [gettext("Unknown fieldId")]})
        if not instance_id:
            return json_error(400, {"instanceId": [gettext("This field is required.")]})
        try:
            instance = get_instance(field.model, instance_id)
        except InstanceLookupError:
            return json_error(404, detail=gettext("Not found."))
        if not has_permission(request.user, field.perm_detail, instance):
            return json_error(403, detail=gettext("You do not have permission to download this file."))
        key = getattr(instance, field.attname).name
        if not key:
            return json_error(404, detail=gettext("This record has no file."))
        storage = field.storage
        if awaiting_scan(storage, key):
            return json_error(409, detail=unscanned_download_message())
        url = call_backend(
            storage.generate_download_url,
            key,
            field_id,
            contract=field.download_params,
            extras={"filename": display_name(key, storage), "endpoints": endpoint_urls(self.registry, storage)},
        )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        return response
