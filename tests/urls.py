from django.urls import include, path

from tests.testapp.models import other_registry

urlpatterns = [
    path("other-uploads/", include(other_registry.get_url_patterns())),
    path("test-api/", include("tests.drf.urls")),
    path("", include("demo_site.urls")),
]
