from django.contrib import admin
from django.urls import include, path

from alliance_platform.storage.async_uploads.registry import default_async_field_registry

from .notes import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("notes/new/", views.NoteCreate.as_view(), name="note-create"),
    path("notes/<int:pk>/", views.NoteUpdate.as_view(), name="note-update"),
    path("async-uploads/", include(default_async_field_registry.get_url_patterns())),
]
