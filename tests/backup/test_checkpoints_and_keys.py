"""What a backup says about the things it does not hold in the database: the audit checkpoint
files (copied, and put back only where a restore finds none) and the keys (named, never
copied)."""

from pathlib import Path

from ketacare.backups import manifest
from ketacare.backups.restore import Located, restore_checkpoints


def checkpoints(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "audit.log").write_text(text)
    return directory


def test_a_backup_copies_the_checkpoint_directory(settings, tmp_path):
    settings.KETACARE_CHECKPOINT_DIR = checkpoints(tmp_path / "live", "1 head-one\n")
    backup = tmp_path / "backup"
    backup.mkdir()
    assert manifest.copy_checkpoints(backup) == {"source": str(tmp_path / "live"), "files": 1}
    assert (backup / "checkpoints" / "audit.log").read_text() == "1 head-one\n"


def test_a_line_caught_half_appended_is_left_out_of_the_copy(settings, tmp_path):
    settings.KETACARE_CHECKPOINT_DIR = checkpoints(tmp_path / "live", "1 head-one\n2 hea")
    backup = tmp_path / "backup"
    backup.mkdir()
    manifest.copy_checkpoints(backup)
    assert (backup / "checkpoints" / "audit.log").read_text() == "1 head-one\n"
    assert (tmp_path / "live" / "audit.log").read_text() == "1 head-one\n2 hea"


def test_a_checkpoint_directory_not_made_yet_is_noted_not_an_error(settings, tmp_path):
    settings.KETACARE_CHECKPOINT_DIR = tmp_path / "not-yet"
    backup = tmp_path / "backup"
    backup.mkdir()
    assert manifest.copy_checkpoints(backup)["files"] == 0
    assert not (backup / "checkpoints").exists()


def test_restore_puts_checkpoints_back_only_where_there_are_none(settings, tmp_path):
    saved = checkpoints(tmp_path / "backup" / "checkpoints", "1 head-one\n")
    located = Located(tmp_path / "backup" / "database.sqlite3", None, saved)
    target = tmp_path / "new" / "checkpoints"
    settings.KETACARE_CHECKPOINT_DIR = target
    assert "restored" in restore_checkpoints(located)
    assert (target / "audit.log").read_text() == "1 head-one\n"

    # Checkpoints already there may be newer than the backup: they stay, so that verify can
    # tell how much the restore took back.
    (target / "audit.log").write_text("1 head-one\n2 head-two\n")
    assert "kept" in restore_checkpoints(located)
    assert (target / "audit.log").read_text() == "1 head-one\n2 head-two\n"


def test_the_manifest_names_where_the_secret_key_is_kept(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    (secret,) = [k for k in manifest.key_locations() if k["name"] == "secret key"]
    assert secret == {"name": "secret key", "kept_in": "environment variable SECRET_KEY"}

    monkeypatch.delenv("SECRET_KEY")
    settings.DATA_DIR = tmp_path
    (tmp_path / "secret_key").write_text("from-the-file")
    (secret,) = [k for k in manifest.key_locations() if k["name"] == "secret key"]
    assert secret["file"] == str(tmp_path / "secret_key")
    assert "from-the-file" not in str(manifest.key_locations())
