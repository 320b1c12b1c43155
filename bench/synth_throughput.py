"""The synthetic clinic generator (``ketacare synth``): patients per second through the actions
and through the bulk path, against references measured in the same run.

    .venv/bin/python bench/synth_throughput.py [--patients 200,1000] [--paths actions,bulk]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/synth_throughput.py

Each (path, N) runs in its own process against a fresh database: a temporary SQLite file, or
with a PostgreSQL DATABASE_URL a separate database ``ketacare_bench_synth`` created on that
server and dropped afterwards. The data directory and key are throwaways.

References, in every run's process before the synth: (r1) one small audited action,
``patients.record_measurement`` in its own transaction, ms per call; (r2) a plain
``executemany`` INSERT of 20,000 three-column rows into a scratch table, µs per row.
The actions path is compared with (r1) per step (a step is one resumption of a course: one
to a few actions); the bulk path with (r2) per row written. The bulk path writes from a
forked process (``writer="auto"``); "write s" is the time that process spent writing batches,
which overlaps with the simulation.

Informational only: the exit status is 0 unless something crashes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from djangobench import cpu_model, run_isolated

BENCH_DB_NAME = "ketacare_bench_synth"
END = date(2026, 6, 1)  # fixed, so that runs on different days make the same program


def _references() -> dict[str, float]:
    from django.db import connection, transaction

    from ketacare.accounts.actions import create_clinic, create_staff
    from ketacare.accounts.permissions import Role
    from ketacare.actor import SYSTEM, Actor
    from ketacare.patients import actions as patients

    clinic = create_clinic(SYSTEM, "Reference clinic")
    nurse = create_staff(
        SYSTEM,
        clinic=clinic,
        username="reference.nurse",
        password="bench-only-unshown-passphrase-1",
        role=Role.NURSE,
    )
    actor = Actor(user=nurse, role="nurse", clinic=clinic, ip="127.0.0.1")
    patient = patients.create_patient(
        actor,
        {"given_name": "Ref", "family_name": "Erence", "date_of_birth": date(1980, 1, 1),
         "sex_at_birth": "female"},
    )  # fmt: skip
    calls = 300
    started = time.perf_counter()
    for _ in range(calls):
        patients.record_measurement(actor, patient, date(2026, 1, 1), Decimal("70.0"), None)
    action_ms = (time.perf_counter() - started) * 1000 / calls
    rows = [(i, f"row {i}", i * 0.5) for i in range(20_000)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_scratch (a integer, b varchar(20), c real)")
        started = time.perf_counter()
        cursor.executemany("INSERT INTO bench_scratch (a, b, c) VALUES (%s, %s, %s)", rows)
        insert_us = (time.perf_counter() - started) * 1e6 / len(rows)
        cursor.execute("DROP TABLE bench_scratch")
    return {"action_ms": action_ms, "insert_us": insert_us}


def _rows() -> int:
    from django.apps import apps

    return sum(model._base_manager.count() for model in apps.get_models())


def _one(path: str, patients: int) -> int:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    references = _references()
    from ketacare.dev.synth import SynthParams, synthesize

    before = _rows()
    report = synthesize(
        SynthParams(patients=patients, seed=1, end=END, clinic="Bench clinic"),
        bulk=path == "bulk",
    )
    print(
        json.dumps(
            {
                "path": path,
                "patients": patients,
                "seconds": report.seconds,
                "steps": report.steps,
                "sessions": report.sessions,
                "rows": _rows() - before,
                "write_seconds": report.write_seconds,
                **references,
            }
        )
    )
    return 0


def _table(results: list[dict[str, Any]]) -> None:
    print(
        f"{'path':8} {'N':>7} {'seconds':>9} {'write s':>8} {'patients/s':>11} {'steps':>9} "
        f"{'rows':>10} {'ms/step':>8} {'vs (r1)':>8} {'µs/row':>7} {'vs (r2)':>8} "
        f"{'100k est.':>10}"
    )
    for r in results:
        ms_step = r["seconds"] * 1000 / r["steps"]
        us_row = r["seconds"] * 1e6 / r["rows"]
        rate = r["patients"] / r["seconds"]
        print(
            f"{r['path']:8} {r['patients']:>7} {r['seconds']:>9.1f} "
            f"{r.get('write_seconds', 0):>8.1f} {rate:>11.1f} "
            f"{r['steps']:>9} {r['rows']:>10} {ms_step:>8.3f} "
            f"{ms_step / r['action_ms']:>7.2f}× {us_row:>7.1f} {us_row / r['insert_us']:>7.1f}× "
            f"{100_000 / rate / 60:>8.0f} min"
        )
    if results:
        r = results[0]
        print(
            f"(r1) record_measurement: {r['action_ms']:.2f} ms per call; "
            f"(r2) executemany INSERT: {r['insert_us']:.1f} µs per row (first run's process)."
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", default="200,1000", help="Comma-separated N values.")
    parser.add_argument("--paths", default="actions,bulk", help="actions, bulk or both.")
    parser.add_argument("--one", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        path, n = args.one
        return run_isolated(BENCH_DB_NAME, parser, lambda: _one(path, int(n)))
    database = os.environ.get("DATABASE_URL", "").strip()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"Database: {'PostgreSQL (' + BENCH_DB_NAME + ')' if database else 'SQLite (temp file)'}")
    results = []
    for path in args.paths.split(","):
        for n in (int(v) for v in args.patients.split(",")):
            script = Path(__file__).resolve()
            run = subprocess.run(  # noqa: S603
                [sys.executable, str(script), "--one", path, str(n)],
                capture_output=True,
                text=True,
                check=False,
            )
            lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
            if run.returncode or not lines:
                print(f"{path} N={n} failed:\n{run.stderr[-2000:]}")
                continue
            results.append(json.loads(lines[-1]))
            print(f"  done: {path} N={n}", flush=True)
    _table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
