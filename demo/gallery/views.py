from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.messages.views import SuccessMessageMixin
from django.urls import reverse, reverse_lazy
from django.views.generic import CreateView, ListView, TemplateView, UpdateView

from .forms import AlbumForm, DocumentForm
from .models import Album, Document

# The pages need a signed-in user because the library checks the user's permissions on the gallery models
# (gallery.add_document, change_document, view_document; add_photo, view_photo) for every upload and download.


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


class AlbumListView(LoginRequiredMixin, ListView):
    model = Album
    template_name = "gallery/album_list.html"
    context_object_name = "albums"

    def get_queryset(self):
        return Album.objects.prefetch_related("photos").order_by("-id")


class AlbumFormMixin(LoginRequiredMixin, SuccessMessageMixin):
    """Several photos dropped at once, saved as the album's Photo rows (AlbumForm.save)."""

    model = Album
    form_class = AlbumForm
    template_name = "gallery/album_form.html"
    success_message = "Saved “%(name)s”."

    def get_success_url(self) -> str:
        return reverse("album-update", args=[self.object.pk])


class AlbumCreateView(AlbumFormMixin, CreateView):
    pass


class AlbumUpdateView(AlbumFormMixin, UpdateView):
    """The album's photos, and more of them dropped at once."""
