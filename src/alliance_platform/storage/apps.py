from django.apps import AppConfig
from django.db.models.signals import post_save


class AlliancePlatformStorageConfig(AppConfig):
    name = "alliance_platform.storage"
    label = "alliance_platform_storage"
    verbose_name = "Async uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .async_uploads.promotion import schedule_promotions

        post_save.connect(schedule_promotions, dispatch_uid="alliance_platform_storage_promotion")
