from django.contrib import admin
from django.urls import include, path

from alliance_platform.storage.async_uploads.registry import default_async_field_registry

urlpatterns = [
    path("admin/", admin.site.urls),
    # Upload-URL and download endpoints for every async file field in the project.
    path("async-uploads/", include(default_async_field_registry.get_url_patterns())),
    path("", include("gallery.urls")),
]
