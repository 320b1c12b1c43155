"""Restoring a backup into the configured database, then checking it with the same verify
commands an operator runs (`ketacare audit verify`, `ketacare inventory verify`)."""

import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from ketacare.backups import database, manifest
from ketacare.backups.database import BackupError

VERIFY_COMMANDS = (("audit", "verify"), ("inventory", "verify"))


@dataclass(frozen=True)
class Located:
    database: Path
    manifest: dict[str, Any] | None
    checkpoints: Path | None


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def fail(self, line: str) -> None:
        self.lines.append(line)
        self.ok = False


def locate(path: Path) -> Located:
    """The database file, manifest and checkpoints of a backup given as its directory, its
    manifest or its database file."""
    if not path.exists():
        raise BackupError(f"{path} does not exist.")
    directory = path if path.is_dir() else path.parent
    contents = manifest.read(directory)
    if path.is_file() and path.name != manifest.MANIFEST:
        file = path
    else:
        names = [contents["database"]["file"]] if contents else []
        names += [database.SQLITE_FILE, database.POSTGRES_FILE]
        found = next((directory / n for n in names if (directory / n).is_file()), None)
        if found is None:
            raise BackupError(f"{directory} holds no database copy ({' or '.join(names[-2:])}).")
        file = found
    checkpoints = directory / manifest.CHECKPOINTS
    return Located(file, contents, checkpoints if checkpoints.is_dir() else None)


def _unknown_migrations(contents: dict[str, Any] | None) -> list[str]:
    if not contents:
        return []
    known = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
    return [m for m in contents.get("migrations", []) if m not in known and "." in m]


def _check(located: Located, kind: str) -> None:
    """Everything that can be known before changing anything."""
    found = database.file_kind(located.database)
    if found is None:
        raise BackupError(f"{located.database} is not a ketacare database backup.")
    if found != kind:
        raise BackupError(
            f"{located.database} is a {found} backup but the configured database is {kind}: "
            "restore it into the same kind of database."
        )
    if located.manifest:
        expected = located.manifest["database"].get("sha256")
        if expected and database.sha256(located.database) != expected:
            raise BackupError(
                f"{located.database} does not match the checksum in its manifest: the copy is "
                "damaged or was changed."
            )
    unknown = _unknown_migrations(located.manifest)
    if unknown:
        made_by = (located.manifest or {}).get("ketacare_version", "unknown")
        raise BackupError(
            f"This backup was made by a newer ketacare ({made_by}): its migrations "
            f"{', '.join(unknown[:3])} are unknown here. Restore it with that version."
        )


def refuse_another_audit_key(contents: dict[str, Any] | None, force: bool) -> None:
    """The restored chains verify only under the audit key they were made with; a missing key
    file has been replaced by a new key by now, so compare fingerprints before anything."""
    made_with = (contents or {}).get("audit_key_id")
    current = manifest.audit_key_id()
    if made_with and current and made_with != current and not force:
        kept = [k["kept_in"] for k in (contents or {}).get("keys_not_included", [])]
        raise BackupError(
            f"This installation's audit key (fingerprint {current}) is not the one the backup "
            f"was made with ({made_with}), so the restored audit log and ledger would not "
            f"verify. Put that key in place (it was kept in: {'; '.join(kept)}) and run the "
            "restore again. Nothing was changed. If the key is lost, --force restores anyway, "
            "and the verify commands will fail."
        )


def refuse_if_occupied(force: bool) -> list[str]:
    occupied = database.tables_with_rows()
    if occupied and not force:
        listed = ", ".join(f"{table}: {n} rows" for table, n in list(occupied.items())[:4])
        more = f" and {len(occupied) - 4} more tables" if len(occupied) > 4 else ""
        raise BackupError(
            f"The target database already holds data ({listed}{more}). Nothing was changed. "
            "Restoring would replace all of it; if that is what you want, run the restore again "
            "with --force."
        )
    return [f"Replacing a database that held data ({len(occupied)} tables)."] if occupied else []


def restore_checkpoints(located: Located) -> str:
    target = manifest.checkpoint_dir()
    if located.checkpoints is None:
        return "Checkpoints: the backup holds none."
    if target is None:
        return "Checkpoints: this ketacare version keeps none; the backup's copy was not used."
    if target.is_dir() and any(path.is_file() for path in target.rglob("*")):
        # They may be newer than the backup (a restore on the same installation): keeping them
        # lets verify say how much the restore took back, instead of hiding it.
        return f"Checkpoints: kept the files already in {target}."
    shutil.copytree(located.checkpoints, target, dirs_exist_ok=True)
    return f"Checkpoints: restored into {target}."


def pending_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def verify(outcome: Outcome) -> None:
    """Run both verify commands, as an operator would, and record their verdicts."""
    for command in VERIFY_COMMANDS:
        out = io.StringIO()
        label = f"ketacare {' '.join(command)}"
        try:
            call_command(*command, stdout=out)
        except CommandError as error:
            outcome.fail(f"{label}: FAILED — {error}")
        else:
            outcome.lines.append(f"{label}: {out.getvalue().strip()}")


def _compare_counts(outcome: Outcome, contents: dict[str, Any] | None) -> None:
    if not contents:
        return
    with connection.cursor() as cursor:
        state = database.read_state(cursor)
    for key, what in (("audit_events", "audit events"), ("ledger_entries", "ledger entries")):
        if state[key] != contents.get(key):
            outcome.fail(
                f"The restored database has {state[key]} {what}; the manifest says "
                f"{contents.get(key)}."
            )
        else:
            outcome.lines.append(f"{what.capitalize()}: {state[key]}, as in the manifest.")


def restore_backup(path: Path, force: bool) -> Outcome:
    located = locate(path)
    kind = database.vendor()
    _check(located, kind)
    refuse_another_audit_key(located.manifest, force)
    outcome = Outcome()
    outcome.lines += refuse_if_occupied(force)
    if kind == "sqlite":
        database.restore_sqlite(located.database)
    else:
        dumped_by = (located.manifest or {}).get("database", {}).get("pg_dump_major")
        database.restore_postgres(located.database, dumped_by)
    connections.close_all()
    made = (located.manifest or {}).get("created_at", "unknown time")
    outcome.lines.append(f"Restored the {kind} backup made at {made} from {located.database}.")
    outcome.lines.append(restore_checkpoints(located))
    pending = pending_migrations()
    if pending:
        outcome.lines.append(
            f"This ketacare has {len(pending)} migration(s) the backup lacks "
            f"({', '.join(pending[:3])}…): run `ketacare migrate`, then the verify commands."
        )
    _compare_counts(outcome, located.manifest)
    verify(outcome)
    if located.manifest:
        outcome.lines += manifest.key_lines(
            "The restored data needs the keys of the installation it came from (they are not "
            "in the backup); there they were kept in:",
            located.manifest.get("keys_not_included", []),
        )
    return outcome
