from django.urls import path

from . import views

urlpatterns = [
    path("", views.DocumentListView.as_view(), name="document-list"),
    path("documents/new/", views.DocumentCreateView.as_view(), name="document-create"),
    path("documents/<int:pk>/edit/", views.DocumentUpdateView.as_view(), name="document-update"),
]
