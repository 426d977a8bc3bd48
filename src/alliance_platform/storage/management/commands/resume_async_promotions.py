from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from alliance_platform.storage.async_uploads.promotion_jobs import resume_promotions


class Command(BaseCommand):
    help = (
        "Promote (with PROMOTION='task': enqueue) the uploads of saved records that are still unpromoted: a failed "
        "promotion, a scanner that was down, a worker that died. For cron when no task scheduler runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=300,
            help="Only uploads saved more than this many seconds ago (default 300), so a task in flight runs first.",
        )
        parser.add_argument("--quiet", action="store_true", help="Print nothing.")

    def handle(self, *args, older_than: float, quiet: bool, **options) -> None:
        resumed = resume_promotions(older_than)
        if not quiet:
            self.stdout.write(f"Resumed {resumed} promotions.")
