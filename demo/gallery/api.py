"""A small REST API for documents, for single-page apps and scripts (see docs/drf.md).

The browser or script uploads files through the same endpoint as the form widget, then sends only the keys here.
"""

from rest_framework import mixins, permissions, viewsets
from rest_framework.routers import DefaultRouter
from rest_framework.serializers import ModelSerializer

import alliance_platform.storage.async_uploads.models as async_file_fields
from alliance_platform.storage.async_uploads.rest_framework import AsyncFileField, AsyncImageField

from .models import Document


class AppModelSerializer(ModelSerializer):
    """Base serializer for the project: async model fields get the async serializer fields."""

    serializer_field_mapping = {
        **ModelSerializer.serializer_field_mapping,
        async_file_fields.AsyncFileField: AsyncFileField,
        async_file_fields.AsyncImageField: AsyncImageField,
    }


class DocumentSerializer(AppModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "title", "file", "image", "image_width", "image_height", "created_at"]


class DocumentViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, create and update documents; add/change permissions as in the admin."""

    queryset = Document.objects.all()
    serializer_class = DocumentSerializer
    permission_classes = [permissions.DjangoModelPermissions]


router = DefaultRouter()
router.register("documents", DocumentViewSet, basename="document-api")
