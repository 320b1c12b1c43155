from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError

from ketacare.backups.database import BackupError
from ketacare.backups.restore import restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `ketacare backup` (its directory, manifest or database file) "
        "into the configured database, then run `ketacare audit verify` and `ketacare "
        "inventory verify`. Refuses a database that holds data unless --force. Stop the "
        "server first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", help="The backup directory (or its database file).")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace the configured database even though it holds data.",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            outcome = restore_backup(
                Path(str(options["backup"])).expanduser(), bool(options["force"])
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"The restore failed: {error}") from error
        except OperationalError as error:
            raise CommandError(
                f"The configured database cannot be reached: {error}".rstrip() + "."
                " To restore into a new PostgreSQL database, create it first (createdb)."
            ) from error
        for line in outcome.lines:
            self.stdout.write(line)
        if not outcome.ok:
            raise CommandError(
                "The backup was restored but does not verify (see above): do not use it as is."
            )
        self.stdout.write(self.style.SUCCESS("Restored, and both verify commands passed."))
