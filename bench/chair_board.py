"""Chair board under load: htmx polling and vital-sign entry by 20 staff, through gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/chair_board.py [--sessions 40] [--clients 20] [--seconds 16]

PostgreSQL only (the target deployment; concurrent writers lock the session rows and the
audit chain head): a separate database, ``ketacare_bench_chair_board``, is created on the
server named by DATABASE_URL and dropped at the end. The real data directory is never
touched: KETACARE_DATA_DIR and SECRET_KEY are throwaways.

Today's board is seeded through the dosing day's actions with a mix of states (scheduled,
checked in, dosing, monitoring with observations and open alerts). The app is served by
``ketacare serve`` (gunicorn, sync workers) in a subprocess on a free local port. N clients
(asyncio, stdlib only, one process), each signed in through the login form as its own nurse,
loop with no think time: (a) GET the board partial as htmx polling does, and every
--write-every-th request POST a vital-sign observation to a dosing or monitoring session;
(b) for context, board GETs only, and (b') the same by one client alone (the work without
queueing for a worker); (r) the reference, measured in the same run by the same clients:
``/healthz``, a view that runs ``SELECT 1`` behind the same middleware and session. Ratios
are to (r). Scenarios run in rounds, each in a new random order. Latency is the client's
(queueing for a free worker included); the time inside the worker is read from gunicorn's
access log.

Informational: timing never affects the exit status. It is 1 only if requests failed
(transport error, status other than 2xx/3xx, a board that is not the table, a POST not
answered by its redirect) in more than --max-error-rate of all requests, or if the
observations in the database do not match the POSTs that were answered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlencode

from djangobench import cpu_model, run_isolated

BENCH_DB_NAME = "ketacare_bench_chair_board"
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30.0  # gunicorn's own worker timeout
PASSWORD_LENGTH = 24

SCENARIOS = ("reference", "mixed", "board", "alone")
ALONE = "alone"  # one client: the time of the work itself, without queueing for a worker
REFERENCE = "reference"
ROWS = (
    ("reference", "health", "(r) /healthz, signed in (reference)"),
    ("mixed", "board", "(a) mixed: board partial GET"),
    ("mixed", "observation", "(a) mixed: observation POST"),
    ("mixed", None, "(a) mixed: all requests"),
    ("board", "board", "(b) board partial GET only"),
    (ALONE, "board", "(b') board partial GET, 1 client alone"),
)

NORMAL = {"systolic": 124, "diastolic": 78, "heart_rate": 72, "spo2": 98, "respiratory_rate": 14}
HIGH_BP_PRE_DOSE = {"systolic": 152, "diastolic": 95}  # stops the pre-dose gate (> 140/90)
SEVERE_BP = {"systolic": 186, "diastolic": 112}  # raises an alert while monitoring (> 180/110)

FAMILY = (  # noqa: SIM905 (a list literal would be one name a line)
    "Nguyen García Smith O'Brien Kowalski Haddad Johnson Müller Okonkwo Rossi Andersson Patel "
    "Kim Novák Silva Brown Dubois Yamamoto Walker Ivanova Sørensen Ibáñez Mensah Lindqvist"
).split()
GIVEN = (  # noqa: SIM905
    "Alex Jordan Sam Taylor Morgan Casey Riley Jamie Avery Quinn Elena Marcus Aisha Hiroshi "
    "Fatima Liam Sofía Noah Zoë Mateo Chloé Kwame Ingrid Ravi"
).split()


# --- setup -----------------------------------------------------------------------------------


@dataclass
class Seeded:
    day: date
    nurses: list[str]  # usernames, one per client
    password: str
    observable: list[int]  # sessions in dosing or monitoring: the POST targets
    states: Counter[str]
    observations: int
    open_alerts: int
    seconds: float


@contextmanager
def _clock(minutes_ago: float) -> Iterator[None]:
    """Run actions as if it were ``minutes_ago`` minutes ago, as the demo's board does
    (ketacare.web.demo_sessions): what happened earlier today is recorded at its time."""
    from django.utils import timezone

    moment = timezone.now() - timedelta(minutes=minutes_ago)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def dea_number(serial: int) -> str:
    """A well-formed DEA number (check digit computed)."""
    digits = [int(c) for c in f"{100000 + serial:06d}"[-6:]]
    check = (digits[0] + digits[2] + digits[4] + 2 * (digits[1] + digits[3] + digits[5])) % 10
    return "BK" + "".join(map(str, digits)) + str(check)


def vitals(rng: random.Random, **changes: int) -> dict[str, int]:
    """A normal observation, a little different each time (no alert, no gate)."""
    values = {
        "systolic": rng.randint(112, 138),
        "diastolic": rng.randint(66, 86),
        "heart_rate": rng.randint(60, 94),
        "spo2": rng.randint(95, 99),
        "respiratory_rate": rng.randint(12, 18),
        "moaas": rng.choice((4, 5, 5)),
        "cadss": rng.randint(0, 24),
    }
    values.update(changes)
    return values


def state_counts(sessions: int) -> dict[str, int]:
    scheduled = round(sessions * 0.25)
    checked_in = round(sessions * 0.20)
    dosing = round(sessions * 0.20)
    return {
        "scheduled": scheduled,
        "checked_in": checked_in,
        "dosing": dosing,
        "monitoring": sessions - scheduled - checked_in - dosing,
    }


def seed(sessions: int, clients: int, rng: random.Random) -> Seeded:
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.test.utils import override_settings
    from django.utils import timezone

    from ketacare.accounts.actions import create_clinic, create_staff
    from ketacare.accounts.models import Clinic, User
    from ketacare.accounts.permissions import Role
    from ketacare.actor import SYSTEM, Actor
    from ketacare.inventory import actions as inventory
    from ketacare.patients import actions as patient_actions
    from ketacare.patients.models import ConsentRecord, Patient
    from ketacare.planning import actions as planning
    from ketacare.planning.actions import PlanRequest
    from ketacare.treatments import actions
    from ketacare.treatments.actions import Checklist, Supply
    from ketacare.treatments.models import DoseStep, Observation, SessionAlert, TreatmentSession
    from ketacare.web.demo_planning import CLEAR_EVALUATION

    started = time.perf_counter()
    password = secrets.token_urlsafe(PASSWORD_LENGTH)
    clinic = create_clinic(SYSTEM, "Benchmark Ketamine Clinic")
    # The clinic treats every day, so that today is a clinic day (as tests/treatments does).
    Clinic.objects.filter(pk=clinic.pk).update(treatment_days="0123456")
    clinic.refresh_from_db()

    # Setup only: a fast hasher for the accounts made here, so 80 signatures do not cost
    # 80 Argon2 checks. The nurses then get one real (Argon2) hash, made once and shared,
    # because the server checks it when they sign in through the login form.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        staff = {
            name: create_staff(
                SYSTEM,
                clinic=clinic,
                username=f"bench.{name}",
                password=password,
                role=role,
                first_name="Bench",
                last_name=name.replace("_", " ").title(),
            )
            for name, role in (
                ("prescriber", Role.PRESCRIBER),
                ("clinic_admin", Role.CLINIC_ADMIN),
                *((f"nurse{i:02d}", Role.NURSE) for i in range(1, clients + 1)),
            )
        }
    nurses = [name for name in staff if name.startswith("nurse")]
    User.objects.filter(pk__in=[staff[n].pk for n in nurses]).update(
        password=make_password(password)
    )

    def as_role(name: str, role: Role) -> Actor:
        return Actor(user=staff[name], role=role.value, clinic=clinic, ip="127.0.0.1")

    nurse = as_role("nurse01", Role.NURSE)
    prescriber = as_role("prescriber", Role.PRESCRIBER)
    admin = as_role("clinic_admin", Role.CLINIC_ADMIN)

    registration = inventory.create_registration(admin, dea_number(1), "Bench registrant", "")
    safe = inventory.add_location(admin, registration.pk, "Main safe", "safe")
    lots = {}
    for ndc, name, drug, form, mg, unit, units in (
        (
            "00000-0101-20",
            "Ketamine 10 mg/mL 20 mL",
            "racemic_ketamine",
            "vial",
            "10",
            "mL",
            "2000",
        ),
        (
            "00000-0228-02",
            "Esketamine 28 mg device",
            "esketamine",
            "nasal_device",
            "28",
            "device",
            "200",
        ),
    ):
        product = inventory.add_product(
            admin,
            ndc=ndc,
            name=name,
            drug=drug,
            form=form,
            mg_per_unit=Decimal(mg),
            unit=unit,
            units_per_package=Decimal(1),
        )
        lots[drug] = inventory.receive(
            nurse,
            registration.pk,
            product_id=product.pk,
            lot_number=f"L-{drug[:3].upper()}",
            expires_on=timezone.localdate() + timedelta(days=300),
            location_id=safe.pk,
            units=units,
            supplier="Acme Pharma",
            invoice="INV-1",
        ).lot

    def supply(drug: str) -> Supply:
        units = "2" if drug == "esketamine" else "20"
        return Supply(registration.pk, lots[drug].pk, safe.pk, units)

    ready = Checklist(True, True, "not_applicable", True)
    today = timezone.localdate()
    counts = state_counts(sessions)
    plan_of_states = [state for state, n in counts.items() for _ in range(n)]
    observable: list[int] = []
    alerts_wanted = min(2, counts["monitoring"])
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for index, state in enumerate(plan_of_states):
            # Esketamine for every fourth patient, except while dosing (its dosing phase is
            # the five minutes between two devices).
            esketamine = index % 4 == 3 and state != "dosing"
            patient = patient_actions.create_patient(
                nurse,
                {
                    "given_name": GIVEN[index % len(GIVEN)],
                    "family_name": FAMILY[(index * 7) % len(FAMILY)],
                    "date_of_birth": date(1950 + rng.randrange(50), rng.randint(1, 12), 15),
                    "sex_at_birth": rng.choice(
                        (Patient.SexAtBirth.FEMALE, Patient.SexAtBirth.MALE)
                    ),
                    "allergies": "NKDA",
                    "weight_kg": Decimal(rng.randrange(520, 980)) / 10,
                    "height_cm": Decimal(rng.randrange(1550, 1900)) / 10,
                },
            )
            evaluation = planning.start_evaluation(nurse, patient, dict(CLEAR_EVALUATION), "")
            planning.complete_evaluation(nurse, evaluation.pk)
            planning.sign_evaluation(prescriber, evaluation.pk, password)
            request = (
                PlanRequest("esketamine_trd", Decimal("56"), today)
                if esketamine
                else PlanRequest("iv_ketamine", Decimal("0.5"), today, Decimal("10"), 40)
            )
            plan = planning.draft_plan(prescriber, evaluation.pk, request)
            plan = planning.sign_plan(prescriber, plan.pk, password)
            patient_actions.record_consent(
                nurse,
                patient,
                {
                    "kind": ConsentRecord.Kind.TREATMENT_ESKETAMINE
                    if esketamine
                    else ConsentRecord.Kind.TREATMENT_KETAMINE,
                    "version": "2026-1",
                    "decision": "granted",
                    "signed_at": timezone.now(),
                    "signed_by": patient.full_name,
                },
            )
            session = actions.open_session(
                nurse, plan.sessions.get(number=1).pk, f"Chair {index + 1:02d}"
            )
            if session.date != today:
                raise RuntimeError(f"session {session.pk} is on {session.date}, not today")
            if state == "scheduled":
                continue

            if state == "checked_in":
                arrived = rng.uniform(6, 25)
                with _clock(arrived):
                    actions.check_in(nurse, session.pk, ready)
                slot = index - counts["scheduled"]
                if slot < 2:
                    continue  # waiting for pre-dose vitals
                pre_dose = HIGH_BP_PRE_DOSE if slot == 2 else {}
                with _clock(arrived - 4):
                    actions.record_observation(nurse, session.pk, vitals(rng, **pre_dose))
                continue

            # Dosing: an IV infusion started 3-35 min ago. Monitoring: dosed 45-130 min ago
            # (IV: the infusion ended after 40 min; esketamine: the second device 5 min
            # later). Vital signs every 10-18 min since the dose. All in time order.
            dosed = rng.uniform(3, 35) if state == "dosing" else rng.uniform(45, 130)
            drug = "esketamine" if esketamine else "racemic_ketamine"
            timeline: list[tuple[float, str]] = [
                (dosed + 20, "check_in"),
                (dosed + 12, "pre_dose"),
                (dosed, "dose"),
            ]
            if state == "monitoring":
                timeline.append((dosed - 5, "device") if esketamine else (dosed - 40, "end"))
            at = dosed - rng.uniform(8, 12)
            while at > 1:
                timeline.append((at, "observe"))
                at -= rng.uniform(10, 18)
            timeline.sort(key=lambda event: -event[0])
            last_observation = max(
                (i for i, (_, what) in enumerate(timeline) if what == "observe"), default=-1
            )
            for position, (minutes_ago, what) in enumerate(timeline):
                with _clock(minutes_ago):
                    if what == "check_in":
                        actions.check_in(nurse, session.pk, ready)
                    elif what == "pre_dose":
                        actions.record_observation(nurse, session.pk, vitals(rng))
                    elif what == "dose":
                        actions.start_dose(nurse, session.pk, supply(drug))
                    elif what == "device":
                        actions.give_device(nurse, session.pk)
                    elif what == "end":
                        actions.infusion_step(nurse, session.pk, DoseStep.Kind.INFUSION_END)
                    else:
                        alert = (
                            state == "monitoring"
                            and position == last_observation
                            and alerts_wanted > 0
                        )
                        alerts_wanted -= alert
                        values = vitals(rng, **(SEVERE_BP if alert else {}))
                        actions.record_observation(nurse, session.pk, values)
            observable.append(session.pk)

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return Seeded(
        day=today,
        nurses=[staff[n].username for n in nurses],
        password=password,
        observable=observable,
        states=Counter(
            TreatmentSession.objects.filter(clinic=clinic).values_list("state", flat=True)
        ),
        observations=Observation.objects.count(),
        open_alerts=SessionAlert.objects.filter(acknowledged_at__isnull=True).count(),
        seconds=time.perf_counter() - started,
    )


def in_process_profile(seeded: Seeded) -> dict[str, Any]:
    """SQL statements of one board partial and one observation POST, counted in process with
    django.test.Client (untimed), and the partial's size."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from ketacare.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=seeded.nurses[0]))
    headers = {"HX-Request": "true", "X-Ketacare-Poll": "1"}
    board = f"{reverse('chair-board')}?date={seeded.day.isoformat()}"
    client.get(board, headers=headers)  # caches (templates, protocols) warm
    with CaptureQueriesContext(connection) as captured:
        response = client.get(board, headers=headers)
    assert response.status_code == 200, response.status_code
    board_statements = len(captured.captured_queries)
    url = reverse("session-observation", kwargs={"session_id": seeded.observable[0]})
    with CaptureQueriesContext(connection) as captured:
        posted = client.post(url, vitals(random.Random(0)))
    assert posted.status_code == 302, posted.status_code
    statements = [q["sql"].lstrip().split(None, 1)[0].upper() for q in captured.captured_queries]
    return {
        "board_statements": board_statements,
        "board_bytes": len(response.content),
        "post_statements": len(statements),
        "post_writes": sum(1 for s in statements if s in ("INSERT", "UPDATE", "DELETE")),
    }


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """``ketacare serve`` (gunicorn, sync workers, access log) in a subprocess, with this
    run's environment: the bench database, the throwaway data directory and key."""

    def __init__(self, workers: int, log: Path) -> None:
        self.port = free_port()
        self.log_path = log
        env = dict(os.environ)
        env.update(ALLOWED_HOSTS=HOST, WEB_CONCURRENCY=str(workers))
        env.pop("KETACARE_BIND", None)
        command = [
            sys.executable,
            "-c",
            "from ketacare.cli import main; main()",
            "serve",
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(workers),
        ]
        self.log = log.open("wb")
        # Its own session: a Ctrl-C reaches this script, which then stops the server.
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.tail()}")
            try:
                reply = asyncio.run(fetch(self.port, "GET", "/healthz", {}, timeout=5))
                if reply.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer /healthz in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- the clients -----------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def cookies(self) -> dict[str, str]:
        jar = {}
        for key, value in self.headers:
            if key == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, content = pair.partition("=")
                jar[name.strip()] = content.strip().strip('"')
        return jar


async def fetch(
    port: int,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes = b"",
    timeout: float = REQUEST_TIMEOUT,
) -> Reply:
    """One HTTP/1.1 request on a new connection, read to the end. Gunicorn's sync workers
    close the connection after every response, as they do for a browser."""

    async def exchange() -> Reply:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            lines = [
                f"{method} {target} HTTP/1.1",
                f"Host: {HOST}:{port}",
                "Connection: close",
                "User-Agent: ketacare-bench",
                *(f"{k}: {v}" for k, v in headers.items()),
            ]
            if method == "POST":
                lines.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        head, _, payload = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ConnectionError(f"not an HTTP response: {status_line[:60]!r}")
        pairs = []
        for line in header_lines:
            key, _, value = line.partition(":")
            pairs.append((key.strip().lower(), value.strip()))
        reply = Reply(int(parts[1]), pairs, payload)
        length = reply.header("content-length")
        if reply.header("transfer-encoding"):
            raise ConnectionError("chunked response: not supported by this client")
        if length is not None:
            if len(payload) < int(length):
                raise ConnectionError(f"short body: {len(payload)} of {length} bytes")
            reply.body = payload[: int(length)]
        return reply

    return await asyncio.wait_for(exchange(), timeout)


CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Staff:
    """One simulated workstation: a nurse signed in, with her cookies."""

    username: str
    session: str = ""
    csrf: str = ""

    @property
    def cookie(self) -> str:
        return f"sessionid={self.session}; csrftoken={self.csrf}"


async def sign_in(port: int, staff: Staff, password: str, board: str) -> None:
    """Through the login form, as a browser does: its CSRF token, then the POST."""
    page = await fetch(port, "GET", "/login/", {})
    found = CSRF_FIELD.search(page.body)
    csrf = page.cookies().get("csrftoken")
    if page.status != 200 or not found or not csrf:
        raise RuntimeError(f"{staff.username}: no login form ({page.status})")
    form = urlencode(
        {
            "csrfmiddlewaretoken": found.group(1).decode(),
            "username": staff.username,
            "password": password,
            "next": board,
        }
    ).encode()
    reply = await fetch(
        port,
        "POST",
        "/login/",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"},
        form,
    )
    jar = reply.cookies()
    if reply.status != 302 or "sessionid" not in jar:
        raise RuntimeError(f"{staff.username}: sign-in refused ({reply.status})")
    staff.session = jar["sessionid"]
    staff.csrf = jar.get("csrftoken", csrf)  # rotated at sign-in


@dataclass
class Outcome:
    """One scenario round of all clients: latencies (ms) by kind, failures by kind and reason."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    # Time in the worker, from gunicorn's access log (%(L)s): the work without the queue.
    server_ms: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Load:
    port: int
    board: str  # the partial's URL, with today's date as htmx polls it
    observable: list[int]
    write_every: int
    access_log: Path


# ketacare serve's access log format: '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
ACCESS_LINE = re.compile(r'"(GET|POST) (\S+)" \d{3} \S+ (\d+(?:\.\d+)?)s$')
OBSERVATION_PATH = re.compile(r"/sessions/\d+/observations/")


def server_times(log: Path, start: int, end: int) -> dict[str, list[float]]:
    """Worker time (ms) by kind of request, from the access log lines in [start, end)."""
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read(end - start).decode("utf-8", "replace")
    times: dict[str, list[float]] = {}
    for line in text.splitlines():
        found = ACCESS_LINE.search(line)
        if not found:
            continue
        method, path, seconds = found.groups()
        if path == "/healthz":
            kind = "health"
        elif path == "/board/":
            kind = "board"
        elif method == "POST" and OBSERVATION_PATH.fullmatch(path):
            kind = "observation"
        else:
            continue
        times.setdefault(kind, []).append(float(seconds) * 1000)
    return times


def check(kind: str, reply: Reply, session_id: int | None) -> str | None:
    """Why this reply is a failure, or None."""
    if not 200 <= reply.status < 400:
        return f"HTTP {reply.status}"
    if kind == "health":
        return None if reply.body == b"ok" else "unexpected body"
    if kind == "board":
        if reply.header("hx-redirect"):
            return "signed out (HX-Redirect to the login page)"
        if reply.status != 200 or b'id="chair-board"' not in reply.body:
            return f"HTTP {reply.status} without the board table"
        return None
    if reply.status != 302:
        return f"HTTP {reply.status} instead of the redirect (form refused)"
    location = reply.header("location") or ""
    if not location.endswith(f"/sessions/{session_id}/"):
        return f"redirect to {location[:40]!r}"
    return None


async def client_loop(
    load: Load, scenario: str, staff: Staff, index: int, deadline: float, out: Outcome
) -> None:
    rng = random.Random(f"{scenario}-{index}-{deadline}")
    poll = {"Cookie": staff.cookie, "HX-Request": "true", "X-Ketacare-Poll": "1"}
    health = {"Cookie": staff.cookie}
    number = index  # staggered, so the clients do not all write at once
    while time.monotonic() < deadline:
        session_id = None
        if scenario == REFERENCE:
            kind, call = "health", fetch(load.port, "GET", "/healthz", health)
        elif scenario == "mixed" and number % load.write_every == load.write_every - 1:
            kind = "observation"
            session_id = rng.choice(load.observable)
            form = urlencode({"csrfmiddlewaretoken": staff.csrf, **vitals(rng)}).encode()
            headers = {
                "Cookie": staff.cookie,
                "Content-Type": "application/x-www-form-urlencoded",
            }
            call = fetch(load.port, "POST", f"/sessions/{session_id}/observations/", headers, form)
        else:
            kind, call = "board", fetch(load.port, "GET", load.board, poll)
        number += 1
        began = time.perf_counter_ns()
        try:
            problem = check(kind, await call, session_id)
        except Exception as error:  # counted, not raised: a failed request is a finding
            problem = f"{type(error).__name__}: {str(error)[:60]}"
        elapsed_ms = (time.perf_counter_ns() - began) / 1e6
        if problem:
            out.errors[(kind, problem)] += 1
        else:
            out.latencies.setdefault(kind, []).append(elapsed_ms)


async def run_round(load: Load, scenario: str, staff: list[Staff], seconds: float) -> Outcome:
    out = Outcome()
    logged = load.access_log.stat().st_size
    cpu = time.process_time()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(client_loop(load, scenario, s, i, deadline, out) for i, s in enumerate(staff))
    )
    out.seconds = time.monotonic() - started  # until the last request in flight is answered
    out.cpu_seconds = time.process_time() - cpu
    await asyncio.sleep(0.2)  # a worker logs a request just after answering it
    out.server_ms = server_times(load.access_log, logged, load.access_log.stat().st_size)
    return out


async def drive(
    load: Load, staff: list[Staff], password: str, args: argparse.Namespace
) -> tuple[list[Outcome], dict[str, list[Outcome]]]:
    """Sign every client in, warm up (untimed), then the scenarios' rounds."""
    await asyncio.gather(*(sign_in(load.port, s, password, load.board) for s in staff))
    # Every worker loads its templates, protocols and database connection.
    warmup = [await run_round(load, name, staff, 1.0) for name in ("mixed", REFERENCE)]
    rng = random.Random(args.seed)
    rounds: dict[str, list[Outcome]] = {name: [] for name in SCENARIOS}
    for number in range(args.rounds):
        order = rng.sample(SCENARIOS, len(SCENARIOS))
        print(f"round {number + 1}/{args.rounds}: {', '.join(order)} ...", flush=True)
        for name in order:
            clients = staff[:1] if name == ALONE else staff
            rounds[name].append(await run_round(load, name, clients, args.seconds / args.rounds))
    return warmup, rounds


# --- report ----------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    label: str
    latencies: list[float]
    server_ms: list[float]
    seconds: float
    errors: int
    rates: list[float]  # req/s of each round

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float, server: bool = False) -> float:
        values = self.server_ms if server else self.latencies
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def rows_of(rounds: dict[str, list[Outcome]]) -> list[Row]:
    rows = []
    for scenario, kind, label in ROWS:
        outcomes = rounds[scenario]
        kinds = [kind] if kind else ["board", "observation"]
        rows.append(
            Row(
                scenario=scenario,
                label=label,
                latencies=[ms for o in outcomes for k in kinds for ms in o.latencies.get(k, [])],
                server_ms=[ms for o in outcomes for k in kinds for ms in o.server_ms.get(k, [])],
                seconds=sum(o.seconds for o in outcomes),
                errors=sum(n for o in outcomes for (k, _), n in o.errors.items() if k in kinds),
                rates=[
                    sum(len(o.latencies.get(k, [])) for k in kinds) / o.seconds for o in outcomes
                ],
            )
        )
    return rows


def database_info() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version(), current_setting('synchronous_commit'), "
            "current_setting('max_connections')"
        )
        version, synchronous_commit, max_connections = cursor.fetchone()
    return (
        f"{version.split(' on ')[0]}, synchronous_commit={synchronous_commit}, "
        f"max_connections={max_connections}"
    )


def print_report(
    rounds: dict[str, list[Outcome]],
    args: argparse.Namespace,
    seeded: Seeded,
    profile: dict[str, Any],
) -> list[Row]:
    import django

    states = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(seeded.states.items()))
    print("\nketacare chair board benchmark")
    print("=" * 72)
    print(f"platform:  {platform.platform()} ({platform.machine()})")
    print(
        f"cpu:       {cpu_model()}, {os.cpu_count()} logical CPUs shared by the server, "
        "PostgreSQL and the clients"
    )
    print(f"python:    {platform.python_implementation()} {platform.python_version()}")
    print(f"django:    {django.get_version()}")
    print(f"database:  {database_info()}")
    print(
        f"server:    ketacare serve: gunicorn, {args.workers} sync workers, access log to a "
        "file, persistent DB connections (CONN_MAX_AGE=60)"
    )
    print(
        f"clients:   {args.clients} asyncio clients in one process, each signed in as its own "
        "nurse through the login form; closed loop, no think time; a new TCP connection per "
        "request (sync workers close it after each response)"
    )
    print(
        f"mix:       (a) every {args.write_every}th request of each client is an observation "
        f"POST to one of {len(seeded.observable)} dosing/monitoring sessions, the others GET "
        "the board partial (HX-Request: true, X-Ketacare-Poll: 1)"
    )
    print(
        f"time:      {args.seconds:g} s per scenario in {args.rounds} rounds, each in a new "
        "random order"
    )
    print(
        f"seeded:    {sum(seeded.states.values())} sessions today ({states}); "
        f"{seeded.observations} observations, {seeded.open_alerts} open alerts; "
        f"in {seeded.seconds:.1f} s"
    )
    print(
        f"queries:   board partial: {profile['board_statements']} SQL statements, "
        f"{profile['board_bytes'] / 1024:.1f} KiB; observation POST: "
        f"{profile['post_statements']} statements, {profile['post_writes']} of them writes "
        "(counted in process, untimed)"
    )

    rows = rows_of(rounds)
    reference = rows[0]
    header = (
        f"{'scenario':<38} {'requests':>8} {'req/s':>6} {'p50':>8} {'p95':>8} "
        f"{'req/s÷r':>8} {'p50÷r':>6} {'p95÷r':>6} {'errors':>6} {'worker p50':>10} {'p95':>7}"
    )
    print(f"\n{header}\n{'-' * len(header)}")
    for row in rows:
        ratios = (
            f"{'-':>8} {'-':>6} {'-':>6}"  # one client against twenty: not comparable
            if row.scenario == ALONE
            else f"{row.rate / reference.rate:>7.3f}x "
            f"{row.percentile(50) / reference.percentile(50):>5.1f}x "
            f"{row.percentile(95) / reference.percentile(95):>5.1f}x"
        )
        print(
            f"{row.label:<38} {row.requests:>8} {row.rate:>6.1f} {row.percentile(50):>6.1f}ms "
            f"{row.percentile(95):>6.1f}ms {ratios} {row.errors:>6} "
            f"{row.percentile(50, server=True):>8.1f}ms {row.percentile(95, server=True):>5.1f}ms"
        )
    print("\nreq/s by round (how steady the machine was):")
    for row in rows:
        print(f"  {row.label:<38} {'  '.join(f'{rate:6.1f}' for rate in row.rates)}")

    def cpu_share(name: str) -> float:
        return sum(o.cpu_seconds for o in rounds[name]) / sum(o.seconds for o in rounds[name])

    shares = ", ".join(f"{name} {cpu_share(name):.0%}" for name in SCENARIOS)
    print(f"load generator CPU (share of one CPU): {shares}")
    print(
        "\nreq/s: answered requests per second, all clients together, over the scenario's\n"
        "wall-clock time; for the rows of (a), that kind only (the two add up to 'all').\n"
        "p50/p95: one request as the client sees it, from connect to the last byte, waiting\n"
        "for a free worker included. Ratios: to (r), /healthz with the same cookies. worker\n"
        "p50/p95: the time gunicorn logged for the request inside its worker, no queue."
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=40, help="sessions on today's board")
    parser.add_argument("--clients", type=int, default=20, help="simulated staff clients")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument(
        "--seconds", type=float, default=16.0, help="time per scenario, all rounds together"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds, each scenario in a new random order"
    )
    parser.add_argument(
        "--write-every",
        type=int,
        default=5,
        help="every Nth request of a client in (a) is a POST (5: an 80/20 read/write mix)",
    )
    parser.add_argument(
        "--max-error-rate",
        type=float,
        default=0.001,
        help="failed requests tolerated, as a share of all requests, before exit status 1",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=20261206,
        help="random seed (the default puts every scenario at a new place in round 2)",
    )
    args = parser.parse_args(argv)
    if min(args.clients, args.workers, args.rounds) < 1 or args.seconds <= 0:
        parser.error("--clients, --workers, --rounds and --seconds must be positive")
    if args.sessions < 8 or args.write_every < 2:
        parser.error("--sessions must be at least 8 and --write-every at least 2")
    if not os.environ.get("DATABASE_URL", "").strip():
        parser.error(
            "set DATABASE_URL to a PostgreSQL server: the target deployment, and SQLite would "
            "serialize every writer"
        )
    return run_isolated(BENCH_DB_NAME, parser, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command
    from django.db import connections

    from ketacare.treatments.models import Observation

    print("migrating and seeding ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    seeded = seed(args.sessions, args.clients, random.Random(args.seed))
    profile = in_process_profile(seeded)
    observations_before = Observation.objects.count()
    connections.close_all()

    print(f"starting ketacare serve with {args.workers} workers ...", flush=True)
    log = Path(os.environ["KETACARE_DATA_DIR"]).parent / "server.log"
    server = Server(args.workers, log)
    try:
        server.wait_ready()
        load = Load(
            port=server.port,
            board=f"/board/?{urlencode({'date': seeded.day.isoformat()})}",
            observable=seeded.observable,
            write_every=args.write_every,
            access_log=log,
        )
        staff = [Staff(username) for username in seeded.nurses]
        warmup, rounds = asyncio.run(drive(load, staff, seeded.password, args))
        tracebacks = server.tail(100_000).count("Traceback")
    finally:
        server.stop()

    print_report(rounds, args, seeded, profile)
    everything = [*warmup, *(o for outcomes in rounds.values() for o in outcomes)]
    errors: Counter[tuple[str, str]] = Counter()
    for outcome in everything:
        errors.update(outcome.errors)
    print()
    for (kind, reason), count in errors.most_common(10):
        print(f"error: {count} x {kind}: {reason}")
    if tracebacks:
        print(f"the server logged {tracebacks} tracebacks")

    # Every POST answered by its redirect is one observation; one that failed may or may not
    # have been written.
    answered = sum(len(o.latencies.get("observation", [])) for o in everything)
    unsure = sum(n for o in everything for (k, _), n in o.errors.items() if k == "observation")
    recorded = Observation.objects.count() - observations_before
    consistent = answered <= recorded <= answered + unsure
    print(
        f"observations: {recorded} written by the server; {answered} POSTs answered with the "
        f"redirect, {unsure} failed (warm-up included){'' if consistent else ': MISMATCH'}"
    )
    total = sum(len(ms) + 0 for o in everything for ms in o.latencies.values()) + sum(
        errors.values()
    )
    failed = sum(errors.values())
    tolerated = int(args.max_error_rate * total)
    print(f"failed requests: {failed} of {total}, warm-up included (tolerated: {tolerated})")
    return 1 if failed > tolerated or not consistent else 0


if __name__ == "__main__":
    sys.exit(main())
