from django.contrib.staticfiles.views import serve
from django.urls import include, path, re_path

from alliance_platform.storage.async_uploads.registry import default_async_field_registry

from .benchapp.views import floor, upload_page

urlpatterns = [
    path("async-uploads/", include(default_async_field_registry.get_url_patterns())),
    path("floor/", floor, name="bench_floor"),
    path("upload/", upload_page, name="bench_upload_page"),
    # The widget's script and stylesheet, from the library's static files (DEBUG is off, so Django would not).
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
]
