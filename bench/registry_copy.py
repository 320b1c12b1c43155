"""Copy the tables the registry report reads from a SQLite database into a new PostgreSQL
database, so that ``registry_report.py --database`` can measure the same registry on both
without running ``ketacare synth`` twice (100,000 patients take the better part of an hour).

    .venv/bin/python bench/registry_copy.py SQLITE_FILE postgres://postgres@127.0.0.1:5432/NAME

The target database is created (it must not exist) and migrated with ``ketacare migrate``;
then each table below is streamed with COPY. Only these tables are copied, with the
foreign-key and append-only triggers off for the load (``session_replication_role =
replica``): the copy is a benchmark fixture, not a working clinic (no users, audit trail or
stock). Prints rows and seconds per table.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

# What ``registry.dataset.load`` reads, and the clinics.
TABLES = (
    "accounts_clinic",
    "patients_patient",
    "planning_evaluation",
    "planning_eligibilityoverride",
    "planning_treatmentplan",
    "planning_plannedsession",
    "treatments_treatmentsession",
    "treatments_sessionalert",
    "treatments_adverseevent",
    "measures_questionnaireresponse",
    "patients_consentrecord",
)


def _create(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def _migrate(url: str) -> None:
    ketacare = Path(sys.executable).with_name("ketacare")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-only-copy"}
    subprocess.run([str(ketacare), "migrate", "--verbosity=0"], env=env, check=True)  # noqa: S603


def _copy(source: sqlite3.Connection, target: psycopg.Connection, table: str) -> int:
    columns = [
        row[0]
        for row in target.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        )
    ]
    names = ", ".join(f'"{c}"' for c in columns)
    rows = source.execute(f"SELECT {names} FROM {table}")  # names from the schema
    count = 0
    with target.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sqlite_file")
    parser.add_argument("postgres_url")
    args = parser.parse_args()
    _create(args.postgres_url)
    _migrate(args.postgres_url)
    source = sqlite3.connect(f"file:{args.sqlite_file}?mode=ro", uri=True)
    with psycopg.connect(args.postgres_url) as target:
        target.execute("SET session_replication_role = replica")
        for table in TABLES:
            started = time.perf_counter()
            count = _copy(source, target, table)
            print(f"{table:34} {count:>10,} rows {time.perf_counter() - started:7.1f} s")
        target.commit()
        target.autocommit = True
        started = time.perf_counter()
        target.execute("ANALYZE")
        print(f"{'ANALYZE':34} {'':>15} {time.perf_counter() - started:7.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
