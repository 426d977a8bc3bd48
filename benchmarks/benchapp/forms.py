from django import forms

from .models import Blob


class BlobForm(forms.ModelForm):
    class Meta:
        model = Blob
        fields = ["file"]
