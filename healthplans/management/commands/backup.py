import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from healthplans.backups import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and the stored files (MEDIA_ROOT) into a new timestamped directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--into",
            default=None,
            help="Where the backup directories go (default: $BACKUP_DIR, or backups/ in the project).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        into = Path(options["into"] or os.environ.get("BACKUP_DIR") or Path(settings.BASE_DIR) / "backups")
        try:
            target = backup_create(into=into)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(str(target))
