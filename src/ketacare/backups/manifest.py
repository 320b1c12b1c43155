"""What a backup holds, and what it deliberately does not: the keys.

A backup directory has the database copy, ``manifest.json`` (when, which database, which
ketacare and migrations, the audit log's and ledger's sizes and chain heads, where the keys
are kept) and ``checkpoints/``, a copy of the audit checkpoint files. The secret key and the
audit key are never copied into it: whoever holds a backup and its keys can forge a session or
re-sign a rewritten chain, so the keys are kept, and backed up, somewhere else.
"""

import json
import os
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from django.conf import settings

MANIFEST = "manifest.json"
CHECKPOINTS = "checkpoints"
FORMAT = 1
KEYS_WARNING = (
    "The keys are NOT in this backup. Back them up separately (not beside the backups): "
    "without the secret key no one can sign in to a restored copy, and without the audit key "
    "`ketacare audit verify` cannot check the restored audit log."
)


def ketacare_version() -> str:
    try:
        return version("ketacare")
    except PackageNotFoundError:
        return "unknown"


def checkpoint_dir() -> Path | None:
    """Where this installation writes its audit checkpoints, if it writes any."""
    configured = getattr(settings, "KETACARE_CHECKPOINT_DIR", None)
    return Path(configured) if configured else None


def _key(name: str, variable: str, file: Path) -> dict[str, str]:
    # The same order settings read them in: the environment first, then the file.
    if os.environ.get(variable):
        return {"name": name, "kept_in": f"environment variable {variable}"}
    state = "" if file.exists() else " (not there now)"
    return {"name": name, "kept_in": f"file {file}{state}", "file": str(file)}


def key_locations() -> list[dict[str, str]]:
    """Where the keys this installation needs are kept: their places, never their values."""
    data_dir = Path(settings.DATA_DIR)
    keys = [_key("secret key", "SECRET_KEY", data_dir / "secret_key")]
    audit_key_file = getattr(settings, "KETACARE_AUDIT_KEY_FILE", None)
    if audit_key_file or os.environ.get("KETACARE_AUDIT_KEY") or (data_dir / "audit_key").exists():
        keys.append(
            _key("audit key", "KETACARE_AUDIT_KEY", Path(audit_key_file or data_dir / "audit_key"))
        )
    return keys


def audit_key_id() -> str | None:
    """The audit key's fingerprint (never the key), on versions with a keyed audit chain: a
    restore compares it with its own key's before changing anything."""
    try:
        # Absent before keyed chains: then there is no fingerprint to compare.
        from ketacare.audit import keys
    except ImportError:
        return None
    key_id = getattr(keys, "key_id", None)
    return str(key_id()) if callable(key_id) else None


def copy_checkpoints(backup: Path) -> dict[str, Any]:
    """Copy the checkpoint directory into the backup; returns what the manifest says of it."""
    source = checkpoint_dir()
    if source is None:
        return {"source": None, "files": 0, "note": "this installation writes no checkpoints"}
    if not source.is_dir():
        return {"source": str(source), "files": 0, "note": "the directory does not exist yet"}
    shutil.copytree(source, backup / CHECKPOINTS)
    files = [path for path in (backup / CHECKPOINTS).rglob("*") if path.is_file()]
    for path in files:
        _drop_partial_line(path)
    return {"source": str(source), "files": len(files)}


def _drop_partial_line(path: Path) -> None:
    """Checkpoint files are appended a line at a time while the server runs: a copy taken in
    the middle of an append ends in part of a line, which would read as an edited file. The
    line is complete in the live file; the copy keeps the lines before it."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def write(backup: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=False, default=str)
    (backup / MANIFEST).write_text(text + "\n", encoding="utf-8")


def read(backup: Path) -> dict[str, Any] | None:
    """The manifest of a backup directory, or None if it has none."""
    path = backup / MANIFEST
    if not path.is_file():
        return None
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def key_lines(heading: str, keys: list[dict[str, str]]) -> list[str]:
    return [heading, *(f"  {key['name']}: {key['kept_in']}" for key in keys)]
