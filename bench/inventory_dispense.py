"""Controlled-substance ledger: sustained dispense throughput with concurrent workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/inventory_dispense.py [--workers 8] [--seconds 12] [--rounds 3]

PostgreSQL only (the point is row-lock contention between connections): a separate database,
``ketacare_bench_inventory``, is created on the server named by DATABASE_URL and dropped at the
end. The real data directory is never touched: KETACARE_DATA_DIR and SECRET_KEY are throwaways.

N workers (processes by default, each with its own connection; --threads for threads in one
process) call ``ketacare.inventory.actions.dispense`` back to back for a fixed time, released
together by a barrier: (a) all on one hot lot, (b) spread over 100 lots of the same
registration, (c) for context, one registration per worker; (a') is (a) with one worker
alone, the latency without contention. The references, measured in the same run by the same
workers: (r1) a ``SELECT 1`` round trip, (r2) a one-row INSERT committed on its own, (r3) the
same INSERT in a transaction that first updates one shared row (a minimal write that every
worker queues for, as every dispense queues for its registration's row and for the audit
chain head). Ratios are to (r2). The time is split into rounds that take the scenarios in a
new random order each time.

At the end: every balance is >= 0 and equal to the sum of its entries, the dispense entries
number what the workers counted, and ``verify()`` finds nothing; "invariant violations" counts
what does not hold. Informational only: the exit status is 0 unless something crashes or an
invariant is violated, never because of timing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from djangobench import cpu_model, run_isolated

BENCH_DB_NAME = "ketacare_bench_inventory"
SPREAD_LOTS = 100
UNITS = "1"  # mL per dispense (50 mg of a 50 mg/mL vial)
DOSE_MG = "35"

SCENARIOS = ("select1", "insert", "locked_insert", "alone", "hot", "spread", "per_registration")
REFERENCE = "insert"
LABELS = {
    "select1": "(r1) SELECT 1 round trip",
    "insert": "(r2) one-row INSERT, autocommit (reference)",
    "locked_insert": "(r3) UPDATE one shared row + INSERT, 1 txn",
    "alone": "(a') dispense, hot lot, 1 worker alone",
    "hot": "(a) dispense, one hot lot",
    "spread": f"(b) dispense, spread over {SPREAD_LOTS} lots",
    "per_registration": "(c) dispense, one registration per worker",
}
DISPENSES = ("alone", "hot", "spread", "per_registration")


@dataclass
class Plan:
    """Ids the workers need; plain data, so it crosses into worker processes."""

    clinic: int
    nurse: int
    patient: int
    registration: int
    safe: int
    hot_lot: int
    spread_lots: list[int]
    # worker index -> (registration, location, lot) for scenario (c)
    own: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass
class Outcome:
    ops: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    finished: float = 0.0


# --- setup -----------------------------------------------------------------------------------


def dea_number(serial: int) -> str:
    """A well-formed DEA number (check digit computed) for the n-th bench registration."""
    digits = [int(c) for c in f"{100000 + serial:06d}"[-6:]]
    check = (digits[0] + digits[2] + digits[4] + 2 * (digits[1] + digits[3] + digits[5])) % 10
    return "BK" + "".join(map(str, digits)) + str(check)


def seed(workers: int) -> tuple[Plan, float]:
    from decimal import Decimal

    from django.db import connection
    from django.utils import timezone

    from ketacare.accounts.actions import create_clinic, create_staff
    from ketacare.accounts.permissions import Role
    from ketacare.actor import SYSTEM, Actor
    from ketacare.inventory import actions
    from ketacare.patients import actions as patient_actions
    from ketacare.patients.models import Patient

    started = time.perf_counter()
    clinic = create_clinic(SYSTEM, "Benchmark Ketamine Clinic")
    admin_user, nurse = (
        create_staff(
            SYSTEM,
            clinic=clinic,
            username=f"bench.{role}",
            password=secrets.token_urlsafe(24),
            role=role,
            first_name="Bench",
            last_name=role.label,
        )
        for role in (Role.CLINIC_ADMIN, Role.NURSE)
    )
    admin = Actor(user=admin_user, role=Role.CLINIC_ADMIN, clinic=clinic, ip="127.0.0.1")
    who = Actor(user=nurse, role=Role.NURSE, clinic=clinic, ip="127.0.0.1")
    patient = patient_actions.create_patient(
        who,
        {
            "given_name": "Maren",
            "family_name": "Sørensen",
            "date_of_birth": date(1981, 4, 17),
            "sex_at_birth": Patient.SexAtBirth.FEMALE,
        },
    )
    product = actions.add_product(
        admin,
        ndc="00000-0042-01",
        name="Ketamine HCl 50 mg/mL, 10 mL vial (bench NDC)",
        drug="racemic_ketamine",
        form="vial",
        mg_per_unit=Decimal(50),
        unit="mL",
        units_per_package=Decimal(10),
    )
    expires = timezone.localdate() + timedelta(days=365)

    def registration_with_stock(serial: int, lots: list[tuple[str, str]]):
        registration = actions.create_registration(
            admin, dea_number(serial), f"Bench registrant {serial}", "1 Bench St"
        )
        safe = actions.add_location(admin, registration.pk, "Main safe", "safe")
        ids = []
        for number, units in lots:
            entry = actions.receive(
                who,
                registration.pk,
                product_id=product.pk,
                lot_number=number,
                expires_on=expires,
                location_id=safe.pk,
                units=units,
                supplier="Acme Pharma",
                invoice=f"INV-{serial}-{number}",
            )
            ids.append(entry.lot_id)
        return registration, safe, ids

    # Enough stock that no scenario runs out: a million mL on the hot lot, 100,000 on each other.
    main, safe, lots = registration_with_stock(
        0, [("HOT", "1000000"), *((f"S{i:03d}", "100000") for i in range(SPREAD_LOTS))]
    )
    plan = Plan(
        clinic=clinic.pk,
        nurse=nurse.pk,
        patient=patient.pk,
        registration=main.pk,
        safe=safe.pk,
        hot_lot=lots[0],
        spread_lots=lots[1:],
    )
    for worker in range(workers):
        registration, place, (lot,) = registration_with_stock(worker + 1, [("OWN", "1000000")])
        plan.own.append((registration.pk, place.pk, lot))

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_ref_insert (id bigserial PRIMARY KEY, worker int)")
        cursor.execute("CREATE TABLE bench_ref_lock (id int PRIMARY KEY, n bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_ref_lock VALUES (1, 0)")
        cursor.execute("VACUUM ANALYZE")
    return plan, time.perf_counter() - started


# --- workers ---------------------------------------------------------------------------------


def operation(scenario: str, plan: Plan, worker: int, rng: random.Random):
    """The timed call of one worker in one scenario, ready to run in that worker."""
    from django.db import connection, transaction

    from ketacare.accounts.models import Clinic, User
    from ketacare.accounts.permissions import Role
    from ketacare.actor import Actor
    from ketacare.inventory import actions

    if scenario == "select1":

        def select1() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()

        return select1
    if scenario == "insert":

        def insert() -> None:
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO bench_ref_insert (worker) VALUES (%s)", [worker])

        return insert
    if scenario == "locked_insert":

        def locked_insert() -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("UPDATE bench_ref_lock SET n = n + 1 WHERE id = 1")
                cursor.execute("INSERT INTO bench_ref_insert (worker) VALUES (%s)", [worker])

        return locked_insert

    who = Actor(
        user=User.objects.get(pk=plan.nurse),
        role=Role.NURSE,
        clinic=Clinic.objects.get(pk=plan.clinic),
        ip="127.0.0.1",
    )

    def dispense(registration: int, location: int, lot: int) -> None:
        actions.dispense(
            who,
            registration,
            lot_id=lot,
            location_id=location,
            units=UNITS,
            patient_id=plan.patient,
            dose_mg=DOSE_MG,
        )

    if scenario in ("hot", "alone"):
        return lambda: dispense(plan.registration, plan.safe, plan.hot_lot)
    if scenario == "spread":
        return lambda: dispense(plan.registration, plan.safe, rng.choice(plan.spread_lots))
    assert scenario == "per_registration"
    registration, location, lot = plan.own[worker % len(plan.own)]
    return lambda: dispense(registration, location, lot)


def work(scenario: str, plan: Plan, worker: int, seconds: float, start: Any) -> Outcome:
    """One worker: connect and warm up, wait for the others, then call the operation until
    the time is up. Errors are counted, not raised: a refused dispense is a finding."""
    from django.db import connections

    outcome = Outcome()
    try:
        op = operation(scenario, plan, worker, random.Random(worker))
        for _ in range(3):  # connection, statement caches, imports: not timed
            op()
        start.wait()
        outcome.started = time.monotonic()
        deadline = outcome.started + seconds
        while time.monotonic() < deadline:
            began = time.perf_counter_ns()
            try:
                op()
            except Exception as problem:
                outcome.errors[f"{type(problem).__name__}: {str(problem)[:80]}"] += 1
                continue
            outcome.latencies_ns.append(time.perf_counter_ns() - began)
            outcome.ops += 1
        outcome.finished = time.monotonic()
    finally:
        connections.close_all()
    return outcome


def _process_entry(scenario, plan, worker, seconds, start, results) -> None:
    try:
        results.put((worker, work(scenario, plan, worker, seconds, start)))
    except BaseException as problem:
        results.put((worker, problem))
        raise


def run_scenario(scenario: str, plan: Plan, workers: int, seconds: float, threads: bool):
    from django.db import connection, connections

    # The rows every writer updates (registration heads, the audit chain head, balances) were
    # rewritten thousands of times by the scenario before; start each one from a clean table.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connections.close_all()  # nothing open for a forked worker to inherit
    if threads:
        start = threading.Barrier(workers, timeout=120)
        outcomes: list[Any] = [None] * workers

        def run(i: int) -> None:
            try:
                outcomes[i] = work(scenario, plan, i, seconds, start)
            except BaseException as problem:
                outcomes[i] = problem
                start.abort()

        pool = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    else:
        context = multiprocessing.get_context("fork")
        start = context.Barrier(workers, timeout=120)
        results = context.Queue()
        pool = [
            context.Process(
                target=_process_entry, args=(scenario, plan, i, seconds, start, results)
            )
            for i in range(workers)
        ]
        for process in pool:
            process.start()
        received = dict(results.get(timeout=seconds + 300) for _ in pool)
        for process in pool:
            process.join()
        outcomes = [received[i] for i in range(workers)]
    failed = [o for o in outcomes if not isinstance(o, Outcome)]
    if failed:
        raise RuntimeError(f"{scenario}: a worker crashed: {failed[0]!r}")
    return outcomes


# --- report ----------------------------------------------------------------------------------


@dataclass
class Result:
    ops: int
    seconds: float
    latencies_ms: list[float]
    errors: Counter[str]

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def combine(rounds: list[list[Outcome]]) -> Result:
    """All rounds of one scenario: operations and latencies pooled, time summed (each
    round from the first worker's start to the last one's end)."""
    errors: Counter[str] = Counter()
    outcomes = [o for outcomes in rounds for o in outcomes]
    for outcome in outcomes:
        errors.update(outcome.errors)
    return Result(
        ops=sum(o.ops for o in outcomes),
        seconds=sum(
            max(o.finished for o in outcomes) - min(o.started for o in outcomes)
            for outcomes in rounds
        ),
        latencies_ms=[ns / 1e6 for o in outcomes for ns in o.latencies_ns],
        errors=errors,
    )


def queries_per_dispense(plan: Plan) -> tuple[int, int]:
    """SQL statements (and writes) of one dispense, counted in an untimed call."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    op = operation("hot", plan, 0, random.Random(0))
    with CaptureQueriesContext(connection) as captured:
        op()
    statements = [q["sql"].lstrip().split(None, 1)[0].upper() for q in captured.captured_queries]
    writes = sum(1 for s in statements if s in ("INSERT", "UPDATE", "DELETE"))
    return len(statements), writes


def check_invariants(plan: Plan, dispensed: int) -> list[str]:
    """What does not hold: negative balances, balances not equal to their entries, a count of
    dispense entries other than the workers', and anything verify() reports."""
    from ketacare.inventory.chain import ledger_sums, verify
    from ketacare.inventory.models import LedgerEntry, Registration, StockBalance

    violations = []
    registrations = list(Registration.objects.order_by("pk"))
    for registration in registrations:
        sums = ledger_sums(registration)
        stored = {
            (b.lot_id, b.location_id): b.quantity_units
            for b in StockBalance.objects.filter(lot__registration=registration)
        }
        for key in sorted(set(sums) | set(stored)):
            held = stored.get(key, 0)
            if held < 0:
                violations.append(f"{registration.dea_number}: negative balance at {key}: {held}")
            if held != sums.get(key, 0):
                violations.append(
                    f"{registration.dea_number}: balance at {key} is {held}, "
                    f"entries add up to {sums.get(key, 0)}"
                )
    entries = LedgerEntry.objects.filter(kind="dispense").count()
    if entries != dispensed:
        violations.append(f"{entries} dispense entries, the workers counted {dispensed}")
    violations += [f"{p.registration.dea_number}: {p.message}" for p in verify(registrations)]
    return violations


def database_info() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('synchronous_commit')")
        version, synchronous_commit = cursor.fetchone()
    return f"{version.split(' on ')[0]}, synchronous_commit={synchronous_commit}"


def print_report(results: dict[str, Result], args, seed_seconds: float, queries) -> None:
    import django

    print("\nketacare inventory dispense benchmark")
    print("=" * 72)
    print(f"platform:  {platform.platform()} ({platform.machine()})")
    print(f"cpu:       {cpu_model()}, {os.cpu_count()} logical CPUs (shared with the server)")
    print(f"python:    {platform.python_implementation()} {platform.python_version()}")
    print(f"django:    {django.get_version()}")
    print(f"database:  {database_info()}")
    print(
        f"workers:   {args.workers} {'threads (one process)' if args.threads else 'processes'}, "
        f"each with its own connection, released together; {args.seconds:g} s per scenario "
        f"in {args.rounds} rounds, each in a new random order"
    )
    print(
        f"seeded:    {1 + args.workers} registrations, {SPREAD_LOTS + 1 + args.workers} lots "
        f"in {seed_seconds:.1f} s; each dispense takes {UNITS} mL ({DOSE_MG} mg dose) "
        f"and writes one ledger entry and one audit event"
    )
    statements, writes = queries
    print(f"queries:   {statements} SQL statements per dispense, {writes} of them writes")

    reference = results[REFERENCE]
    header = (
        f"{'scenario':<44} {'ops':>7} {'ops/s':>8} {'p50':>8} {'p95':>8} {'p99':>8} "
        f"{'ops/s÷r2':>9} {'p50÷r2':>7}"
    )
    print(f"\n{header}\n{'-' * len(header)}")
    for name in SCENARIOS:
        r = results[name]
        print(
            f"{LABELS[name]:<44} {r.ops:>7} {r.rate:>8.0f} {r.percentile(50):>6.2f}ms "
            f"{r.percentile(95):>6.2f}ms {r.percentile(99):>6.2f}ms "
            f"{r.rate / reference.rate:>8.2f}x {r.percentile(50) / reference.percentile(50):>6.1f}x"
        )
    print(
        "\nops/s: completed operations (for a dispense: ledger entries) per second over the\n"
        "scenario's wall-clock time, all workers together. p50/p95/p99: latency of one call.\n"
        "Ratios: to the one-row INSERT (r2); p50÷r2 is how many bare commits one call costs."
    )
    for name in SCENARIOS:
        for error, count in results[name].errors.most_common(5):
            print(f"  {LABELS[name]}: {count} x {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8, help="concurrent workers")
    parser.add_argument(
        "--seconds", type=float, default=12.0, help="time per scenario, all rounds together"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds, each scenario in a new random order"
    )
    parser.add_argument("--seed", type=int, default=20261129, help="random seed")
    parser.add_argument(
        "--threads", action="store_true", help="threads in one process instead of processes"
    )
    args = parser.parse_args(argv)
    if args.workers < 1 or args.seconds <= 0 or args.rounds < 1:
        parser.error("--workers, --seconds and --rounds must be positive")
    if not os.environ.get("DATABASE_URL", "").strip():
        parser.error("set DATABASE_URL to a PostgreSQL server: this benchmark measures row locks")
    return run_isolated(BENCH_DB_NAME, parser, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    print("migrating and seeding ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    plan, seed_seconds = seed(args.workers)
    queries = queries_per_dispense(plan)
    dispensed = 1  # the one counted above

    rng = random.Random(args.seed)
    rounds: dict[str, list[list[Outcome]]] = {name: [] for name in SCENARIOS}
    for number in range(args.rounds):
        # A new random order each round, so that a slower moment of a shared machine does not
        # land on one scenario only.
        order = rng.sample(SCENARIOS, len(SCENARIOS))
        print(f"round {number + 1}/{args.rounds}: {', '.join(order)} ...", flush=True)
        for name in order:
            workers = 1 if name == "alone" else args.workers
            seconds = args.seconds / args.rounds
            rounds[name].append(run_scenario(name, plan, workers, seconds, args.threads))
            if name in DISPENSES:
                dispensed += 3 * workers  # each worker's warm-up calls
    results = {name: combine(rounds[name]) for name in SCENARIOS}
    dispensed += sum(results[name].ops for name in DISPENSES)
    print_report(results, args, seed_seconds, queries)

    violations = check_invariants(plan, dispensed)
    print(
        "\ninvariants: every balance >= 0 and equal to its entries; dispense entries = "
        "dispenses the workers completed; verify() clean"
    )
    for violation in violations[:20]:
        print(f"  {violation}")
    print(f"invariant violations: {len(violations)}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
