from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alliance_platform.storage.async_uploads.cors import cors_targets, validate_origin
from alliance_platform.storage.settings import storage_settings


class Command(BaseCommand):
    help = (
        "Print the CORS rules each bucket or storage account used by async file fields needs so that pages on the "
        "given origins can upload to it directly; --apply adds them to the storage's CORS configuration."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--origin",
            action="append",
            dest="origins",
            metavar="ORIGIN",
            help="A site origin such as https://www.example.com (repeatable). Default: the CORS_ORIGINS setting.",
        )
        parser.add_argument(
            "--apply",
            action="store_true",
            help="Add the rules to each storage's CORS configuration (existing rules are kept).",
        )

    def handle(self, *args, origins: list[str] | None, apply: bool, **options) -> None:
        origins = origins or list(storage_settings.CORS_ORIGINS or [])
        if not origins:
            raise CommandError(
                "No origin given: pass --origin https://your.site (repeatable) or set "
                "ALLIANCE_PLATFORM['STORAGE']['CORS_ORIGINS']."
            )
        try:
            origins = [validate_origin(origin) for origin in origins]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        targets = cors_targets()
        if not targets:
            self.stdout.write("No async file field uploads to cloud storage: no CORS rules are needed.")
            return
        failed = []
        for target in targets:
            rules = target.storage.cors_rules(origins)
            self.stdout.write(f"# {target.description}")
            self.stdout.write(json.dumps(rules, indent=2))
            if not apply:
                continue
            try:
                target.storage.apply_cors_rules(origins)
            except Exception as exc:  # noqa: BLE001 - reported per target; the others are still applied
                failed.append(target.description)
                self.stderr.write(f"Could not apply the rules to {target.description}: {exc}")
            else:
                self.stdout.write(self.style.SUCCESS(f"Applied to {target.description}."))
        if failed:
            raise CommandError(f"CORS rules not applied to: {', '.join(failed)}")
