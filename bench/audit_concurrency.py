"""Audited chart views with concurrent clients: one audit chain for everyone vs one per clinic.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/audit_concurrency.py [--workers 20] [--seconds 15] [--rounds 3]

PostgreSQL only (the point is the row lock every audit write takes on its chain's head): a
separate database, ``ketacare_bench_audit``, is created on the server named by DATABASE_URL and
dropped at the end. The real data directory is never touched: KETACARE_DATA_DIR, SECRET_KEY and
the audit key are throwaways.

N workers (processes, each with its own connection, released together by a barrier) view
patient charts back to back for a fixed time. Each view writes one audit event, on the chain of
the viewer's clinic. Two kinds of view, each at three spreads of clinics:

- "record": ``audit.record.record(actor, Action.VIEW, obj=patient, patient=patient)``, what the
  chart view does to the audit chain, alone;
- "page": ``GET /patients/<pk>/`` through ``django.test.Client`` (full middleware, signed-in
  nurse of that clinic, template rendered), which calls the same ``record``;

(a) all workers at one clinic — every write on one chain, which is what every view of every
clinic did when the installation had a single chain; (b) workers spread over --clinics
clinics; (c) one clinic per worker. (a') is (a) with one worker alone. The reference, measured
in the same run by the same workers: (r) the bare view (a constant response) behind the same
middleware and session, which writes no audit event. Ratios are to (a) of the same kind — how
many times more views per second the spread clinics get than one clinic does — and to (r).

Run it on an older checkout too (``PYTHONPATH=<old>/src``): with one chain for the whole
installation, (b) and (c) queue for the same lock as (a). The report says which layout the
code under test has. Informational only: the exit status is 0 unless something crashes or the
audit chain fails to verify afterwards, never because of timing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from djangobench import cpu_model, run_isolated

BENCH_DB_NAME = "ketacare_bench_audit"

KINDS = ("record", "page")
SPREADS = ("alone", "one", "spread", "each")
SCENARIOS = ("bare", *(f"{kind}_{spread}" for kind in KINDS for spread in SPREADS))


def label(scenario: str, clinics: int, workers: int) -> str:
    if scenario == "bare":
        return "(r) bare view, no audit write"
    kind, spread = scenario.split("_")
    return {
        "alone": f"(a') {kind}, 1 worker alone",
        "one": f"(a) {kind}, all at 1 clinic",
        "spread": f"(b) {kind}, over {clinics} clinics",
        "each": f"(c) {kind}, {workers} clinics, 1 each",
    }[spread]


@dataclass
class Seat:
    """What one worker uses in one spread: its clinic's nurse and a patient there."""

    clinic: int
    nurse: int
    patient: int


@dataclass
class Plan:
    """Plain ids, so that it crosses into forked workers. seats[i]: clinic i's nurse and
    patient; a worker w sits at seats[0] (one), seats[w % clinics] (spread), seats[w] (each)."""

    seats: list[Seat]
    clinics: int

    def seat(self, spread: str, worker: int) -> Seat:
        if spread in ("one", "alone"):
            return self.seats[0]
        if spread == "spread":
            return self.seats[worker % self.clinics]
        return self.seats[worker]


@dataclass
class Outcome:
    ops: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    finished: float = 0.0


# --- setup -----------------------------------------------------------------------------------


def seed(clinics: int) -> tuple[Plan, float]:
    from ketacare.accounts.actions import create_clinic, create_staff
    from ketacare.accounts.permissions import Role
    from ketacare.actor import SYSTEM, Actor
    from ketacare.patients import actions as patient_actions
    from ketacare.patients.models import Patient

    started = time.perf_counter()
    seats = []
    for number in range(clinics):
        clinic = create_clinic(SYSTEM, f"Benchmark Clinic {number + 1:02d}")
        nurse = create_staff(
            SYSTEM,
            clinic=clinic,
            username=f"bench.nurse.{number + 1:02d}",
            password=secrets.token_urlsafe(24),
            role=Role.NURSE,
            first_name="Bench",
            last_name=f"Nurse {number + 1}",
        )
        patient = patient_actions.create_patient(
            Actor(user=nurse, role=Role.NURSE, clinic=clinic, ip="127.0.0.1"),
            {
                "given_name": "Maren",
                "family_name": f"Sørensen-{number + 1}",
                "date_of_birth": date(1981, 4, 17),
                "sex_at_birth": Patient.SexAtBirth.FEMALE,
            },
        )
        seats.append(Seat(clinic.pk, nurse.pk, patient.pk))
    return Plan(seats, clinics), time.perf_counter() - started


def chain_layout() -> str:
    from ketacare.audit.models import ChainHead

    heads = ChainHead.objects.count()
    if heads == 1:
        return "one audit chain for the whole installation (one head row, locked by every write)"
    return f"one audit chain per clinic ({heads} chain heads, the installation's included)"


# --- workers ---------------------------------------------------------------------------------


def operation(scenario: str, plan: Plan, worker: int):
    """The timed call of one worker in one scenario, ready to run in that worker."""
    from django.test import Client
    from django.urls import reverse

    from ketacare.accounts.models import Clinic, User
    from ketacare.accounts.permissions import Role
    from ketacare.actor import Actor
    from ketacare.audit.record import Action, record
    from ketacare.patients.models import Patient

    spread = "one" if scenario == "bare" else scenario.split("_")[1]
    seat = plan.seat(spread, worker)
    nurse = User.objects.get(pk=seat.nurse)
    if scenario == "bare" or scenario.startswith("page_"):
        client = Client()
        client.force_login(nurse)
        url = reverse("bench-bare") if scenario == "bare" else f"/patients/{seat.patient}/"

        def view() -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code} from {url}")

        return view
    who = Actor(
        user=nurse, role=Role.NURSE, clinic=Clinic.objects.get(pk=seat.clinic), ip="127.0.0.1"
    )
    patient = Patient.objects.get(pk=seat.patient)
    return lambda: record(who, Action.VIEW, obj=patient, patient=patient)


def work(scenario: str, plan: Plan, worker: int, seconds: float, start: Any) -> Outcome:
    """One worker: connect and warm up, wait for the others, then view until the time is up.
    Errors are counted, not raised."""
    from django.db import connections

    outcome = Outcome()
    try:
        op = operation(scenario, plan, worker)
        for _ in range(3):  # connection, sessions, template caches, imports: not timed
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


def run_scenario(scenario: str, plan: Plan, workers: int, seconds: float) -> list[Outcome]:
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the head rows were rewritten thousands of times
    connections.close_all()  # nothing open for a forked worker to inherit
    context = multiprocessing.get_context("fork")
    start = context.Barrier(workers, timeout=120)
    results = context.Queue()
    pool = [
        context.Process(target=_process_entry, args=(scenario, plan, i, seconds, start, results))
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
    """All rounds of one scenario: views and latencies pooled, time summed (each round from
    the first worker's start to the last one's end)."""
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


def database_info() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('synchronous_commit')")
        version, synchronous_commit = cursor.fetchone()
    return f"{version.split(' on ')[0]}, synchronous_commit={synchronous_commit}"


def print_report(results: dict[str, Result], args, seed_seconds: float, layout: str) -> None:
    import django

    print("\nketacare audited chart views, concurrent clients")
    print("=" * 78)
    print(f"platform:  {platform.platform()} ({platform.machine()})")
    print(f"cpu:       {cpu_model()}, {os.cpu_count()} logical CPUs (shared with the server)")
    print(f"python:    {platform.python_implementation()} {platform.python_version()}")
    print(f"django:    {django.get_version()}")
    print(f"database:  {database_info()}")
    print(f"code:      {layout}")
    print(
        f"workers:   {args.workers} processes, each with its own connection, released "
        f"together; {args.seconds:g} s per scenario in {args.rounds} rounds, each in a new "
        "random order"
    )
    print(f"seeded:    {args.workers} clinics, a nurse and a patient each, in {seed_seconds:.1f} s")

    bare = results["bare"]
    header = (
        f"{'scenario':<36} {'views':>7} {'views/s':>8} {'p50':>8} {'p95':>8} {'p99':>8} "
        f"{'÷(a)':>6} {'÷(r)':>6}"
    )
    print(f"\n{header}\n{'-' * len(header)}")
    for name in SCENARIOS:
        r = results[name]
        same_kind = results[f"{name.split('_')[0]}_one"] if name != "bare" else r
        print(
            f"{label(name, args.clinics, args.workers):<36} {r.ops:>7} {r.rate:>8.0f} "
            f"{r.percentile(50):>6.2f}ms {r.percentile(95):>6.2f}ms {r.percentile(99):>6.2f}ms "
            f"{r.rate / same_kind.rate:>5.2f}x {r.rate / bare.rate:>5.2f}x"
        )
    print(
        "\nviews/s: audited views completed per second over the scenario's wall-clock time, all\n"
        "workers together. p50/p95/p99: latency of one view. ÷(a): views/s as a multiple of (a)\n"
        "of the same kind (all workers at one clinic, on one chain); ÷(r): as a multiple of the\n"
        "bare view's views/s."
    )
    for name in SCENARIOS:
        for error, count in results[name].errors.most_common(5):
            print(f"  {label(name, args.clinics, args.workers)}: {count} x {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=20, help="concurrent clients")
    parser.add_argument("--clinics", type=int, default=5, help="clinics in scenario (b)")
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="time per scenario, all rounds together"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds, each scenario in a new random order"
    )
    parser.add_argument("--seed", type=int, default=20261206, help="random seed (the order)")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.seconds <= 0 or args.rounds < 1:
        parser.error("--workers, --seconds and --rounds must be positive")
    if not 1 <= args.clinics <= args.workers:
        parser.error("--clinics must be between 1 and --workers")
    if not os.environ.get("DATABASE_URL", "").strip():
        parser.error("set DATABASE_URL to a PostgreSQL server: this benchmark measures row locks")
    # A throwaway audit key for the throwaway data directory (the code under test may ignore it).
    os.environ["KETACARE_AUDIT_KEY"] = "bench-only-" + secrets.token_urlsafe(32)
    return run_isolated(BENCH_DB_NAME, parser, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    from ketacare.audit.verify import verify_chain

    print("migrating and seeding ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    plan, seed_seconds = seed(args.workers)
    plan.clinics = args.clinics
    layout = chain_layout()

    rng = random.Random(args.seed)
    rounds: dict[str, list[list[Outcome]]] = {name: [] for name in SCENARIOS}
    for number in range(args.rounds):
        # A new random order each round, so that a slower moment of a shared machine does not
        # land on one scenario only.
        order = rng.sample(SCENARIOS, len(SCENARIOS))
        print(f"round {number + 1}/{args.rounds}: {', '.join(order)} ...", flush=True)
        for name in order:
            workers = 1 if name.endswith("_alone") else args.workers
            rounds[name].append(run_scenario(name, plan, workers, args.seconds / args.rounds))
    results = {name: combine(rounds[name]) for name in SCENARIOS}
    print_report(results, args, seed_seconds, layout)

    verdict = verify_chain()
    print(f"\nafterwards: {verdict.message}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
