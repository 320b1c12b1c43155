from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError

from ketacare.backups import manifest
from ketacare.backups.create import create_backup, prune
from ketacare.backups.database import BackupError


class Command(BaseCommand):
    help = (
        "Write a consistent copy of the database while the server runs (SQLite: the online "
        "backup API; PostgreSQL: pg_dump), with a manifest and the audit checkpoints, into a "
        "new timestamped directory. The keys are not copied: back them up separately."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to",
            metavar="DIR",
            help="Where to put the backup (default: the data directory's backups/).",
        )
        parser.add_argument(
            "--keep-days",
            type=int,
            metavar="N",
            help="Afterwards, remove the backups in DIR made more than N days ago.",
        )

    def handle(self, *args: object, **options: object) -> None:
        destination = Path(str(options["to"] or Path(settings.DATA_DIR) / "backups"))
        keep_days = options["keep_days"]
        if isinstance(keep_days, int) and keep_days < 1:
            raise CommandError("--keep-days must be 1 or more.")
        try:
            backup = create_backup(destination.expanduser().resolve())
        except BackupError as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"The backup could not be written: {error}") from error
        except OperationalError as error:
            raise CommandError(
                f"The configured database cannot be reached: {error}".rstrip() + "."
            ) from error
        contents = backup.manifest
        db = contents["database"]
        checkpoints = contents["checkpoints"]
        self.stdout.write(self.style.SUCCESS(f"Backup written: {backup.path}"))
        self.stdout.write(
            f"  database: {db['file']} ({db['kind']}, {db['bytes']:,} bytes)\n"
            f"  audit log: {contents['audit_events']} events; ledger: "
            f"{contents['ledger_entries']} entries in {len(contents['ledger_chain_heads'])} "
            f"registration(s); {len(contents['migrations'])} migrations applied\n"
            f"  checkpoints: {checkpoints['files']} file(s)"
            + (f" from {checkpoints['source']}" if checkpoints["source"] else "")
        )
        self.stdout.write(
            self.style.WARNING(
                "\n".join(manifest.key_lines(manifest.KEYS_WARNING, contents["keys_not_included"]))
            )
        )
        if isinstance(keep_days, int):
            for old in prune(backup.path.parent, keep_days, keep=backup.path):
                self.stdout.write(f"Removed a backup older than {keep_days} days: {old}")
