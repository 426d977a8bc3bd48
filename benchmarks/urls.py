from django.urls import include, path

from alliance_platform.storage.async_uploads.registry import default_async_field_registry

from .benchapp.views import floor

urlpatterns = [
    path("async-uploads/", include(default_async_field_registry.get_url_patterns())),
    path("floor/", floor, name="bench_floor"),
]
