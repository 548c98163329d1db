from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from healthplans.backups import BackupError, backup_check, backup_restore


class Command(BaseCommand):
    help = "Restore a backup made by `backup`: the database (replaced in one transaction) and MEDIA_ROOT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", help="The backup's directory (backups/<timestamp>).")
        parser.add_argument("--noinput", action="store_false", dest="interactive", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["backup"])
        try:
            manifest = backup_check(source)
            if options["interactive"]:
                answer = input(
                    f"This replaces the current database and stored files with the backup of "
                    f"{manifest['created_at']}. Type 'yes' to go on: "
                )
                if answer != "yes":
                    raise CommandError("Restore cancelled.")
            backup_restore(source=source)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored {source}")
