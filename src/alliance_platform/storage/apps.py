from django.apps import AppConfig
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class AlliancePlatformStorageConfig(AppConfig):
    name = "alliance_platform.storage"
    label = "alliance_platform_storage"
    verbose_name = _("Async uploads")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .async_uploads.promotion import schedule_promotions
        from .async_uploads.requester import forget_started_request, remember_started_request

        post_save.connect(schedule_promotions, dispatch_uid="alliance_platform_storage_promotion")
        # Who submits an upload, with no middleware of ours installed (see async_uploads.requester).
        request_started.connect(remember_started_request, dispatch_uid="alliance_platform_storage_requester")
        request_finished.connect(forget_started_request, dispatch_uid="alliance_platform_storage_requester")
