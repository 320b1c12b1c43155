"""Patient search latency benchmark: list, name/MRN/birth-date search and chart vs a bare view.

    .venv/bin/python bench/patient_search.py [--patients 100000] [--requests 300]

Uses PostgreSQL when DATABASE_URL is set (a separate database, ``ketacare_bench``, is created
on that server and dropped at the end), else a fresh SQLite file in a temporary directory.
The real data directory is never touched: KETACARE_DATA_DIR and SECRET_KEY are throwaways.

Requests go through django.test.Client, in process, with the full middleware stack and a
signed-in nurse. The reference is a bare view (constant HttpResponse) behind the same
middleware and session, so each ratio is "how many bare requests does this page cost".
Goal: search p95 under 10x the bare view's p95. Informational only: the exit status is 0
unless something crashes, never because of timing.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from djangobench import explain, run_isolated, sql_time_ms

BENCH_DB_NAME = "ketacare_bench"
GOAL_RATIO = 10.0
PAGE_SIZE = 25  # ketacare.patients.views.PAGE_SIZE


# Realistic, varied names; weighted towards the front of each list (common names are common).
# Kept as text (noqa SIM905): a list literal would be one name per line, 700 lines.
FAMILY_NAMES = """
Smith Johnson Williams Brown Jones García Miller Davis Rodríguez Martínez Hernández López
González Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Pérez Thompson White Harris
Sánchez Clark Ramírez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gómez Phillips
Evans Turner Díaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutiérrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chávez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
Sanders Patel Myers Long Ross Foster Jiménez Powell Jenkins Perry Russell Sullivan Bell Coleman
Butler Henderson Barnes Gonzales Fisher Vásquez Simmons Romero Jordan Patterson Alexander
Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis
Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernández McDonald
Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzmán Burns Crawford
Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Muñoz Hunt Hicks Holmes
Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt
Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley
Spencer Hawkins Arnold Pierce Vázquez Hansen Peters Santos Hart Bradley Knight Elliott
Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry
Perkins Hoffman Johnston Matthews Peña Richards Contreras Willis Carpenter Lawrence Sandoval
O'Brien O'Connor O'Neill McCarthy Gallagher Doyle Byrne Kavanagh Ní-Bhriain Müller Schäfer
Köhler Schröder Weiß Strauß Krüger Jäger Groß Lindqvist Andersson Johansson Nilsson Björk
Sjöberg Ångström Jørgensen Søndergaard Kowalski Nowak Wiśniewski Wójcik Łukasiewicz
Zieliński Dąbrowski Novák Dvořák Černý Horváth Nagy Tóth Szabó Rossi Russo Ferrari Esposito
Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti De-Luca Costa Dubois Durand
Lefèvre Moreau Laurent Girard Bonnet François Rousseau Lemaire Mercier Faure Chevalier
Ferreira Gonçalves Rodrigues Sousa Pereira Carvalho Araújo Ribeiro Almeida Lima Okafor
Okonkwo Adeyemi Mensah Boateng Owusu Abubakar Kamau Otieno Mwangi Haddad Khoury Nasser
Mansour Saleh Yilmaz Öztürk Çelik Şahin Demir Kaya Ivanova Petrov Smirnov Kuznetsov Popescu
Ionescu Papadopoulos Nikolaidis Cohen Levi Friedman Shapiro Sharma Singh Gupta Kumar Reddy
Iyer Nair Chowdhury Rahman Hossain Khan Ahmed Ali Hussain Qureshi Yamamoto Tanaka Suzuki
Watanabe Sato Kobayashi Nakamura Park Choi Jung Kang Cho Yoon Wang Li Zhang Liu Huang Zhao Wu
Zhou Xu Sun Ma Zhu Pham Hoang Phan Vu Dang Bui Do Ngo Duong Ly Nguyễn Trần Lê Kealoha Begay
Yazzie Tsosie Núñez Ibáñez Peña-Núñez Acuña Zúñiga Muñiz Ordóñez García-Márquez
""".split()  # noqa: SIM905

GIVEN_NAMES = """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew
Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua
Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald
Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy
Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole
Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel
Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth
José Julie Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria Zachary Kelly Peter Lauren
Kyle Christina Noah Joan Ethan Evelyn Jeremy Judith Walter Megan Christian Andrea Keith Cheryl
Roger Hannah Terry Jacqueline Austin Martha Sean Gloria Gerald Teresa Carl Ann Harold Sara
Dylan Madison Arthur Frances Lawrence Kathryn Jordan Janice Jesse Jean Bryan Abigail Billy
Alice Bruce Judy Gabriel Sophia Joe Grace Logan Denise Alan Amber Juan Doris Albert Marilyn
Willie Danielle Elijah Beverly Wayne Isabella Randy Theresa Vincent Diana Mason Natalie Roy
Brittany Ralph Charlotte Bobby Marie Russell Kayla Bradley Alexis Philip Lori Eugene Alexa
Zoë Chloé Renée Inés Sofía Lucía Valentina Camila Mateo Santiago Matías Tomás Andrés Joaquín
Sebastián Nicolás Agustín Ramón Jesús Héctor Óscar Raúl Iñaki Begoña Ángel Ximena Guadalupe
Noémie Léa Hélène Benoît Jérôme François Aurélie Céline Gaël Anaïs Maëlle Björn Søren
Åsa Ingrid Linnéa Mikkel Astrid Jürgen Jörg Günter Käthe Łukasz Małgorzata Wojciech Zoltán
Dávid Jiří Tereza Giulia Francesca Niccolò Lorenzo Chiara João Gonçalo Conceição Aisha Fatima
Omar Yusuf Leila Karim Mohammed Amir Zainab Hiroshi Yuki Haruto Sakura Ji-woo Min-jun Seo-yeon
Wei Ming Xiu Jun Anh Linh Minh Thảo Priya Ravi Arjun Ananya Deepika Sanjay Kwame Ama Chinedu
Ngozi Oluwaseun Amara Thandiwe Siobhán Niamh Seán Aoife Pádraig Eoin Ciarán Dmitri Anastasia
Olga Sergei Katarzyna Ioana Andreea Dimitrios Eleni Yosef Noa Tamar Kalani Leilani Ayasha
""".split()  # noqa: SIM905

SCENARIOS = ("bare", "bare_anon", "list", "prefix3", "family_given", "mrn", "dob", "chart")
LABELS = {
    "bare": "(a) bare view (reference)",
    "bare_anon": "(a') bare view, anonymous: no session to save",
    "list": "(b) patient list, page 1, no query",
    "prefix3": "(c) search: 3-letter name prefix",
    "family_given": '(d) search: family + given prefix ("smith jo")',
    "mrn": "(e) search: MRN prefix (5-8 digits)",
    "dob": "(f) search: date of birth",
    "chart": "(g) patient chart",
}
SEARCHES = ("prefix3", "family_given", "mrn", "dob")


@dataclass
class Seeded:
    clinic: Any
    nurse: Any
    chart_patient: Any
    rows: list[tuple[str, str, date, str]]  # (family, given, date_of_birth, mrn)
    seconds: float


def _weights(n: int) -> list[float]:
    # Zipf-like: the first names of each list are a few times commoner than the last.
    return [1.0 / (rank + 8) ** 0.9 for rank in range(n)]


def seed(count: int, rng: random.Random, sqlite_analyze: bool = False) -> Seeded:
    from django.db import connection, transaction

    from ketacare.accounts.actions import create_clinic, create_staff
    from ketacare.accounts.models import Clinic
    from ketacare.accounts.permissions import Role
    from ketacare.actor import SYSTEM, Actor
    from ketacare.patients import actions as patient_actions
    from ketacare.patients.models import ConsentRecord, Patient
    from ketacare.patients.mrn import format_mrn
    from ketacare.patients.search import normalize_name

    started = time.perf_counter()
    clinic = create_clinic(SYSTEM, "Benchmark Ketamine Clinic")
    nurse = create_staff(
        SYSTEM,
        clinic=clinic,
        username="bench.nurse",
        password=secrets.token_urlsafe(24),
        role=Role.NURSE,
        first_name="Bench",
        last_name="Nurse",
    )

    families = rng.choices(FAMILY_NAMES, weights=_weights(len(FAMILY_NAMES)), k=count)
    givens = rng.choices(GIVEN_NAMES, weights=_weights(len(GIVEN_NAMES)), k=count)
    first_dob, last_dob = date(1940, 1, 1), date(2005, 12, 31)
    span = (last_dob - first_dob).days + 1
    sexes = [s.value for s in Patient.SexAtBirth]
    rows = [
        (
            families[i],
            givens[i],
            first_dob + timedelta(days=rng.randrange(span)),
            format_mrn(i + 1),
        )
        for i in range(count)
    ]

    batch = 5000
    with transaction.atomic():
        for start in range(0, count, batch):
            Patient.objects.bulk_create(
                [
                    Patient(
                        clinic=clinic,
                        mrn=mrn,
                        family_name=family,
                        given_name=given,
                        date_of_birth=dob,
                        sex_at_birth=rng.choices(sexes, weights=(49, 49, 1, 1))[0],
                        phone=f"+1 555 {rng.randrange(10**7):07d}",
                        allergies="NKDA" if rng.random() < 0.8 else "Penicillin: rash",
                        # bulk_create skips Patient.save(): derive the search keys here.
                        search_family=normalize_name(family),
                        search_given=normalize_name(given),
                    )
                    for family, given, dob, mrn in rows[start : start + batch]
                ],
                batch_size=batch,
            )
        # Keep the MRN sequence ahead of the seeded numbers, as create_patient would.
        Clinic.objects.filter(pk=clinic.pk).update(mrn_counter=count)

    # The chart patient: a measurement history and consents, recorded through the actions.
    chart_patient = Patient.objects.get(clinic=clinic, mrn=format_mrn(max(1, count // 2)))
    actor = Actor(user=nurse, role=Role.NURSE, clinic=clinic, ip="127.0.0.1")
    today = date.today()
    for week in range(12):
        patient_actions.record_measurement(
            actor,
            chart_patient,
            today - timedelta(weeks=week),
            Decimal("82.0") - Decimal(week) / 4,
            Decimal("176.0") if week % 4 == 0 else None,
        )
    signed = datetime.now(UTC) - timedelta(days=90)
    for i, kind in enumerate(ConsentRecord.Kind):
        patient_actions.record_consent(
            actor,
            chart_patient,
            {
                "kind": kind,
                "version": "2025-01",
                "decision": ConsentRecord.Decision.GRANTED,
                "signed_at": signed + timedelta(minutes=i),
                "signed_by": chart_patient.full_name,
            },
        )

    # Planner statistics as in production: on PostgreSQL autovacuum gathers them within a minute
    # of a bulk load; on SQLite nothing does (neither Django nor ketacare runs ANALYZE), so
    # there are none unless --sqlite-analyze asks for them.
    if connection.vendor == "postgresql" or sqlite_analyze:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    return Seeded(clinic, nurse, chart_patient, rows, time.perf_counter() - started)


# --- requests --------------------------------------------------------------------------------


def build_urls(seeded: Seeded, total: int, rng: random.Random) -> dict[str, list[str]]:
    """Per scenario, one URL per request (warm-up included), drawn from the seeded patients."""

    def search(q: str) -> str:
        return "/patients/?" + urlencode({"q": q})

    def prefix3() -> str:
        family, given, _, _ = rng.choice(seeded.rows)
        name = family if rng.random() < 0.5 else given
        return search(name[:3] if rng.random() < 0.5 else name[:3].lower())

    def family_given() -> str:
        family, given, _, _ = rng.choice(seeded.rows)
        return search(f"{family.lower()} {given[:2].lower()}")

    def mrn() -> str:
        return search(rng.choice(seeded.rows)[3][: rng.randint(5, 8)])

    def dob() -> str:
        when = rng.choice(seeded.rows)[2]
        return search(when.strftime(rng.choice(("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"))))

    chart = f"/patients/{seeded.chart_patient.pk}/"
    makers: dict[str, Callable[[], str]] = {
        "bare": lambda: "/bench/bare/",
        "bare_anon": lambda: "/bench/bare/",
        "list": lambda: "/patients/",
        "prefix3": prefix3,
        "family_given": family_given,
        "mrn": mrn,
        "dob": dob,
        "chart": lambda: chart,
    }
    return {name: [makers[name]() for _ in range(total)] for name in SCENARIOS}


@dataclass
class Result:
    times_ms: list[float] = field(default_factory=list)
    no_hits: int = 0
    queries: list[int] = field(default_factory=list)
    writes: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _get(client: Any, url: str, htmx: bool) -> Any:
    headers = {"HX-Request": "true"} if htmx and url.startswith("/patients/?") else {}
    response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} -> {response.status_code} {response.get('Location', '')}")
    return response


def measure(
    clients: dict[str, Any],
    urls: dict[str, list[str]],
    warmup: int,
    htmx: bool,
    rng: random.Random,
) -> dict[str, Result]:
    """Round-robin in a fresh random order each round, so drift hits every scenario alike."""
    results = {name: Result() for name in SCENARIOS}
    rounds = len(urls["bare"])
    for i in range(rounds):
        order = list(SCENARIOS)
        rng.shuffle(order)
        for name in order:
            url, client = urls[name][i], clients[name]
            started = time.perf_counter_ns()
            response = _get(client, url, htmx)
            elapsed = (time.perf_counter_ns() - started) / 1e6
            if i < warmup:
                continue
            results[name].times_ms.append(elapsed)
            if name in SEARCHES and b"No patient matches" in response.content:
                results[name].no_hits += 1
    return results


class QueryLog:
    """A connection.execute_wrapper that keeps each query's SQL, params and duration."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Any, float]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return execute(sql, params, many, context)
        finally:
            self.entries.append((sql, params, (time.perf_counter_ns() - started) / 1e6))


@contextmanager
def logging_queries() -> Iterator[QueryLog]:
    from django.db import connection

    log = QueryLog()
    with connection.execute_wrapper(log):
        yield log


def count_queries(
    clients: dict[str, Any],
    urls: dict[str, list[str]],
    results: dict[str, Result],
    n: int,
    htmx: bool,
) -> None:
    """A separate, untimed pass: SQL statements per request, and how many of them write."""
    for name in SCENARIOS:
        for url in urls[name][-n:]:
            with logging_queries() as log:
                _get(clients[name], url, htmx)
            statements = [sql.lstrip().split(None, 1)[0].upper() for sql, _, _ in log.entries]
            results[name].queries.append(len(statements))
            results[name].writes.append(
                sum(verb in {"INSERT", "UPDATE", "DELETE"} for verb in statements)
            )


# --- query plans -----------------------------------------------------------------------------


def _patient_selects(log: QueryLog) -> list[tuple[str, str, Any]]:
    """The list view's patient queries: ('count'|'page', sql, params)."""
    found = []
    for sql, params, _ in log.entries:
        if sql.lstrip().upper().startswith("SELECT") and 'FROM "patients_patient"' in sql:
            found.append(("count" if "COUNT(*)" in sql else "page", sql, params))
    return found


def print_plans(client: Any, urls: dict[str, list[str]], htmx: bool) -> None:
    print("\nQuery plans of the patient SELECTs (one request per scenario)")
    print("=" * 72)
    for name in ("list", *SEARCHES):
        url = urls[name][-1]
        with logging_queries() as log:
            _get(client, url, htmx)
        print(f"\n{LABELS[name]}: GET {url}")
        for kind, sql, params in _patient_selects(log):
            title = "main SELECT (page of 25)" if kind == "page" else "paginator COUNT"
            print(f"  -- {title}: {sql_time_ms(sql, params):.2f} ms (median of 7, all rows)")
            print(f"  SQL: {sql}\n  params: {list(params or ())}")
            for line in explain(sql, params):
                print(f"    {line}")


# --- report ----------------------------------------------------------------------------------


def database_info() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT version(), datcollate FROM pg_database WHERE datname = current_database()"
            )
            version, collate = cursor.fetchone()
            return (
                f"{version.split(' on ')[0]}, database collation {collate}, "
                "VACUUM ANALYZE after seeding (as autovacuum would)"
            )
        cursor.execute("SELECT sqlite_version()")
        (version,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        (has_stats,) = cursor.fetchone()
        stats = "with ANALYZE statistics" if has_stats else "no ANALYZE statistics, as deployed"
        return f"SQLite {version}, {stats} (file {connection.settings_dict['NAME']})"


def print_report(
    results: dict[str, Result],
    seeded: Seeded,
    args: argparse.Namespace,
    patients: int,
    urls: dict[str, list[str]],
) -> None:
    import django

    print("\nketacare patient search benchmark")
    print("=" * 72)
    print(f"platform:  {platform.platform()} ({platform.machine()})")
    print(f"cpu count: {os.cpu_count()}")
    print(f"python:    {platform.python_implementation()} {platform.python_version()}")
    print(f"django:    {django.get_version()}")
    print(f"database:  {database_info()}")
    print(
        f"patients:  {patients:,} in one clinic "
        f"(seeded in {seeded.seconds:.1f} s, seed {args.seed})"
    )
    print(
        f"requests:  {args.requests} timed per scenario after {args.warmup} warm-up, "
        f"interleaved in random order; django.test.Client, in process, nurse signed in"
        + ("; searches sent as htmx partials (HX-Request)" if args.htmx else "")
    )
    print("examples:  " + "; ".join(f"{n}: {urls[n][-1]}" for n in SEARCHES))

    bare = results["bare"]
    header = (
        f"{'scenario':<50} {'median':>9} {'p95':>9} {'med/bare':>9} {'p95/bare':>9} "
        f"{'queries':>7} {'writes':>6}"
    )
    print(f"\n{header}\n{'-' * len(header)}")
    for name in SCENARIOS:
        r = results[name]
        print(
            f"{LABELS[name]:<50} {r.median:>7.2f}ms {r.p95:>7.2f}ms "
            f"{r.median / bare.median:>8.1f}x {r.p95 / bare.p95:>8.1f}x "
            f"{statistics.median(r.queries):>7.0f} {statistics.median(r.writes):>6.0f}"
        )
    print(
        "\nmedian/p95: wall-clock per request. Ratios: to the bare view's median/p95 (row a).\n"
        "queries/writes: SQL statements per request (writes: INSERT/UPDATE/DELETE, e.g. the\n"
        "session save and audit events), counted in a separate untimed pass; commits not counted."
    )

    print(f"\nGoal: search p95 under {GOAL_RATIO:.0f}x the bare view's p95 (not enforced).")
    for name in SEARCHES:
        r = results[name]
        ratio = r.p95 / bare.p95
        verdict = "met" if ratio < GOAL_RATIO else "NOT met"
        print(f"  {LABELS[name]:<50} {ratio:>6.1f}x  {verdict}")
        if r.no_hits:
            print(f"    WARNING: {r.no_hits} searches for a seeded patient found no patient")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000, help="patients to seed")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per scenario")
    parser.add_argument("--seed", type=int, default=20240601, help="random seed")
    parser.add_argument(
        "--sqlite-analyze",
        action="store_true",
        help="run ANALYZE after seeding SQLite (ketacare itself never does)",
    )
    parser.add_argument(
        "--htmx", action="store_true", help="send searches as htmx partial requests"
    )
    args = parser.parse_args(argv)
    if args.patients < 1 or args.requests < 1 or args.warmup < 0:
        parser.error("--patients and --requests must be positive, --warmup not negative")

    return run_isolated(BENCH_DB_NAME, parser, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command
    from django.test import Client

    from ketacare.patients.models import Patient

    rng = random.Random(args.seed)
    print(f"migrating and seeding {args.patients:,} patients ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    seeded = seed(args.patients, rng, sqlite_analyze=args.sqlite_analyze)
    patients = Patient.objects.filter(clinic=seeded.clinic).count()

    client = Client()
    client.force_login(seeded.nurse)
    clients = {name: client for name in SCENARIOS}
    clients["bare_anon"] = Client()
    urls = build_urls(seeded, args.warmup + args.requests, rng)
    print(f"measuring {len(SCENARIOS)} scenarios x {args.requests} requests ...", flush=True)
    results = measure(clients, urls, args.warmup, args.htmx, rng)
    count_queries(clients, urls, results, min(30, args.requests), args.htmx)

    print_report(results, seeded, args, patients, urls)
    print_plans(client, urls, args.htmx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
