from django.urls import include, path

from tests import reference_backend
from tests.testapp.models import other_registry

urlpatterns = [
    path("other-uploads/", include(other_registry.get_url_patterns())),
    path("test-api/", include("tests.drf.urls")),
    path("reference-backend/upload/", reference_backend.upload_view, name="reference_backend_upload"),
    path("", include("demo_site.urls")),
]
