"""Making a backup: the database copy, its manifest and the audit checkpoints, in a directory
named after the time (``ketacare-YYYYMMDD-HHMMSS``, UTC) that appears only when complete."""

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ketacare.backups import database, manifest

PREFIX = "ketacare-"


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict[str, Any]


def _free_name(destination: Path, now: datetime) -> Path:
    base = destination / f"{PREFIX}{now:%Y%m%d-%H%M%S}"
    candidate, n = base, 1
    while candidate.exists():
        candidate, n = base.with_name(f"{base.name}-{n}"), n + 1
    return candidate


def create_backup(destination: Path) -> Backup:
    kind = database.vendor()
    now = datetime.now(UTC)
    destination.mkdir(parents=True, exist_ok=True)
    final = _free_name(destination, now)
    # Built under a hidden name and renamed when complete: a backup that was interrupted never
    # looks like one that can be restored.
    partial = destination / f".{final.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        # Checkpoints before the database: every checkpoint copied then names a chain head the
        # database copy already contains. Copied after, a checkpoint written in between would
        # make the restored log look cut short.
        checkpoints = manifest.copy_checkpoints(partial)
        tools: dict[str, Any] = {}
        if kind == "sqlite":
            file = partial / database.SQLITE_FILE
            state = database.copy_sqlite(file)
        else:
            file = partial / database.POSTGRES_FILE
            state, tools = database.dump_postgres(file)
        contents = {
            "format": manifest.FORMAT,
            "created_at": now.isoformat(timespec="seconds"),
            "ketacare_version": manifest.ketacare_version(),
            "database": {
                "kind": kind,
                "file": file.name,
                "bytes": file.stat().st_size,
                "sha256": database.sha256(file),
                **tools,
            },
            **state,
            "checkpoints": checkpoints,
            "keys_not_included": manifest.key_locations(),
            "audit_key_id": manifest.audit_key_id(),
            "keys_note": manifest.KEYS_WARNING,
        }
        manifest.write(partial, contents)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Backup(final, contents)


def prune(destination: Path, keep_days: int, keep: Path) -> list[Path]:
    """Remove the backups in ``destination`` made more than ``keep_days`` days ago, never
    ``keep`` (the one just made) and nothing that is not a complete ketacare backup."""
    cutoff = datetime.now(UTC) - timedelta(days=keep_days)
    removed = []
    for candidate in sorted(destination.glob(f"{PREFIX}*")):
        if not candidate.is_dir() or candidate.resolve() == keep.resolve():
            continue
        contents = manifest.read(candidate)
        if contents is None or "created_at" not in contents:
            continue
        if datetime.fromisoformat(contents["created_at"]) < cutoff:
            shutil.rmtree(candidate)
            removed.append(candidate)
    return removed
