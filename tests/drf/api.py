"""A test API beside the demo's: nested and bulk writes, other registries, another backend, plain serializers."""

from __future__ import annotations

from django.db import transaction
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from alliance_platform.storage.async_uploads.rest_framework import AsyncFileListField
from gallery.api import AppModelSerializer
from gallery.models import Album, Photo
from tests.testapp.models import Attachment, Avatar, CloudDocument


class AttachmentSerializer(AppModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "name", "file", "other"]


class AvatarSerializer(AppModelSerializer):
    class Meta:
        model = Avatar
        fields = ["id", "image", "width", "height"]
        read_only_fields = ["width", "height"]


class CloudDocumentSerializer(AppModelSerializer):
    class Meta:
        model = CloudDocument
        fields = ["id", "title", "file", "image", "width", "height"]
        read_only_fields = ["width", "height"]


class BulkPhotoListSerializer(serializers.ListSerializer):
    """Updates the photos whose ids the items carry; DRF leaves bulk updates to the project."""

    def update(self, instances, validated_data):
        by_pk = {photo.pk: photo for photo in instances}
        saved = []
        for attrs in validated_data:
            photo = by_pk.get(attrs.pop("id", None))
            if photo is None:
                raise serializers.ValidationError({"id": ["Give the id of a photo of this album."]})
            saved.append(self.child.update(photo, attrs))
        return saved


class PhotoSerializer(AppModelSerializer):
    # Writable, so that nested and bulk updates can tell which photo an item is.
    id = serializers.IntegerField(required=False)

    class Meta:
        model = Photo
        fields = ["id", "caption", "image", "width", "height"]
        read_only_fields = ["width", "height"]
        list_serializer_class = BulkPhotoListSerializer


class AlbumSerializer(AppModelSerializer):
    photos = PhotoSerializer(many=True)

    class Meta:
        model = Album
        fields = ["id", "name", "photos"]

    @transaction.atomic
    def create(self, validated_data):
        photos = validated_data.pop("photos")
        album = Album.objects.create(**validated_data)
        for attrs in photos:
            attrs.pop("id", None)
            Photo.objects.create(album=album, **attrs)
        return album

    @transaction.atomic
    def update(self, instance, validated_data):
        photos = validated_data.pop("photos", None)
        instance.name = validated_data.get("name", instance.name)
        instance.save()
        for attrs in photos or []:
            pk = attrs.pop("id", None)
            photo = instance.photos.filter(pk=pk).first() or Photo(album=instance)
            for name, value in attrs.items():
                setattr(photo, name, value)
            photo.save()
        return instance


class AlbumUploadSerializer(AppModelSerializer):
    """An album and its photos from a list of uploads: one new Photo per file (the recipe in docs/drf.md)."""

    photos = AsyncFileListField(async_field=Photo._meta.get_field("image"), max_files=3)

    class Meta:
        model = Album
        fields = ["id", "name", "photos"]

    @transaction.atomic
    def create(self, validated_data):
        images = validated_data.pop("photos")
        album = Album.objects.create(**validated_data)
        for image in images:
            Photo.objects.create(album=album, image=image)
        return album


class CloudDocumentBatchSerializer(serializers.Serializer):
    """A plain serializer: one CloudDocument per uploaded file, all with the same title."""

    title = serializers.CharField(max_length=100)
    files = AsyncFileListField(async_field=CloudDocument._meta.get_field("file"), max_files=None)

    @transaction.atomic
    def create(self, validated_data):
        title = validated_data["title"]
        return [CloudDocument.objects.create(title=title, file=file) for file in validated_data["files"]]


class CloudDocumentBatch(APIView):
    def post(self, request):
        serializer = CloudDocumentBatchSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        documents = serializer.save()
        return Response(CloudDocumentSerializer(documents, many=True, context={"request": request}).data, 201)


class AttachmentList(generics.ListCreateAPIView):
    queryset = Attachment.objects.all()
    serializer_class = AttachmentSerializer


class AttachmentDetail(generics.RetrieveUpdateAPIView):
    queryset = Attachment.objects.all()
    serializer_class = AttachmentSerializer


class AvatarList(generics.ListCreateAPIView):
    queryset = Avatar.objects.all()
    serializer_class = AvatarSerializer


class CloudDocumentList(generics.ListCreateAPIView):
    queryset = CloudDocument.objects.all()
    serializer_class = CloudDocumentSerializer


class CloudDocumentDetail(generics.RetrieveUpdateAPIView):
    queryset = CloudDocument.objects.all()
    serializer_class = CloudDocumentSerializer


class AlbumList(generics.ListCreateAPIView):
    queryset = Album.objects.all()
    serializer_class = AlbumSerializer
    permission_classes = [permissions.IsAuthenticated]


class AlbumUpload(generics.CreateAPIView):
    serializer_class = AlbumUploadSerializer
    permission_classes = [permissions.IsAuthenticated]


class AlbumDetail(generics.RetrieveUpdateAPIView):
    queryset = Album.objects.all()
    serializer_class = AlbumSerializer
    permission_classes = [permissions.IsAuthenticated]


class PhotoBulk(APIView):
    """POST a list to create photos in one album, PATCH a list (with ids) to update several at once."""

    permission_classes = [permissions.IsAuthenticated]

    def post(self, request, album_pk: int):
        serializer = PhotoSerializer(data=request.data, many=True, context={"request": request})
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            photos = [Photo.objects.create(album_id=album_pk, **attrs) for attrs in serializer.validated_data]
        return Response(PhotoSerializer(photos, many=True, context={"request": request}).data, status.HTTP_201_CREATED)

    def patch(self, request, album_pk: int):
        photos = Photo.objects.filter(album_id=album_pk)
        serializer = PhotoSerializer(photos, data=request.data, many=True, context={"request": request})
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            serializer.save()
        return Response(serializer.data)
