"""The HTTP endpoints: planning an upload, discarding one that will not be submitted, and redirecting to a download."""

from .discard import DiscardUploadView
from .download import DownloadRedirectView
from .plan import GenerateUploadUrlView

__all__ = ["DiscardUploadView", "DownloadRedirectView", "GenerateUploadUrlView"]
