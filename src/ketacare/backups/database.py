"""Copying the configured database out to a file and back in, consistently, while it is in use.

SQLite: the online backup API copies every page in one step, under one read lock, so the copy
is one committed state; writers wait the moment it takes (they have a 20 s busy timeout).
PostgreSQL: ``pg_dump`` in custom format inside a snapshot exported by the transaction that
reads the manifest's figures, so the figures describe exactly what was dumped.
"""

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.db import connection, connections, transaction

SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Rows every migrated database has before anyone has used it: Django's bookkeeping and the
# audit chain head that a migration creates. Rows anywhere else are somebody's data.
BOOKKEEPING_TABLES = frozenset(
    {"django_migrations", "django_content_type", "auth_permission", "audit_chainhead"}
)


class BackupError(Exception):
    """Something the person running the command has to fix; nothing was changed."""


def vendor() -> str:
    """The configured database's kind: "sqlite" or "postgresql"."""
    if connection.vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {connection.vendor}.")
    return str(connection.vendor)


def file_kind(path: Path) -> str | None:
    """Which database a backup file holds, from its first bytes: "sqlite", "postgresql" or
    None for anything else."""
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rows(cursor: Any, sql: str) -> list[dict[str, Any]]:
    cursor.execute(sql)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def read_state(cursor: Any) -> dict[str, Any]:
    """What the manifest records about a database, read through any DB-API cursor: the
    migrations applied, how many audit events and ledger entries it holds, and the heads of
    the audit chain and of each registration's ledger chain."""
    try:
        migrations = _rows(cursor, "SELECT app, name FROM django_migrations ORDER BY id")
        audit_events = _rows(cursor, "SELECT COUNT(*) AS n FROM audit_auditevent")[0]["n"]
        ledger_entries = _rows(cursor, "SELECT COUNT(*) AS n FROM inventory_ledgerentry")[0]["n"]
        audit_heads = _rows(cursor, "SELECT * FROM audit_chainhead ORDER BY 1")
        ledger_heads = _rows(
            cursor,
            "SELECT id, clinic_id, dea_number, last_sequence, last_hash "
            "FROM inventory_registration ORDER BY id",
        )
    except Exception as error:
        raise BackupError(
            f"The database does not look like a migrated ketacare database ({error}); run "
            "`ketacare migrate` first."
        ) from error
    return {
        "migrations": [f"{m['app']}.{m['name']}" for m in migrations],
        "audit_events": audit_events,
        "ledger_entries": ledger_entries,
        "audit_chain_heads": audit_heads,
        "ledger_chain_heads": ledger_heads,
    }


def tables_with_rows() -> dict[str, int]:
    """The configured database's tables that hold data (bookkeeping aside), with their row
    counts: empty means there is nothing a restore could overwrite."""
    if connection.vendor == "sqlite" and not _sqlite_path().exists():
        return {}  # and no connection, which would create the file (or fail on a new directory)
    found = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table in BOOKKEEPING_TABLES:
                continue
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            count = cursor.fetchone()[0]
            if count:
                found[table] = count
    return found


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_path() -> Path:
    return Path(connection.settings_dict["NAME"])


def _integrity_problem(path: Path) -> str | None:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    return None if verdict == "ok" else str(verdict)


def copy_sqlite(target: Path) -> dict[str, Any]:
    """Copy the live SQLite database to ``target``; returns the copy's state."""
    source_path = _sqlite_path()
    if not source_path.exists():
        raise BackupError(f"There is no database at {source_path} to back up.")
    # Read-write, not read-only: after a crash the first connection must roll back the hot
    # journal the dead writer left, and a read-only one cannot.
    source = sqlite3.connect(source_path, timeout=20)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one consistent state
    finally:
        copy.close()
        source.close()
    problem = _integrity_problem(target)
    if problem:
        raise BackupError(f"The copy of {source_path} fails SQLite's integrity check: {problem}")
    with sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True) as db:
        state = read_state(db.cursor())
    db.close()
    return state


def restore_sqlite(backup_file: Path) -> None:
    """Replace the configured SQLite database with the backup, in one transaction: if it
    fails half-way, the database is as it was."""
    problem = _integrity_problem(backup_file)
    if problem:
        raise BackupError(f"{backup_file} fails SQLite's integrity check: {problem}")
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    connections.close_all()
    source = sqlite3.connect(f"{backup_file.resolve().as_uri()}?mode=ro", uri=True)
    destination = sqlite3.connect(target, timeout=20)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_environment() -> dict[str, str]:
    """libpq's environment for the configured database, so that no password is ever on a
    command line."""
    settings = connection.settings_dict
    environment = dict(os.environ)
    for variable, value in (
        ("PGHOST", settings.get("HOST")),
        ("PGPORT", settings.get("PORT")),
        ("PGUSER", settings.get("USER")),
        ("PGPASSWORD", settings.get("PASSWORD")),
        ("PGDATABASE", settings.get("NAME")),
        ("PGSSLMODE", (settings.get("OPTIONS") or {}).get("sslmode")),
    ):
        if value:
            environment[variable] = str(value)
    return environment


def _tool(name: str) -> tuple[str, int]:
    """The path and major version of a PostgreSQL client tool."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH: install the PostgreSQL client tools (the server's "
            "major version or newer), e.g. `apt-get install postgresql-client`."
        )
    output = subprocess.run(  # noqa: S603
        [path, "--version"], capture_output=True, text=True, check=False
    ).stdout
    found = re.search(r"(\d+)(?:\.\d+)*", output)
    return path, int(found.group(1)) if found else 0


def server_major() -> int:
    connection.ensure_connection()
    # Asked only of PostgreSQL, whose connection wrapper has pg_version.
    return int(connection.pg_version or 0) // 10000  # type: ignore[attr-defined]


def dump_postgres(target: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """pg_dump the configured database to ``target`` (custom format); returns the dump's state
    and the versions involved."""
    pg_dump, client = _tool("pg_dump")
    server = server_major()
    if client < server:
        raise BackupError(
            f"pg_dump is version {client} but the server is PostgreSQL {server}: pg_dump cannot "
            f"dump a newer server. Install the version {server} client tools."
        )
    connection.ensure_connection()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        state = read_state(cursor)
        # The snapshot lives as long as this transaction: pg_dump sees exactly what we read.
        result = subprocess.run(  # noqa: S603
            [pg_dump, "--format=custom", f"--file={target}", f"--snapshot={snapshot}"],
            capture_output=True,
            text=True,
            env=_pg_environment(),
            check=False,
        )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return state, {"server_major": server, "pg_dump_major": client}


def restore_postgres(dump_file: Path, dumped_by: int | None) -> None:
    """pg_restore the dump into the configured database in one transaction (--clean drops what
    is there first); if anything fails, the database is as it was."""
    pg_restore, client = _tool("pg_restore")
    if dumped_by and client < dumped_by:
        raise BackupError(
            f"The backup was made by pg_dump {dumped_by}; pg_restore {client} cannot read it. "
            f"Install the version {dumped_by} client tools."
        )
    connections.close_all()
    result = subprocess.run(  # noqa: S603
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={connection.settings_dict['NAME']}",
            str(dump_file),
        ],
        capture_output=True,
        text=True,
        env=_pg_environment(),
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(
            "pg_restore failed and the database was left as it was (the restore runs in one "
            f"transaction): {result.stderr.strip()}"
        )
