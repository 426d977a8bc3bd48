from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import CreateView, UpdateView

from .models import Note


class NoteCreate(LoginRequiredMixin, CreateView):
    model = Note
    fields = ["title", "file", "image"]

    def get_success_url(self) -> str:
        return f"/notes/{self.object.pk}/"


class NoteUpdate(LoginRequiredMixin, UpdateView):
    model = Note
    fields = ["title", "file", "image"]

    def get_success_url(self) -> str:
        return f"/notes/{self.object.pk}/"
