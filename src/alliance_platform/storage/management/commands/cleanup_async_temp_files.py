from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from alliance_platform.storage.async_uploads.cleanup import cleanup_expired
from alliance_platform.storage.settings import storage_settings


class Command(BaseCommand):
    help = "Delete temporary uploads that were never submitted, with their objects in storage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--age", type=float, default=48, help="Only uploads older than this many hours (default 48)."
        )
        parser.add_argument("--quiet", action="store_true", help="Print nothing unless something failed.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be deleted; change nothing.")
        parser.add_argument("--batch-size", type=int, default=None, help="Rows per batch (default from settings).")

    def handle(self, *args, age: float, quiet: bool, dry_run: bool, batch_size: int | None, **options) -> None:
        report = cleanup_expired(age, batch_size=batch_size or storage_settings.CLEANUP_BATCH_SIZE, dry_run=dry_run)
        if report.failures:
            self.stderr.write(f"Could not delete {len(report.failures)} objects; their rows were kept.")
        if not quiet:
            self.stdout.write(report.summary(dry_run))
