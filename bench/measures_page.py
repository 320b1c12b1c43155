"""Measures page latency: a patient with 300 questionnaire responses vs a bare view.

    .venv/bin/python bench/measures_page.py [--requests 300]

Uses PostgreSQL when DATABASE_URL is set (a separate database, ``ketacare_bench_measures``, is
created on that server and dropped at the end), else a fresh SQLite file in a temporary
directory. The real data directory is never touched: KETACARE_DATA_DIR and SECRET_KEY are
throwaways.

One patient has 300 scored responses across PHQ-9, GAD-7, PCL-5, MADRS and QIDS-SR16 over
about six months. Requests go through django.test.Client, in process, with the full middleware
stack and a signed-in nurse: the measures page (trajectory charts, outcome classifications and
tables), the same page for a patient with one response per instrument, and the patient chart.
The reference is a bare view (constant HttpResponse) behind the same middleware and session,
so each ratio is "how many bare requests does this page cost". SQL statements per request are
counted with CaptureQueriesContext; "bounded" means the 300-response page issues no more
statements than the 5-response one. Informational only: the exit status is 0 unless something
crashes, never because of timing.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import re
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from djangobench import cpu_model, explain, run_isolated, sql_time_ms

BENCH_DB_NAME = "ketacare_bench_measures"
SPAN_DAYS = 182  # about six months of treatment

# Responses of the main patient per instrument (300 in all), the last ones recorded through
# ketacare.measures.actions.record_staff_response (audit events, one safety alert) and the rest
# bulk-created. PHQ-9 most often (before every session and weekly), MADRS at sessions.
RESPONSE_COUNTS = {"phq9": 96, "gad7": 72, "qids_sr16": 60, "pcl5": 36, "madrs": 36}
SELF_REPORT = {"phq9", "gad7", "qids_sr16", "pcl5"}  # answered by link; MADRS is staff-entered


SCENARIOS = ("bare", "bare_anon", "measures", "measures_small", "summary", "chart")
LABELS = {
    "bare": "(a) bare view (reference)",
    "bare_anon": "(a') bare view, anonymous: no session to save",
    "measures": "(b) measures page, 300 responses",
    "measures_small": "(c) measures page, 5 responses (1 per instrument)",
    "summary": "(b') patient_summary() of (b) alone, no request",
    "chart": "(d) patient chart, same patient as (b)",
}
REQUESTS = ("bare", "bare_anon", "measures", "measures_small", "chart")


@dataclass
class Seeded:
    nurse: Any
    patient: Any  # 300 responses
    small_patient: Any  # one response per instrument
    responses: int  # QuestionnaireResponse rows in the database, all patients
    per_instrument: dict[str, int]
    open_alerts: int
    audit_events: int
    seconds: float


def _times(rng: random.Random, n: int, start: datetime) -> list[datetime]:
    """n completion times over SPAN_DAYS from ``start``, denser early on (induction: several
    infusions in the first weeks) and sparser later (maintenance), in clinic hours."""
    days = sorted(SPAN_DAYS * ((i + rng.random()) / n) ** 1.4 for i in range(n))
    return [
        start.replace(hour=0, minute=0, second=0, microsecond=0)
        + timedelta(days=int(d), hours=rng.randint(8, 17), minutes=rng.randrange(60))
        for d in days
    ]


def _answers(rng: random.Random, instrument: Any, progress: float) -> list[int]:
    """Answers for a patient who improves: items fall from ~70 % of their range towards
    ~25 % over the six months, with noise; PHQ-9 item 9 stays 0 (the alerting answers are
    recorded through the action, which raises the alert)."""
    level = 0.25 + 0.45 * math.exp(-3.0 * progress) + rng.gauss(0, 0.06)
    answers = []
    for item in instrument.items:
        span = item.max_value - item.min_value
        value = round(item.min_value + level * span + rng.gauss(0, 0.7))
        answers.append(min(item.max_value, max(item.min_value, value)))
    if instrument.id == "phq9":
        answers[8] = 0
    return answers


def _bulk_responses(
    rng: random.Random,
    patient: Any,
    nurse: Any,
    counts: dict[str, int],
    start: datetime,
    with_links: bool,
) -> list[Any]:
    """Scored responses as the app stores them, bulk-created; self-report ones through a used
    single-use link (as a patient's link submission leaves them), the others staff-entered."""
    from ketacare.clinical.instruments import get, score
    from ketacare.measures.models import PatientLink, QuestionnaireResponse

    rows = []
    for instrument_id, n in counts.items():
        instrument = get(instrument_id)
        for i, completed_at in enumerate(_times(rng, n, start)):
            answers = _answers(rng, instrument, i / max(1, n - 1))
            rows.append((instrument, answers, score(instrument, answers), completed_at))

    links: dict[int, Any] = {}
    if with_links:
        hours = 72
        pending = {
            index: PatientLink(
                patient=patient,
                instrument_id=instrument.id,
                channel=PatientLink.Channel.SMS,
                created_by=nurse,
                expires_at=completed_at + timedelta(hours=hours - 6),
                used_at=completed_at,
            )
            for index, (instrument, _, _, completed_at) in enumerate(rows)
            if instrument.id in SELF_REPORT
        }
        PatientLink.objects.bulk_create(pending.values(), batch_size=500)
        links = pending

    return QuestionnaireResponse.objects.bulk_create(
        [
            QuestionnaireResponse(
                patient=patient,
                instrument_id=instrument.id,
                instrument_version=instrument.version,
                answers=answers,
                total=result.total,
                severity=result.severity or "",
                flags=list(result.flags),
                subscales=result.subscales,
                completed_at=completed_at,
                source=(
                    QuestionnaireResponse.Source.PATIENT_LINK
                    if index in links
                    else QuestionnaireResponse.Source.STAFF
                ),
                entered_by=None if index in links else nurse,
                link=links.get(index),
            )
            for index, (instrument, answers, result, completed_at) in enumerate(rows)
        ],
        batch_size=500,
    )


def seed(rng: random.Random, background_patients: int, background_responses: int) -> Seeded:
    from django.db import connection, transaction
    from django.utils import timezone

    from ketacare.accounts.actions import create_clinic, create_staff
    from ketacare.accounts.models import Clinic
    from ketacare.accounts.permissions import Role
    from ketacare.actor import SYSTEM, Actor
    from ketacare.audit.models import AuditEvent
    from ketacare.clinical.instruments import get
    from ketacare.measures import actions as measure_actions
    from ketacare.measures.models import (
        Assignment,
        PatientLink,
        QuestionnaireResponse,
        SafetyAlert,
    )
    from ketacare.patients import actions as patient_actions
    from ketacare.patients.models import Patient
    from ketacare.patients.mrn import format_mrn
    from ketacare.patients.search import normalize_name

    started = time.perf_counter()
    clinic = create_clinic(SYSTEM, "Benchmark Ketamine Clinic")
    staff = {}
    for role, username in ((Role.NURSE, "bench.nurse"), (Role.PRESCRIBER, "bench.prescriber")):
        staff[role] = create_staff(
            SYSTEM,
            clinic=clinic,
            username=username,
            password=secrets.token_urlsafe(24),
            role=role,
            first_name="Bench",
            last_name=role.label,
        )
    nurse, prescriber = staff[Role.NURSE], staff[Role.PRESCRIBER]
    nurse_actor = Actor(user=nurse, role=Role.NURSE, clinic=clinic, ip="127.0.0.1")
    prescriber_actor = Actor(user=prescriber, role=Role.PRESCRIBER, clinic=clinic, ip="127.0.0.1")

    now = timezone.localtime()
    start = now - timedelta(days=SPAN_DAYS + 1)

    def new_patient(given: str, family: str) -> Any:
        return patient_actions.create_patient(
            nurse_actor,
            {
                "given_name": given,
                "family_name": family,
                "date_of_birth": date(1981, 4, 17),
                "sex_at_birth": Patient.SexAtBirth.FEMALE,
                "phone": "+1 555 0100100",
            },
        )

    patient = new_patient("Maren", "Sørensen")
    small_patient = new_patient("Tomás", "Ibáñez")

    # The main patient: 297 bulk-created responses, then three through the action (a MADRS and
    # two PHQ-9s with item 9 > 0: one alert acknowledged by the prescriber, one left open).
    via_action = [("phq9", 60), ("madrs", 20), ("phq9", 2)]  # (instrument, days ago)
    bulk_counts = dict(RESPONSE_COUNTS)
    for instrument_id, _ in via_action:
        bulk_counts[instrument_id] -= 1
    with transaction.atomic():
        _bulk_responses(rng, patient, nurse, bulk_counts, start, with_links=True)
        _bulk_responses(
            rng, small_patient, nurse, dict.fromkeys(RESPONSE_COUNTS, 1), start, with_links=True
        )

    for instrument_id, days_ago in via_action:
        answers = _answers(rng, get(instrument_id), 1 - days_ago / SPAN_DAYS)
        if instrument_id == "phq9":
            answers[8] = 1  # "several days": raises the suicidal-ideation alert
        response = measure_actions.record_staff_response(
            nurse_actor,
            patient,
            instrument_id,
            answers,
            now - timedelta(days=days_ago, hours=3),
        )
        if instrument_id == "phq9" and days_ago > 30:
            for alert in response.alerts.all():
                measure_actions.acknowledge_alert(
                    prescriber_actor, alert, "Called the patient; safety plan reviewed; 988 given."
                )

    # What else the measures page shows: schedules and one open in-clinic link, same for both.
    for p in (patient, small_patient):
        for instrument_id, schedule, every in (
            ("phq9", Assignment.Schedule.BEFORE_SESSION, None),
            ("gad7", Assignment.Schedule.WEEKLY, None),
            ("qids_sr16", Assignment.Schedule.EVERY_N_DAYS, 14),
            ("pcl5", Assignment.Schedule.EVERY_N_DAYS, 30),
        ):
            measure_actions.assign_instrument(
                nurse_actor, p, instrument_id, schedule, start.date(), every
            )
        measure_actions.create_link(nurse_actor, p, "gad7", PatientLink.Channel.IN_CLINIC)

    # Other patients of the clinic with their own responses, so the tables are not all one
    # patient's rows (the page must find its 300 by index, not by scanning everything).
    if background_patients:
        per = max(1, background_responses)
        share = {k: max(1, round(per * v / 300)) for k, v in RESPONSE_COUNTS.items()}
        first_mrn = Clinic.objects.get(pk=clinic.pk).mrn_counter + 1
        sexes = (Patient.SexAtBirth.FEMALE, Patient.SexAtBirth.MALE)
        with transaction.atomic():
            others = Patient.objects.bulk_create(
                [
                    Patient(
                        clinic=clinic,
                        mrn=format_mrn(first_mrn + i),
                        family_name=f"Background{i:05d}",
                        given_name="Pat",
                        date_of_birth=date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
                        sex_at_birth=sexes[i % 2],
                        # bulk_create skips Patient.save(): derive the search keys here.
                        search_family=normalize_name(f"Background{i:05d}"),
                        search_given=normalize_name("Pat"),
                    )
                    for i in range(background_patients)
                ]
            )
            Clinic.objects.filter(pk=clinic.pk).update(
                mrn_counter=first_mrn + background_patients - 1
            )
            for other in others:
                _bulk_responses(rng, other, nurse, share, start, with_links=False)

    if connection.vendor == "postgresql":
        # Planner statistics, as autovacuum would gather them within a minute of a bulk load.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    per_instrument = dict(
        Counter(
            QuestionnaireResponse.objects.filter(patient=patient).values_list(
                "instrument_id", flat=True
            )
        )
    )
    return Seeded(
        nurse=nurse,
        patient=patient,
        small_patient=small_patient,
        responses=QuestionnaireResponse.objects.count(),
        per_instrument=per_instrument,
        open_alerts=SafetyAlert.objects.filter(
            patient=patient, acknowledged_at__isnull=True
        ).count(),
        audit_events=AuditEvent.objects.filter(patient_id=patient.pk).count(),
        seconds=time.perf_counter() - started,
    )


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Result:
    times_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    writes: list[int] = field(default_factory=list)
    size: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _get(client: Any, url: str) -> Any:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} -> {response.status_code} {response.get('Location', '')}")
    return response


def build_calls(seeded: Seeded, client: Any, anon: Any) -> dict[str, Callable[[], Any]]:
    from django.urls import reverse

    from ketacare.measures.summary import patient_summary
    from ketacare.patients.models import Patient

    measures = reverse("patient-measures", args=[seeded.patient.pk])
    measures_small = reverse("patient-measures", args=[seeded.small_patient.pk])
    chart = reverse("patient-chart", args=[seeded.patient.pk])

    def summary() -> Any:
        # What the view does before rendering: load the patient, then build the summary.
        return patient_summary(Patient.objects.get(pk=seeded.patient.pk))

    return {
        "bare": lambda: _get(client, "/bench/bare/"),
        "bare_anon": lambda: _get(anon, "/bench/bare/"),
        "measures": lambda: _get(client, measures),
        "measures_small": lambda: _get(client, measures_small),
        "summary": summary,
        "chart": lambda: _get(client, chart),
    }


def measure(
    calls: dict[str, Callable[[], Any]], rounds: int, warmup: int, rng: random.Random
) -> dict[str, Result]:
    """Round-robin in a fresh random order each round, so drift hits every scenario alike."""
    results = {name: Result() for name in SCENARIOS}
    for i in range(warmup + rounds):
        order = list(SCENARIOS)
        rng.shuffle(order)
        for name in order:
            started = time.perf_counter_ns()
            calls[name]()
            elapsed = (time.perf_counter_ns() - started) / 1e6
            if i >= warmup:
                results[name].times_ms.append(elapsed)
    return results


def count_queries(
    calls: dict[str, Callable[[], Any]], results: dict[str, Result], n: int
) -> dict[str, list[str]]:
    """A separate, untimed pass: SQL statements per call (and how many write), with
    CaptureQueriesContext. Returns the last call's statements per scenario."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    last: dict[str, list[str]] = {}
    for name in SCENARIOS:
        for _ in range(n):
            with CaptureQueriesContext(connection) as captured:
                response = calls[name]()
            statements = [q["sql"] for q in captured.captured_queries]
            verbs = [sql.lstrip().split(None, 1)[0].upper() for sql in statements]
            results[name].queries.append(len(verbs))
            results[name].writes.append(sum(v in {"INSERT", "UPDATE", "DELETE"} for v in verbs))
            last[name] = statements
            if name in REQUESTS:
                results[name].size = len(response.content)
    return last


# --- report ----------------------------------------------------------------------------------


def database_info() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT version()")
            (version,) = cursor.fetchone()
            return f"{version.split(' on ')[0]}, VACUUM ANALYZE after seeding (as autovacuum would)"
        cursor.execute("SELECT sqlite_version()")
        (version,) = cursor.fetchone()
        return f"SQLite {version}, no ANALYZE statistics, as deployed ({connection.vendor})"


def print_report(
    results: dict[str, Result],
    seeded: Seeded,
    args: argparse.Namespace,
    statements: dict[str, list[str]],
) -> None:
    import django

    print("\nketacare measures page benchmark")
    print("=" * 72)
    print(f"platform:  {platform.platform()} ({platform.machine()})")
    print(f"cpu:       {cpu_model()}, {os.cpu_count()} logical")
    print(f"python:    {platform.python_implementation()} {platform.python_version()}")
    print(f"django:    {django.get_version()}")
    print(f"database:  {database_info()}")
    print(
        f"patient:   {sum(seeded.per_instrument.values())} responses over ~{SPAN_DAYS} days ("
        + ", ".join(f"{k} {v}" for k, v in sorted(seeded.per_instrument.items()))
        + f"); {seeded.open_alerts} open safety alert(s), {seeded.audit_events} audit events"
    )
    print(
        f"clinic:    {seeded.responses:,} responses in all ({args.background_patients} other "
        f"patients with ~{args.background_responses} each); seeded in {seeded.seconds:.1f} s, "
        f"seed {args.seed}"
    )
    print(
        f"requests:  {args.requests} timed per scenario after {args.warmup} warm-up, "
        "interleaved in random order; django.test.Client, in process, nurse signed in"
    )

    bare = results["bare"]
    header = (
        f"{'scenario':<52} {'median':>9} {'p95':>9} {'med/bare':>9} {'p95/bare':>9} "
        f"{'queries':>7} {'writes':>6} {'KiB':>6}"
    )
    print(f"\n{header}\n{'-' * len(header)}")
    for name in SCENARIOS:
        r = results[name]
        size = f"{r.size / 1024:>6.0f}" if name in REQUESTS else f"{'-':>6}"
        print(
            f"{LABELS[name]:<52} {r.median:>7.2f}ms {r.p95:>7.2f}ms "
            f"{r.median / bare.median:>8.1f}x {r.p95 / bare.p95:>8.1f}x "
            f"{statistics.median(r.queries):>7.0f} {statistics.median(r.writes):>6.0f} {size}"
        )
    print(
        "\nmedian/p95: wall-clock per request. Ratios: to the bare view's median/p95 (row a).\n"
        "queries/writes: SQL statements per request (writes: INSERT/UPDATE/DELETE, e.g. the\n"
        "session save and audit events), counted with CaptureQueriesContext in a separate\n"
        "untimed pass; commits not counted. KiB: response body size."
    )

    big = max(results["measures"].queries)
    small = max(results["measures_small"].queries)
    verdict = "yes" if big <= small else "NO"
    print(
        f"\nBounded queries: measures page with 300 responses issues {big} statements, with 5 "
        f"issues {small}: {verdict}."
    )

    print("\nSQL statements of one measures-page request (300 responses), column lists elided:")
    for sql in statements["measures"]:
        text = re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", " ".join(sql.split()))
        print(f"  {text[:140]}{'...' if len(text) > 140 else ''}")

    from ketacare.measures.models import QuestionnaireResponse

    queryset = QuestionnaireResponse.objects.filter(patient=seeded.patient).order_by(
        "completed_at", "id"
    )
    sql, params = queryset.query.sql_with_params()
    print(
        f"\nThe responses SELECT (patient_summary): {sql_time_ms(sql, params):.2f} ms "
        "(median of 7, all 300 rows fetched, outside Django). Plan:"
    )
    for line in explain(sql, params):
        print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per scenario")
    parser.add_argument("--seed", type=int, default=20240601, help="random seed")
    parser.add_argument(
        "--background-patients",
        type=int,
        default=200,
        help="other patients in the clinic, each with their own responses",
    )
    parser.add_argument(
        "--background-responses",
        type=int,
        default=50,
        help="responses per other patient (split across the 5 instruments)",
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be positive, --warmup not negative")
    if args.background_patients < 0 or args.background_responses < 1:
        parser.error("--background-patients not negative, --background-responses positive")

    return run_isolated(BENCH_DB_NAME, parser, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command
    from django.test import Client

    rng = random.Random(args.seed)
    print("migrating and seeding ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    seeded = seed(rng, args.background_patients, args.background_responses)

    client = Client()
    client.force_login(seeded.nurse)
    calls = build_calls(seeded, client, Client())
    print(f"measuring {len(SCENARIOS)} scenarios x {args.requests} ...", flush=True)
    results = measure(calls, args.requests, args.warmup, rng)
    statements = count_queries(calls, results, min(10, args.requests))

    print_report(results, seeded, args, statements)
    return 0


if __name__ == "__main__":
    sys.exit(main())
