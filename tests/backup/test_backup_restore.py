"""`ketacare backup` and `ketacare restore` on the demo, as the README's restore drill does it:
back up, restore into a new data directory with the keys put back in place, both verify
commands pass, every table holds what it held."""

import json
import os
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.demo_fixtures import cli_demo, run  # noqa: F401 (cli_demo: fixture)

sqlite_only = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="the demo data directory is SQLite; the SQLite run covers it",
)


@pytest.fixture(scope="module")
def demo_dir(cli_demo, tmp_path_factory):  # noqa: F811
    """A fresh demo, as `ketacare demo` makes it (without the synthetic registry clinic): its
    own generated secret key in the data directory, SQLite beside it. The module's own copy of
    the session's demo, so that these tests find it as `ketacare demo` left it."""
    return cli_demo.copy_to(tmp_path_factory.mktemp("demo") / "data")


@pytest.fixture(scope="module")
def demo_backup(demo_dir, tmp_path_factory):
    """One backup of the demo, made by `ketacare backup`; tests that damage it use a copy."""
    return make_backup(demo_dir, tmp_path_factory.mktemp("backups"))


def make_backup(data_dir: Path, to: Path) -> tuple[Path, dict]:
    result = run("backup", "--to", str(to), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "NOT in this backup" in result.stdout
    (backup,) = [p for p in to.iterdir() if p.name.startswith("ketacare-")]
    return backup, json.loads((backup / "manifest.json").read_text())


def put_keys_in_place(manifest: dict, data_dir: Path) -> None:
    """The restore drill's first step: the keys, kept apart from the backups, go into the new
    data directory under the names the old one used."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for key in manifest["keys_not_included"]:
        if "file" in key:
            shutil.copy(key["file"], data_dir / Path(key["file"]).name)


def table_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    db.close()
    return counts


@sqlite_only
def test_a_backup_of_the_demo_restores_into_a_new_data_directory(demo_dir, demo_backup, tmp_path):
    backup, manifest = demo_backup
    assert manifest["database"]["kind"] == "sqlite"
    assert manifest["audit_events"] > 500 and manifest["ledger_entries"] > 20
    assert manifest["ledger_chain_heads"][0]["last_sequence"] == manifest["ledger_entries"]
    assert "audit.0001_initial" in manifest["migrations"]
    # The key's place is named; the key itself is nowhere in the backup.
    secret = (demo_dir / "secret_key").read_text().strip()
    (secret_key,) = [k for k in manifest["keys_not_included"] if k["name"] == "secret key"]
    assert secret_key["file"] == str(demo_dir / "secret_key")
    for file in backup.rglob("*"):
        if file.is_file():
            assert secret.encode() not in file.read_bytes(), file

    new = tmp_path / "restored"
    put_keys_in_place(manifest, new)
    restored = run("restore", str(backup), data_dir=new)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert "Audit chain intact" in restored.stdout
    assert "Ledger intact" in restored.stdout

    for command in (("audit", "verify"), ("inventory", "verify")):
        verdict = run(*command, data_dir=new)
        assert verdict.returncode == 0, verdict.stderr
    assert table_counts(new / "ketacare.sqlite3") == table_counts(demo_dir / "ketacare.sqlite3")


@sqlite_only
def test_restore_refuses_a_database_that_holds_data_unless_forced(demo_backup, tmp_path):
    backup, manifest = demo_backup
    new = tmp_path / "restored"
    put_keys_in_place(manifest, new)
    assert run("restore", str(backup), data_dir=new).returncode == 0
    database = new / "ketacare.sqlite3"
    before = database.read_bytes()

    again = run("restore", str(backup), data_dir=new)
    assert again.returncode != 0
    assert "already holds data" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr
    assert database.read_bytes() == before  # nothing changed

    forced = run("restore", str(backup / "database.sqlite3"), "--force", data_dir=new)
    assert forced.returncode == 0, forced.stderr + forced.stdout
    assert "Audit chain intact" in forced.stdout


@sqlite_only
def test_a_damaged_backup_is_refused_before_anything_changes(demo_backup, tmp_path):
    backup, manifest = tmp_path / "damaged", demo_backup[1]
    shutil.copytree(demo_backup[0], backup)
    copy = backup / "database.sqlite3"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    new = tmp_path / "restored"
    put_keys_in_place(manifest, new)
    result = run("restore", str(backup), data_dir=new)
    assert result.returncode != 0
    assert "checksum" in result.stderr and "Traceback" not in result.stderr
    assert not (new / "ketacare.sqlite3").exists()


@sqlite_only
def test_keep_days_removes_old_backups_and_nothing_else(demo_dir, tmp_path):
    backups = tmp_path / "backups"
    old, unrelated = backups / "ketacare-20200101-000000", backups / "ketacare-notes"
    old.mkdir(parents=True)
    unrelated.mkdir()
    made = (datetime.now(UTC) - timedelta(days=30)).isoformat(timespec="seconds")
    (old / "manifest.json").write_text(json.dumps({"created_at": made}))
    result = run("backup", "--to", str(backups), "--keep-days", "14", data_dir=demo_dir)
    assert result.returncode == 0, result.stderr
    assert not old.exists() and unrelated.exists()
    assert len([p for p in backups.iterdir() if (p / "manifest.json").exists()]) == 1


@sqlite_only
def test_restore_without_the_audit_key_is_refused_before_anything_changes(demo_backup, tmp_path):
    pytest.importorskip("ketacare.audit.keys", reason="this version has no keyed audit chain")
    backup, manifest = demo_backup
    new = tmp_path / "restored"
    new.mkdir()
    (secret,) = [k for k in manifest["keys_not_included"] if k["name"] == "secret key"]
    shutil.copy(secret["file"], new / "secret_key")  # the secret key only
    result = run("restore", str(backup), data_dir=new)
    assert result.returncode != 0
    assert "audit key" in result.stderr and "Nothing was changed" in result.stderr
    assert not (new / "ketacare.sqlite3").exists()
