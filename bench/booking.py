"""Booking an induction series into a year of appointments, against a bare day query.

    .venv/bin/python bench/booking.py [--chairs 10] [--days 365] [--rounds 15]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/booking.py

Uses PostgreSQL when DATABASE_URL is set (a separate database, ``ketacare_bench_booking``, is
created on that server and dropped at the end), else a fresh SQLite file in a temporary
directory. The real data directory is never touched: KETACARE_DATA_DIR and SECRET_KEY are
throwaways.

A clinic open Monday to Friday 08:00-18:00 with --chairs chairs, nurses and a prescriber on
shift every open day, and --days of existing appointments (2 hours each, about --fill of the
chairs' slots). Timed, in a new random order each round: ``book_series`` on real signed plans
(6 IV infusions, 8 esketamine sessions, and an IV plan given 12 planned sessions), each in a
transaction rolled back afterwards so every round books the same series into the same book;
the pure ``propose_series`` of 12 sessions and the ``booking_context`` it reads; and the
reference, ``appointments_on(clinic, day)`` evaluated to a list. Ratios are to the reference.
SQL statements are counted with an empty book and with the year. Informational only: the exit
status is 0 unless something crashes, never because of timing.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import Any

from djangobench import cpu_model, explain, run_isolated

BENCH_DB_NAME = "ketacare_bench_booking"
OPENS, CLOSES = clock_time(8), clock_time(18)
# The filler's slots: 2 hours each with the 15 minutes of turnover the booking policy asks,
# four a day from opening (the last ends at 16:45).
SLOT_STARTS = (clock_time(8), clock_time(10, 15), clock_time(12, 30), clock_time(14, 45))
SLOT_HOURS = 2
NURSES = 3
FILLER_PATIENTS = 200
# Two sessions of IV ketamine's induction (three a week, two days apart) a week on these days.
INDUCTION_WEEKDAYS = (0, 2, 4)

SCENARIOS = ("reference", "context", "propose12", "book_iv6", "book_esk8", "book_iv12")
LABELS = {
    "reference": "(r) appointments_on(day), listed (reference)",
    "context": "(c) booking_context for the 12-session window",
    "propose12": "(p) propose_series, 12 IV sessions (pure)",
    "book_iv6": "(a) book_series: IV plan, 6 sessions",
    "book_esk8": "(b) book_series: esketamine plan, 8 sessions",
    "book_iv12": "(d) book_series: IV plan with 12 sessions",
}
BOOKINGS = ("book_iv6", "book_esk8", "book_iv12")


# --- setup -----------------------------------------------------------------------------------


@dataclass
class Clinic:
    clinic: Any
    admin: Any  # Actor
    coordinator: Any  # Actor
    coordinator_user: Any
    nurse_users: list[Any]
    plans: dict[str, int]  # scenario -> plan id
    plan_sizes: dict[str, int]
    induction: list[date]  # the 12 days of (p), Mon/Wed/Fri from the first planned day
    patient_id: int  # the patient of (p)


def _actor(user: Any, role: Any, clinic: Any) -> Any:
    from ketacare.actor import Actor

    return Actor(user=user, role=role.value, clinic=clinic, ip="127.0.0.1")


def first_day(today: date) -> date:
    """The induction's first day: the Monday at least a week ahead."""
    monday = today + timedelta(days=7 - today.weekday())
    return monday if (monday - today).days >= 7 else monday + timedelta(days=7)


def fill_range(today: date, days: int) -> tuple[date, date]:
    """The days of existing appointments: half behind today, half ahead."""
    start = today - timedelta(days=days // 2)
    return start, start + timedelta(days=days - 1)


def setup_clinic(chairs: int, days: int, password: str) -> Clinic:
    """Clinic, hours, chairs, staff, shifts and the signed plans, through the actions (shifts
    bulk-created: setup data); no appointments yet."""
    from django.test.utils import override_settings

    from ketacare.accounts.actions import create_clinic, create_staff
    from ketacare.accounts.permissions import Role
    from ketacare.actor import SYSTEM
    from ketacare.scheduling import actions
    from ketacare.scheduling.models import Capability, Shift

    clinic = create_clinic(SYSTEM, "Benchmark Ketamine Clinic")
    # Setup only: a fast hasher, so the plans' signatures do not cost Argon2 checks.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        users = {
            name: create_staff(
                SYSTEM,
                clinic=clinic,
                username=f"bench.{name}",
                password=password,
                role=role,
                first_name="Bench",
                last_name=name.title(),
            )
            for name, role in (
                ("admin", Role.CLINIC_ADMIN),
                ("coordinator", Role.COORDINATOR),
                ("prescriber", Role.PRESCRIBER),
                *((f"nurse{i}", Role.NURSE) for i in range(1, NURSES + 1)),
            )
        }
    admin = _actor(users["admin"], Role.CLINIC_ADMIN, clinic)
    actions.set_opening_hours(admin, {d: (OPENS, CLOSES) for d in range(5)})
    both = [Capability.IV_PUMP.value, Capability.NASAL_SPRAY.value]
    for i in range(1, chairs + 1):
        # Most chairs host both; one in five an infusion only, one in ten a spray only.
        capabilities = (
            [Capability.IV_PUMP.value]
            if i % 5 == 0
            else [Capability.NASAL_SPRAY.value]
            if i % 10 == 9
            else both
        )
        actions.add_chair(admin, f"Chair {i:02d}", capabilities)

    today = date.today()
    induction = [first_day(today) + timedelta(days=7 * w + d) for w in range(4) for d in (0, 2, 4)]
    first, last = fill_range(today, days)
    last = max(last, induction[-1] + timedelta(days=14))
    zone = clinic.zone
    on_site = [(users[f"nurse{i}"], Role.NURSE) for i in range(1, NURSES + 1)]
    on_site.append((users["prescriber"], Role.PRESCRIBER))
    shifts = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            for user, role in on_site:
                shifts.append(
                    Shift(
                        clinic=clinic,
                        staff=user,
                        role=role.value,
                        start=datetime.combine(day, clock_time(7, 45), tzinfo=zone),
                        end=datetime.combine(day, clock_time(18, 15), tzinfo=zone),
                        created_by=users["admin"],
                    )
                )
        day += timedelta(days=1)
    Shift.objects.bulk_create(shifts, batch_size=2000)

    seeded = Clinic(
        clinic=clinic,
        admin=admin,
        coordinator=_actor(users["coordinator"], Role.COORDINATOR, clinic),
        coordinator_user=users["coordinator"],
        nurse_users=[users[f"nurse{i}"] for i in range(1, NURSES + 1)],
        plans={},
        plan_sizes={},
        induction=induction,
        patient_id=0,
    )
    seed_patients(clinic)
    make_plans(seeded, users["prescriber"], users["nurse1"], password)
    return seeded


def seed_patients(clinic: Any) -> None:
    """The filler's patients, bulk-created as bench/patient_search.py does."""
    from ketacare.accounts.models import Clinic as ClinicModel
    from ketacare.patients.models import Patient
    from ketacare.patients.mrn import format_mrn
    from ketacare.patients.search import normalize_name

    rng = random.Random(7)
    rows = []
    for i in range(FILLER_PATIENTS):
        family, given = f"Filler{i:03d}", rng.choice(("Alex", "Sam", "Noa", "Ravi", "Zoë"))
        rows.append(
            Patient(
                clinic=clinic,
                mrn=format_mrn(i + 1),
                family_name=family,
                given_name=given,
                date_of_birth=date(1950 + rng.randrange(50), rng.randint(1, 12), 15),
                sex_at_birth=Patient.SexAtBirth.FEMALE if i % 2 else Patient.SexAtBirth.MALE,
                allergies="NKDA",
                search_family=normalize_name(family),
                search_given=normalize_name(given),
            )
        )
    Patient.objects.bulk_create(rows, batch_size=1000)
    ClinicModel.objects.filter(pk=clinic.pk).update(mrn_counter=FILLER_PATIENTS)


def make_plans(seeded: Clinic, prescriber_user: Any, nurse_user: Any, password: str) -> None:
    """Three patients, each with a signed plan from the induction's first day: IV (6
    sessions), esketamine (8, REMS enrolled), and IV again given six more planned sessions
    (Mon/Wed/Fri, as its cadence allows), so the full action books 12."""
    from django.test.utils import override_settings
    from django.utils import timezone

    from ketacare.accounts.permissions import Role
    from ketacare.patients import actions as patient_actions
    from ketacare.patients.models import Patient
    from ketacare.planning import actions as planning
    from ketacare.planning.actions import PlanRequest
    from ketacare.planning.models import PlannedSession
    from ketacare.web.demo_planning import CLEAR_EVALUATION

    clinic = seeded.clinic
    prescriber = _actor(prescriber_user, Role.PRESCRIBER, clinic)
    nurse = _actor(nurse_user, Role.NURSE, clinic)
    start = seeded.induction[0]
    specs = (
        ("book_iv6", "Iv", ("treatment_ketamine",)),
        ("book_esk8", "Esketamine", ("treatment_esketamine", "rems_enrollment")),
        ("book_iv12", "Twelve", ("treatment_ketamine",)),
    )
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for index, (name, family, consents) in enumerate(specs):
            patient = patient_actions.create_patient(
                nurse,
                {
                    "given_name": "Bench",
                    "family_name": family,
                    "date_of_birth": date(1970 + index, 3, 14),
                    "sex_at_birth": Patient.SexAtBirth.FEMALE,
                    "allergies": "NKDA",
                    "weight_kg": Decimal("72.5"),
                    "height_cm": Decimal("170.0"),
                },
            )
            for kind in consents:
                patient_actions.record_consent(
                    nurse,
                    patient,
                    {
                        "kind": kind,
                        "version": "2026-1",
                        "decision": "granted",
                        "signed_at": timezone.now(),
                        "signed_by": patient.full_name,
                    },
                )
            evaluation = planning.start_evaluation(nurse, patient, dict(CLEAR_EVALUATION), "")
            planning.complete_evaluation(nurse, evaluation.pk)
            planning.sign_evaluation(prescriber, evaluation.pk, password)
            request = (
                PlanRequest("esketamine_trd", Decimal("56"), start)
                if name == "book_esk8"
                else PlanRequest("iv_ketamine", Decimal("0.5"), start, Decimal("10"), 40)
            )
            plan = planning.draft_plan(prescriber, evaluation.pk, request)
            plan = planning.sign_plan(prescriber, plan.pk, password)
            if name == "book_iv12":
                have = plan.sessions.count()
                PlannedSession.objects.bulk_create(
                    PlannedSession(plan=plan, number=n, date=seeded.induction[n - 1])
                    for n in range(have + 1, len(seeded.induction) + 1)
                )
                seeded.patient_id = patient.pk
            seeded.plans[name] = plan.pk
            seeded.plan_sizes[name] = plan.sessions.count()


def seed_year(
    seeded: Clinic, days: int, fill: float, rng: random.Random, sparse: date
) -> Counter[str]:
    """--days of 2-hour follow-ups and evaluations (no plan: they hold a chair, not a nurse's
    watch) in about ``fill`` of the chairs' four daily slots; past ones arrived, no-show or
    cancelled, coming ones booked, confirmed or cancelled. Bulk-created: they are the book
    the booking is judged against, not what is measured. The week of Monday ``sparse``,
    after the book, gets three (the week view's "few")."""
    from ketacare.patients.models import Patient
    from ketacare.scheduling.models import Appointment, Chair

    clinic = seeded.clinic
    zone = clinic.zone
    S = Appointment.State
    patients = list(
        Patient.objects.filter(clinic=clinic, family_name__startswith="Filler").values_list(
            "pk", flat=True
        )
    )
    chairs = list(Chair.objects.filter(clinic=clinic).order_by("name"))
    today = date.today()
    first, last = fill_range(today, days)
    states: Counter[str] = Counter()
    rows = []
    few = {sparse + timedelta(days=d): chairs[d % len(chairs)] for d in (0, 2, 4)}
    for day in (*(first + timedelta(days=n) for n in range((last - first).days + 1)), *few):
        if day.weekday() < 5:
            past = day < today
            for chair in chairs:
                for begins in SLOT_STARTS:
                    if day in few and (chair != few[day] or begins != SLOT_STARTS[1]):
                        continue
                    if day not in few and rng.random() >= fill:
                        continue
                    start = datetime.combine(day, begins, tzinfo=zone)
                    if past:
                        state = rng.choices((S.ARRIVED, S.NO_SHOW, S.CANCELLED), (85, 5, 10))[0]
                    else:
                        state = rng.choices((S.BOOKED, S.CONFIRMED, S.CANCELLED), (55, 40, 5))[0]
                    states[state] += 1
                    rows.append(
                        Appointment(
                            clinic=clinic,
                            patient_id=rng.choice(patients),
                            kind=rng.choice(
                                (Appointment.Kind.FOLLOW_UP, Appointment.Kind.EVALUATION)
                            ),
                            chair=chair,
                            staff=rng.choice(seeded.nurse_users),
                            start=start,
                            end=start + timedelta(hours=SLOT_HOURS),
                            state=state,
                            transport_arranged=rng.random() < 0.5,
                            created_by=seeded.coordinator_user,
                        )
                    )
    Appointment.objects.bulk_create(rows, batch_size=2000)
    return states


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Result:
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    booked: int = 0
    unplaced: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@contextmanager
def rolled_back() -> Iterator[None]:
    """A transaction that is always rolled back: the book is the same for the next round."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def operations(seeded: Clinic) -> dict[str, Callable[[], Any]]:
    from ketacare.clinical.protocols.library import get_protocol
    from ketacare.scheduling import actions, queries, rules
    from ketacare.scheduling.context import booking_context, window

    clinic = seeded.clinic
    protocol = get_protocol("iv_ketamine")
    late = timedelta(days=rules.booking_policy().max_days_late)
    start, end = window(clinic, seeded.induction[0], seeded.induction[-1] + late)
    context = booking_context(clinic, start, end)

    def book(name: str) -> Callable[[], Any]:
        def run() -> Any:
            with rolled_back():
                return actions.book_series(seeded.coordinator, seeded.plans[name])

        return run

    return {
        "reference": lambda: list(queries.appointments_on(clinic, seeded.induction[0])),
        "context": lambda: booking_context(clinic, start, end),
        "propose12": lambda: rules.propose_series(
            protocol, seeded.induction, seeded.patient_id, context
        ),
        **{name: book(name) for name in BOOKINGS},
    }


def measure(seeded: Clinic, rounds: int, warmup: int, rng: random.Random) -> dict[str, Result]:
    ops = operations(seeded)
    results = {name: Result() for name in SCENARIOS}
    for i in range(warmup + rounds):
        order = list(SCENARIOS)
        rng.shuffle(order)
        for name in order:
            cpu = time.process_time_ns()
            started = time.perf_counter_ns()
            outcome = ops[name]()
            elapsed = (time.perf_counter_ns() - started) / 1e6
            cpu = (time.process_time_ns() - cpu) / 1e6
            if i < warmup:
                continue
            results[name].times_ms.append(elapsed)
            results[name].cpu_ms.append(cpu)
            if name in BOOKINGS:
                results[name].booked = len(outcome.booked)
                results[name].unplaced = len(outcome.unplaced)
            elif name == "propose12":
                results[name].booked = len(outcome.placed)
                results[name].unplaced = len(outcome.unplaced)
    return results


class QueryLog:
    """A connection.execute_wrapper that keeps each statement's SQL and duration."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, float]] = []
        self.params: dict[str, Any] = {}  # the last parameters of each statement

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return execute(sql, params, many, context)
        finally:
            self.entries.append((sql, (time.perf_counter_ns() - started) / 1e6))
            self.params[sql] = params


def statements(seeded: Clinic) -> dict[str, QueryLog]:
    """The SQL of one untimed call of each operation (the transaction's own BEGIN/COMMIT and
    savepoints are not statements Django logs)."""
    from django.db import connection

    logs = {}
    for name, op in operations(seeded).items():
        log = QueryLog()
        with connection.execute_wrapper(log):
            op()
        logs[name] = log
    return logs


def week_view_counts(seeded: Clinic, busy: date, quiet: date) -> dict[str, tuple[int, int]] | str:
    """Statements of the week pages (if this checkout has them) for a week of the year's book
    and a week with three appointments: (busy, quiet) per page."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    pages = {}
    try:
        pages["schedule-week"] = reverse("schedule-week")
    except NoReverseMatch:
        return "no URL named schedule-week in this checkout: not measured"
    try:
        nurse = seeded.nurse_users[0]
        pages["schedule-staff-week"] = reverse("schedule-staff-week", args=[nurse.pk])
    except NoReverseMatch:
        pass
    client = Client()
    client.force_login(seeded.coordinator_user)
    counts = {}
    for name, url in pages.items():
        # Untimed first: the idle-logoff mark is saved on the first request, at most once a
        # minute, and is not the page's work.
        client.get(url, {"week": quiet.isoformat()})
        pair = []
        for monday in (busy, quiet):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, {"week": monday.isoformat()})
            if response.status_code != 200:
                return f"GET {url} answered {response.status_code}: not measured"
            pair.append(len(captured.captured_queries))
        counts[name] = (pair[0], pair[1])
    return counts


# --- report ----------------------------------------------------------------------------------


def database_info() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT version()")
            (version,) = cursor.fetchone()
            return f"{version.split(' on ')[0]}, VACUUM ANALYZE after seeding"
        cursor.execute("SELECT sqlite_version()")
        (version,) = cursor.fetchone()
        return f"SQLite {version}, no ANALYZE statistics, as deployed"


def verbs(log: QueryLog) -> str:
    counted = Counter(sql.lstrip().split(None, 1)[0].upper() for sql, _ in log.entries)
    return ", ".join(f"{n} {verb}" for verb, n in counted.most_common())


def print_report(
    args: argparse.Namespace,
    seeded: Clinic,
    states: Counter[str],
    seconds: float,
    results: dict[str, Result],
    bare: dict[str, Result],
    empty: dict[str, QueryLog],
    full: dict[str, QueryLog],
    weeks: dict[str, tuple[int, int]] | str,
) -> None:
    import django

    slots = args.days * 5 / 7 * args.chairs * len(SLOT_STARTS)
    holding = states["booked"] + states["confirmed"] + states["arrived"]
    print("\nketacare booking benchmark")
    print("=" * 72)
    print(f"platform:  {platform.platform()} ({platform.machine()})")
    print(f"cpu:       {cpu_model()}, {os.cpu_count()} logical CPUs")
    print(f"python:    {platform.python_implementation()} {platform.python_version()}")
    print(f"django:    {django.get_version()}")
    print(f"database:  {database_info()}")
    print(
        f"clinic:    {args.chairs} chairs, Mon-Fri 08:00-18:00, {NURSES} nurses and a "
        "prescriber on shift every open day"
    )
    print(
        f"book:      {sum(states.values()):,} appointments over {args.days} days "
        f"(~{sum(states.values()) / slots:.0%} of {len(SLOT_STARTS)} two-hour slots per chair "
        f"and open day; {holding:,} holding a chair): "
        + ", ".join(f"{n:,} {s.replace('_', ' ')}" for s, n in sorted(states.items()))
        + f"; seeded in {seconds:.1f} s"
    )
    print(
        f"series:    from {seeded.induction[0]:%a %Y-%m-%d}; plans: "
        + ", ".join(f"{LABELS[n][:3]} {seeded.plan_sizes[n]} sessions" for n in BOOKINGS)
    )
    print(
        f"timing:    {args.rounds} rounds after {args.warmup} warm-up, each scenario once a "
        "round in a new random order; bookings in a transaction rolled back each time"
    )

    ref = results["reference"]
    header = (
        f"{'scenario':<48} {'median':>9} {'p95':>9} {'med/r':>8} {'p95/r':>8} "
        f"{'cpu':>9} {'cpu/r':>7} {'placed':>6} {'not':>4} {'ms/session':>10}"
    )
    print(f"\n{header}\n{'-' * len(header)}")
    for name in SCENARIOS:
        r = results[name]
        placed = f"{r.booked:>6} {r.unplaced:>4}" if name in (*BOOKINGS, "propose12") else " " * 11
        per = f"{r.median / r.booked:>8.2f}ms" if r.booked else " " * 10
        print(
            f"{LABELS[name]:<48} {r.median:>7.2f}ms {r.p95:>7.2f}ms "
            f"{r.median / ref.median:>7.1f}x {r.p95 / ref.p95:>7.1f}x "
            f"{statistics.median(r.cpu_ms):>7.2f}ms "
            f"{statistics.median(r.cpu_ms) / statistics.median(ref.cpu_ms):>6.1f}x {placed} {per}"
        )
    print(
        "\nmedian/p95: wall-clock per call, in process; cpu: this process's CPU time, median (the\n"
        "steadier figure on a shared machine; on PostgreSQL it leaves out the server's).\n"
        "Ratios: to the reference's median/p95/cpu. ms/session: median over sessions placed.\n"
        "book_series includes its transaction (a savepoint inside the rolled-back one), the\n"
        "clinic lock, the gates, one audit event per appointment and the planned sessions moved."
    )

    rounds = len(bare["reference"].times_ms)
    print(
        f"\nThe same with an empty book ({rounds} rounds, measured before the year was seeded):"
        " median wall and CPU, and the year's CPU as a multiple of the empty book's"
    )
    for name in SCENARIOS:
        empty_cpu = statistics.median(bare[name].cpu_ms)
        full_cpu = statistics.median(results[name].cpu_ms)
        print(
            f"  {LABELS[name]:<48} {bare[name].median:>7.2f}ms {empty_cpu:>7.2f}ms cpu  "
            f"year/empty {full_cpu / empty_cpu:>4.1f}x"
        )

    print("\nSQL statements per call: empty book -> with the year of appointments")
    for name in SCENARIOS:
        before, after = len(empty[name].entries), len(full[name].entries)
        bounded = "same" if before == after else f"{after - before:+d}"
        print(f"  {LABELS[name]:<48} {before:>4} -> {after:<4} ({bounded}; {verbs(full[name])})")

    print("\nWeek view, SQL statements for a week of the year's book vs a week with three:")
    if isinstance(weeks, str):
        print(f"  {weeks}")
    else:
        for page, (busy, quiet) in weeks.items():
            verdict = "bounded" if busy <= quiet else "NOT bounded"
            print(f"  {page:<22} busy week {busy:>3}, quiet week {quiet:>3}: {verdict}")

    log = full["book_iv12"]
    shapes: dict[str, list[float]] = {}
    for sql, ms in log.entries:
        shapes.setdefault(sql, []).append(ms)
    total = sum(ms for _, ms in log.entries)
    print(
        f"\nSQL of one {LABELS['book_iv12'][4:]} with the year: {len(log.entries)} statements, "
        f"{total:.1f} ms in SQL; the 5 costliest statement shapes:"
    )
    for sql, times in sorted(shapes.items(), key=lambda item: -sum(item[1]))[:5]:
        shown = sql[:110] + ("..." if len(sql) > 110 else "")
        print(f"  {sum(times):7.2f} ms in {len(times):>3} x (max {max(times):.2f} ms)  {shown}")
    selects = [sql for sql in shapes if sql.lstrip().upper().startswith("SELECT")]
    for sql in sorted(selects, key=lambda sql: -sum(shapes[sql]))[:3]:
        # Explained after the rollback: the same book, without the series' own rows.
        print(f"\n  plan of: {sql[:300]}{'...' if len(sql) > 300 else ''}")
        for line in explain(sql, log.params[sql]):
            print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chairs", type=int, default=10, help="chairs in the clinic")
    parser.add_argument("--days", type=int, default=365, help="days of existing appointments")
    parser.add_argument(
        "--fill", type=float, default=0.65, help="share of the chairs' slots the book fills"
    )
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    parser.add_argument("--seed", type=int, default=20261207, help="random seed")
    args = parser.parse_args(argv)
    if args.chairs < 1 or args.days < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--chairs, --days and --rounds must be positive, --warmup not negative")
    if not 0 <= args.fill <= 1:
        parser.error("--fill is a share, from 0 to 1")
    return run_isolated(BENCH_DB_NAME, parser, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command
    from django.db import connection

    rng = random.Random(args.seed)
    print("migrating and setting up the clinic ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    seeded = setup_clinic(args.chairs, args.days, secrets.token_urlsafe(24))
    empty = statements(seeded)
    # The same scenarios before the year exists: what the book's size costs. Fewer rounds,
    # and measured at another moment than the rest, so compare CPU times rather than wall.
    print("measuring the empty book ...", flush=True)
    bare = measure(seeded, max(3, args.rounds // 3), 1, rng)
    print(f"seeding {args.days} days of appointments ...", flush=True)
    # A week of the book (the series' first) for the week view, and one after the book and
    # the shifts with three appointments.
    quiet = fill_range(date.today(), args.days)[1] + timedelta(days=60)
    quiet -= timedelta(days=quiet.weekday())
    states = seed_year(seeded, args.days, args.fill, rng, quiet)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    full = statements(seeded)
    weeks = week_view_counts(seeded, seeded.induction[0], quiet)
    print(f"measuring {len(SCENARIOS)} scenarios x {args.rounds} rounds ...", flush=True)
    results = measure(seeded, args.rounds, args.warmup, rng)
    print_report(args, seeded, states, seconds, results, bare, empty, full, weeks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
