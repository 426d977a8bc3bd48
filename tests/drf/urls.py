from django.urls import path

from . import api

urlpatterns = [
    path("attachments/", api.AttachmentList.as_view()),
    path("attachments/<int:pk>/", api.AttachmentDetail.as_view()),
    path("avatars/", api.AvatarList.as_view()),
    path("cloud-documents/", api.CloudDocumentList.as_view()),
    path("cloud-documents/batch/", api.CloudDocumentBatch.as_view()),
    path("cloud-documents/<int:pk>/", api.CloudDocumentDetail.as_view()),
    path("albums/", api.AlbumList.as_view()),
    path("albums/<int:pk>/", api.AlbumDetail.as_view()),
    path("albums/from-uploads/", api.AlbumUpload.as_view()),
    path("albums/<int:album_pk>/photos/", api.PhotoBulk.as_view()),
]
