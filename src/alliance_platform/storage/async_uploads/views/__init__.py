"""The HTTP endpoints: planning an upload, and redirecting to a download."""

from .download import DownloadRedirectView
from .plan import GenerateUploadUrlView

__all__ = ["DownloadRedirectView", "GenerateUploadUrlView"]
