"""Multiply a synthetic registry in place: every patient of the report's tables copied
``--times - 1`` more times into the same clinic, with new ids, so that the report can be
timed on 100,000 patients from a 10,000-patient clinic in minutes instead of the hour
``ketacare synth --patients 100000`` takes on a busy 2-core machine.

    .venv/bin/python bench/registry_replicate.py DATABASE_URL --times 10

The copies have the same rows (new ids, the same times and scores, MRNs suffixed), so every
rate the report computes is unchanged while every count is multiplied: a benchmark fixture
for timing, not a clinic (links, dispenses and users are not copied; foreign-key checks are
off while copying). Run it on a database made for the purpose (``ketacare synth --database``
into a new file, or ``registry_copy.py``), never on a clinic's.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from urllib.parse import urlsplit

import psycopg

# Per table, the columns that hold ids of the copied rows (shifted with the copy); every
# other column is copied as it is. MRNs are unique per clinic: suffixed.
SHIFTED = {
    "patients_patient": ("id",),
    "patients_consentrecord": ("id", "patient_id"),
    "planning_evaluation": ("id", "patient_id"),
    "planning_eligibilityoverride": ("id", "evaluation_id"),
    "planning_treatmentplan": ("id", "patient_id", "evaluation_id", "override_id"),
    "planning_plannedsession": ("id", "plan_id"),
    "treatments_treatmentsession": ("id", "patient_id", "plan_id", "planned_id", "dispense_id"),
    "treatments_sessionalert": ("id", "session_id"),
    "treatments_adverseevent": ("id", "session_id"),
    "measures_questionnaireresponse": ("id", "patient_id", "link_id"),
}
STEP = 10_000_000  # ids of copy k are the original's + k * STEP


def _columns(cursor, table: str, postgres: bool) -> list[str]:  # type: ignore[no-untyped-def]
    if postgres:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        )
        return [row[0] for row in cursor.fetchall()]
    cursor.execute(f"PRAGMA table_info({table})")
    return [row[1] for row in cursor.fetchall()]


def replicate(url: str, times: int) -> None:
    postgres = url.startswith(("postgres://", "postgresql://"))
    if postgres:
        conn: object = psycopg.connect(url)
        cursor = conn.cursor()  # type: ignore[attr-defined]
        cursor.execute("SET session_replication_role = replica")  # no FK or guard triggers
    else:
        conn = sqlite3.connect(urlsplit(url).path)
        cursor = conn.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA foreign_keys = OFF")
    for table, shifted in SHIFTED.items():
        started = time.perf_counter()
        columns = _columns(cursor, table, postgres)
        cursor.execute(f"SELECT MAX(id) FROM {table}")  # names from this file, not input
        if (cursor.fetchone()[0] or 0) >= STEP:
            raise SystemExit(f"{table} already has ids from {STEP}: replicated before?")
        for k in range(1, times):
            values = []
            for name in columns:
                if name in shifted:
                    values.append(f'"{name}" + {k * STEP}')
                elif table == "patients_patient" and name == "mrn":
                    values.append(f"mrn || '-{k}'")
                else:
                    values.append(f'"{name}"')
            quoted = ", ".join(f'"{c}"' for c in columns)
            cursor.execute(
                f"INSERT INTO {table} ({quoted}) "
                f"SELECT {', '.join(values)} FROM {table} WHERE id < {STEP}"
            )
        print(f"{table:34} x{times} {time.perf_counter() - started:7.1f} s")
    conn.commit()  # type: ignore[attr-defined]
    if postgres:
        conn.autocommit = True  # type: ignore[attr-defined]
        conn.execute("ANALYZE")  # type: ignore[attr-defined]
    conn.close()  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--times", type=int, default=10)
    args = parser.parse_args()
    replicate(args.database_url, args.times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
