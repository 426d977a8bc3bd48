from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.messages.views import SuccessMessageMixin
from django.urls import reverse, reverse_lazy
from django.views.generic import CreateView, ListView, TemplateView, UpdateView

from .forms import DocumentForm
from .models import Document

# The pages need a signed-in user because the library checks the user's permissions on the gallery models
# (gallery.add_document, change_document, view_document) for every upload and download.


class DocumentListView(LoginRequiredMixin, ListView):
    model = Document
    template_name = "gallery/document_list.html"
    context_object_name = "documents"


class DocumentCreateView(LoginRequiredMixin, SuccessMessageMixin, CreateView):
    model = Document
    form_class = DocumentForm
    template_name = "gallery/document_form.html"
    success_url = reverse_lazy("document-list")
    success_message = "Saved “%(title)s”."


class DocumentUpdateView(LoginRequiredMixin, SuccessMessageMixin, UpdateView):
    model = Document
    form_class = DocumentForm
    template_name = "gallery/document_form.html"
    success_url = reverse_lazy("document-list")
    success_message = "Saved “%(title)s”."


class ApiClientView(LoginRequiredMixin, TemplateView):
    """A page whose script uses the REST API (gallery/api.py) instead of a Django form."""

    template_name = "gallery/api_client.html"

    def get_context_data(self, **kwargs):
        file_field = Document._meta.get_field("file")
        return super().get_context_data(
            plan_url=file_field.async_field_registry.reverse("generate_upload_url"),
            api_url=reverse("document-api-list"),
            file_field_id=file_field.async_field_id,
            image_field_id=Document._meta.get_field("image").async_field_id,
            **kwargs,
        )
