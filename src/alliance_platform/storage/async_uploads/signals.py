"""Signals for the upload lifecycle, so projects can audit, notify or scan without patching the library."""

from django.dispatch import Signal

#: An upload was planned. Arguments: ``temp_file`` (AsyncTempFile), ``field``, ``request``.
upload_planned = Signal()
#: A temporary upload is about to be promoted; raise to refuse it (e.g. a virus scan). Arguments: ``temp_file``,
#: ``field``, ``instance``. An exception is recorded on the temp row and the record keeps its temporary key.
pre_promote = Signal()
#: A temporary upload was promoted. Arguments: ``temp_file`` (may be None), ``field``, ``instance``, ``key``.
file_promoted = Signal()
#: Promotion failed. Arguments: ``temp_key``, ``field``, ``instance``, ``error`` (the exception).
promotion_failed = Signal()
#: The scanner found a threat in an upload: it was not promoted, the record's field was cleared and the object was
#: moved to ``QUARANTINE_PREFIX`` (``quarantined_key``) or deleted (``quarantined_key`` empty). Arguments:
#: ``temp_file`` (may be None), ``field``, ``instance``, ``threat``, ``quarantined_key``.
upload_infected = Signal()
