"""`ketacare backup` (pg_dump) and `ketacare restore` (pg_restore) on PostgreSQL: the demo,
backed up from the test database, restored into an empty database of its own, verifies and
holds what the original held."""

import os
import shutil
from pathlib import Path
from urllib.parse import quote

import dj_database_url
import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from ketacare.web.demo_data import seed_demo
from tests.web.test_demo import run

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only: runs in the PostgreSQL pass (DATABASE_URL=postgres://…)",
)


def url(settings: dict, name: str) -> str:
    auth = ""
    if settings.get("USER"):
        password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
        auth = f"{quote(settings['USER'])}{password}@"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{auth}{settings.get('HOST') or ''}{port}/{name}"


def server(settings: dict) -> psycopg.Connection:
    return psycopg.connect(
        host=settings.get("HOST") or None,
        port=settings.get("PORT") or None,
        user=settings.get("USER") or None,
        password=settings.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


def table_counts(conninfo: str) -> dict[str, int]:
    with psycopg.connect(conninfo) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        query = "SELECT COUNT(*) FROM {}"
        return {
            t: db.execute(sql.SQL(query).format(sql.Identifier(t))).fetchone()[0] for t in tables
        }


@pytest.fixture
def empty_database(transactional_db):
    """A new, empty database beside the test database, named after DATABASE_URL's database
    so that two runs against one server (two branches, CI) do not collide."""
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore not installed: apt-get install postgresql-client")
    settings = connection.settings_dict
    name = f"{dj_database_url.parse(os.environ['DATABASE_URL'])['NAME']}_backup_restored"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with server(settings) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url(settings, name)
    with server(settings) as admin:
        admin.execute(drop)


def test_a_pg_dump_backup_of_the_demo_restores_into_an_empty_database(empty_database, tmp_path):
    seed_demo(patient_count=6)
    source = url(connection.settings_dict, connection.settings_dict["NAME"])
    # The commands get the keys this process wrote the demo with (once chains are keyed), and
    # as their data directory the one holding this process's checkpoints.
    keys = {"SECRET_KEY": "pg-backup-test-key"}
    if getattr(settings, "KETACARE_AUDIT_KEY", None):
        keys["KETACARE_AUDIT_KEY"] = settings.KETACARE_AUDIT_KEY
    served = Path(getattr(settings, "KETACARE_CHECKPOINT_DIR", tmp_path / "checkpoints")).parent
    backups = tmp_path / "backups"
    made = run(
        "backup", "--to", str(backups), data_dir=served, env={**keys, "DATABASE_URL": source}
    )
    assert made.returncode == 0, made.stderr
    (backup,) = [p for p in backups.iterdir() if p.name.startswith("ketacare-")]
    assert (backup / "database.pgdump").read_bytes().startswith(b"PGDMP")

    into = {**keys, "DATABASE_URL": empty_database}
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    restored = run("restore", str(backup), data_dir=restored_dir, env=into)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert "Audit chain intact" in restored.stdout and "Ledger intact" in restored.stdout
    for command in (("audit", "verify"), ("inventory", "verify")):
        verdict = run(*command, data_dir=restored_dir, env=into)
        assert verdict.returncode == 0, verdict.stderr
    counts = table_counts(empty_database)
    assert counts == table_counts(source)
    assert counts["audit_auditevent"] > 100 and counts["inventory_ledgerentry"] > 10

    again = run("restore", str(backup), data_dir=restored_dir, env=into)
    assert again.returncode != 0
    assert "already holds data" in again.stderr and "Traceback" not in again.stderr
    assert table_counts(empty_database) == counts
