from django.urls import include, path

from . import views
from .api import router

urlpatterns = [
    path("", views.DocumentListView.as_view(), name="document-list"),
    path("documents/new/", views.DocumentCreateView.as_view(), name="document-create"),
    path("documents/<int:pk>/edit/", views.DocumentUpdateView.as_view(), name="document-update"),
    path("albums/", views.AlbumListView.as_view(), name="album-list"),
    path("albums/new/", views.AlbumCreateView.as_view(), name="album-create"),
    path("albums/<int:pk>/", views.AlbumUpdateView.as_view(), name="album-update"),
    path("api-client/", views.ApiClientView.as_view(), name="api-client"),
    path("api/", include(router.urls)),
]
