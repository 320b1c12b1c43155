"""The synthetic clinic: a whole program — referrals, screening, evaluations, signed plans,
dosing days, questionnaires, stock — for the registry to be developed and measured against.

Every step is one of the app's actions, run at its simulated time with
``django.utils.timezone.now`` patched (as ``web/demo_sessions.py`` does), and all patients'
steps are interleaved in time order, so the audit chain and the ledger read like a clinic's:
each course is a generator that yields the time of its next step, and a queue resumes them
in time order.

Two ways of writing the same steps:

- ``bulk=False`` (the reference): each step calls the action (``patients``, ``measures``,
  ``planning``, ``treatments``, ``inventory``), with its checks, transaction and audit event.
  A few patients a second (``bench/synth_throughput.py``).
- ``bulk=True``: each step appends the rows that action writes — the same fields, the same
  audit ``changes``, the audit and ledger hash chains computed in order, the ids the database
  would give — to batches written with ``executemany``, by a forked writer process while the
  simulation goes on (``writer``). The clinical judgements are the same functions the actions
  call (eligibility verdicts, dose orders, schedules, the pre-dose gate, monitoring alerts,
  scoring, safety signals, the session note, digests). The bulk path does not re-check what
  the simulator guarantees (a valid step in a valid state). ``tests/registry/test_synth.py``
  runs both on the same seed and compares every table row for row, hashes included. About
  20 times faster; run it on a database nobody else writes to meanwhile (it takes the next
  ids itself).

The outcomes are parameters (``SynthParams``): the true response, remission and relapse rates,
severe hypertension, adverse events, dropouts, missed questionnaires. A registry report on
the result should recover them; the tests check that it does.

Deterministic for a seed on a given day: every draw comes from ``random.Random`` instances
seeded from ``SynthParams.seed`` (one per patient, so a patient's story does not depend on who
else is in the clinic), never from the global generator. The program ends at midnight
starting ``end`` (default today, local time); later planned sessions stay on the schedule.
What is realistic and what is simplified: ``bench/README.md`` (``synth_throughput.py``).
"""

import heapq
import json
import math
import multiprocessing
import pickle
import random
import secrets
import time as wallclock
import traceback
import typing
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import cache, partial
from typing import Any
from unittest import mock

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.test.utils import override_settings
from django.utils import timezone

from ketacare.accounts.access import SYSTEM, Actor
from ketacare.accounts.actions import create_clinic, create_staff
from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.audit import checkpoints
from ketacare.audit.chain import event_digest, json_safe
from ketacare.audit.models import AuditEvent, ChainHead
from ketacare.audit.record import Action, chain_head, field_changes, record
from ketacare.bounds import EARLIEST_DATE, date_problem
from ketacare.clinical.eligibility import OVERRIDABLE
from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.instruments import score
from ketacare.clinical.protocols import calculate_dose
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.clinical.protocols.schedule import ScheduleError, induction_schedule, reschedule
from ketacare.clinical.safety import safety_signals
from ketacare.clinical.session import Reading, VitalSigns, alerts, pre_dose_gate
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Counted, Signature
from ketacare.inventory.chain import entry_digest, ledger_head
from ketacare.inventory.models import (
    CountLine,
    LedgerEntry,
    Location,
    Lot,
    PhysicalCount,
    Product,
    Registration,
    StockBalance,
)
from ketacare.measures import actions as measures
from ketacare.measures import links
from ketacare.measures.models import PatientLink, QuestionnaireResponse, SafetyAlert
from ketacare.patients import actions as patients
from ketacare.patients.models import (
    DEMOGRAPHIC_FIELDS,
    BodyMeasurement,
    ConsentRecord,
    Patient,
)
from ketacare.patients.mrn import format_mrn
from ketacare.patients.search import normalize_name
from ketacare.planning import actions as planning
from ketacare.planning.actions import PlanRequest
from ketacare.planning.models import (
    EligibilityOverride,
    Evaluation,
    PlannedSession,
    TreatmentPlan,
)
from ketacare.planning.signature import evaluation_digest, plan_digest
from ketacare.treatments import actions as treatments
from ketacare.treatments.actions import VITAL_FIELDS, Checklist, Supply
from ketacare.treatments.models import (
    AdverseEvent,
    DoseStep,
    Observation,
    RemsSubmission,
    SessionAlert,
    TreatmentSession,
)
from ketacare.treatments.note import session_note
from ketacare.treatments.rems_actions import record_rems_submission

# --- parameters -------------------------------------------------------------------------------

INDICATIONS = ("trd", "mdd_with_suicidal_ideation", "anxiety", "ptsd")


@dataclass(frozen=True)
class SynthParams:
    """What the synthetic program looks like. Rates are probabilities (0–1).

    Outcomes are on the PHQ-9, as the registry reads them (``clinical/outcomes/trajectory``):
    baseline is the score on the first dosing day before the dose; the *endpoint* is the
    latest score within ``endpoint_days`` after the last induction dose.

    - ``response_rate``: share of patients who finish induction whose endpoint score is at
      least 50 % below baseline (McInnes 2022: 53.6 %; Oliver 2022: 50 %).
    - ``remission_rate``: share of the same patients (all of them responders) whose endpoint
      score is below 5 (McInnes 28.9 %; Oliver 20 %).
    - ``relapse_rate``: share of responders whose scores go back above the response line at a
      time uniformly distributed over the ``follow_up_weeks`` after the endpoint window
      (McInnes: ~80 % sustained at 4 weeks, ~60 % at 8 weeks without maintenance), from the
      first follow-up questionnaire sent on or after that time. ``SynthReport.responses``
      keeps each drawn responder's first response and relapse, the truth a test sets
      against the Kaplan-Meier curve.
    - ``severe_hypertension_rate``: dosed sessions with a reading above 180/110 (Yale: 0.98 %).
    """

    patients: int = 200
    seed: int = 0
    months: float = 12
    clinic: str = "Synthetic Ketamine Clinic"
    every_day: bool = False  # a new clinic treats every day; else Monday to Friday
    end: date | None = None  # the program runs until midnight starting this day (default today)

    # Who is referred (shares of INDICATIONS, in order).
    indication_shares: tuple[float, ...] = (0.72, 0.10, 0.10, 0.08)
    female_share: float = 0.58
    intersex_share: float = 0.01
    mean_age: float = 42.0
    # Of depressed patients (TRD, MDD-SI), those planned on esketamine when it is allowed.
    esketamine_share: float = 0.22
    im_share: float = 0.04  # of racemic-ketamine plans, IM instead of IV
    iv_titrated_start_share: float = 0.08  # IV plans that start at 0.75 mg/kg

    # Eligibility: findings that exclude a route or need a specialist's clearance.
    psychosis_rate: float = 0.02  # needs clearance on every route
    vascular_rate: float = 0.015  # aneurysm: esketamine excluded, ketamine needs clearance
    substance_use_rate: float = 0.03  # needs clearance on every route
    clearance_rate: float = 0.5  # of those needing clearance, a specialist clears them

    # Outcomes (see above).
    response_rate: float = 0.536
    remission_rate: float = 0.289
    relapse_rate: float = 0.40
    endpoint_days: int = 28
    follow_up_weeks: int = 8

    # Attendance.
    dropout_rate: float = 0.08  # stop coming during induction
    no_show_rate: float = 0.01  # per session: cancelled on the day
    reschedule_rate: float = 0.03  # per session: moved by phone two days before
    missed_questionnaire_rate: float = 0.15  # home questionnaires never answered
    # Patients who consent to the de-identified research registry at registration (an
    # assumption: the research export leaves out everyone else).
    research_consent_rate: float = 0.9
    # AUDIT-C or DAST-10 positive when screened again at the end of induction (an
    # assumption, for the registry's misuse signal).
    rescreen_positive_rate: float = 0.04

    # The dosing day.
    severe_hypertension_rate: float = 0.0098
    peak_bp_rise: tuple[float, float] = (16.0, 11.0)  # mean peak rise at ~40 min (Yale), mmHg
    gate_recheck_drop: tuple[int, int] = (4, 14)  # mmHg lower after ten minutes' rest
    iv_titration_rate: float = 0.3  # IV non-responders going to 0.75 mg/kg at session 4
    esketamine_84_rate: float = 0.5  # esketamine TRD patients raised to 84 mg from session 2
    # Per dosed session, by drug (kinds of AdverseEvent).
    adverse_event_rates: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "racemic_ketamine": {
                "nausea": 0.08,
                "vomiting": 0.02,
                "headache": 0.05,
                "emergence": 0.04,
                "other": 0.04,
            },
            "esketamine": {
                "nausea": 0.15,
                "vomiting": 0.05,
                "headache": 0.10,
                "emergence": 0.04,
                "other": 0.12,
            },
        }
    )
    tachycardia_rate: float = 0.005
    desaturation_rate: float = 0.002


@dataclass
class SynthReport:
    """What was made, for the command's summary and the benchmark."""

    clinic_id: int = 0
    patients: int = 0
    sessions: int = 0
    dosed: int = 0
    severe_hypertension: int = 0
    questionnaires: int = 0
    steps: int = 0
    seconds: float = 0.0
    write_seconds: float = 0.0  # of which writing batches (bulk path)
    # The truth behind the durability curve, per patient id of a drawn responder: when their
    # PHQ-9 first met the response line, and when the drawn relapse was first reported (the
    # answer to the first questionnaire sent after it began; for a patient whose follow-up
    # the program's end cut short, when it began), None: never.
    responses: dict[int, tuple[datetime, datetime | None]] = field(default_factory=dict)

    def durability_days(self) -> list[float]:
        """Days from the first response to the drawn relapse of every drawn responder who
        reached the relapse draw (inf: never relapses), for a test to set against the
        Kaplan-Meier estimate."""
        return [
            math.inf if onset is None else (onset - responded).total_seconds() / 86400
            for responded, onset in self.responses.values()
        ]


class SynthError(RuntimeError):
    """The generator cannot run as asked (e.g. the clinic already has patients)."""


# --- fictional people -------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN_FEMALE = _words(
    "Maria Elena Sofia Aisha Fatima Chloé Ingrid Zoë Priya Grace Hannah Olivia Emma Ava "
    "Mia Amara Yuki Leila Nadia Rosa Clara Ines Lucia Anna Sara Julia Mei Keisha Tamara"
)
GIVEN_MALE = _words(
    "James Marcus Hiroshi Liam Noah Mateo Kwame Ravi Daniel Omar Lucas Ethan David Samuel "
    "Tomás Ivan Arjun Kenji Malik Andre Felix Jonas Pedro Ali Chen Diego Luca Ben Oscar"
)
GIVEN_ANY = _words("Alex Jordan Sam Taylor Morgan Casey Riley Jamie Avery Quinn Robin Kai")
FAMILY = _words(
    "Nguyen García Smith O'Brien Kowalski Haddad Johnson Müller Okonkwo Rossi Andersson "
    "Patel Kim Novak Silva Brown Dubois Yamamoto Walker Ivanova Martinez Lee Chen Wilson "
    "Anderson Thomas Jackson White Harris Lopez Gonzalez Clark Lewis Robinson Young Hall "
    "Allen King Wright Scott Torres Hill Green Adams Baker Nelson Carter Mitchell Perez"
)
STREETS = _words("Oak Maple Cedar Pine Elm Lake Hill Park River Washington Lincoln Main")
# The catchment: one metro area's ZIP codes, and a few patients from further away.
TOWN, STATE = "Springfield", "IL"
ZIPS = tuple(f"627{n:02d}" for n in (1, 2, 3, 4, 7, 11, 12, 13, 15, 20, 31, 50, 59, 77, 91))
FAR_ZIPS = ("60601", "60614", "61820", "62901", "63101", "46204")
MEDICATIONS = (
    "Sertraline 100 mg daily",
    "Bupropion XL 300 mg daily",
    "Venlafaxine XR 150 mg daily",
    "Escitalopram 20 mg daily\nTrazodone 50 mg at night",
    "Duloxetine 60 mg daily",
    "Vortioxetine 20 mg daily\nAripiprazole 5 mg daily",
    "Fluoxetine 40 mg daily",
    "",
)
ALLERGIES = ("NKDA",) * 6 + ("Penicillin — rash", "Sulfa drugs — hives", "Latex — dermatitis")
INTERVENTIONS = {
    "nausea": ("Ondansetron 4 mg ODT", "Ginger ale and rest; no medication", ""),
    "vomiting": ("Ondansetron 4 mg IV", "Ondansetron 4 mg ODT; emesis bag"),
    "headache": ("Acetaminophen 650 mg PO", "Rest in a dim room", ""),
    "emergence": (
        "Reassurance, lights dimmed, music; no medication",
        "Reassurance; midazolam 1 mg IV",
    ),
    "other": ("Assisted to the chair, fluids", "Rest, fluids"),
}
CONSENT_VERSION = "2026-01"


# --- the clock and the run's surroundings -----------------------------------------------------


class _Clock:
    """What ``timezone.now()`` answers while the program runs (always UTC, like the real one:
    the audit digest covers the timestamp as written)."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


@contextmanager
def _remembered_passwords() -> Iterator[None]:
    """Staff sign with their passwords hundreds of times a day here; each password's Argon2
    check is worked out once and remembered for the run (same answers, far less time)."""
    from django.contrib.auth import base_user

    original = base_user.check_password
    known: dict[tuple[str, str], bool] = {}

    def check(raw: str, encoded: str, setter: Any = None, preferred: str = "default") -> bool:
        key = (raw, encoded)
        if key not in known:
            known[key] = original(raw, encoded)
        return known[key]

    with mock.patch.object(base_user, "check_password", check):
        yield


class DiscardSMS:
    """Text messages to fictional patients go nowhere, whatever the deployment's provider."""

    def send(self, to: str, body: str) -> None:
        return None


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _office_day(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _clip(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def _pulse_pressure(values: dict[str, Any]) -> dict[str, Any]:
    """The diastolic at least 20 mmHg below the systolic, as in life."""
    values["diastolic"] = min(values["diastolic"], values["systolic"] - 20)
    return values


def _vitals(values: dict[str, Any]) -> VitalSigns:
    return VitalSigns(**{name: values.get(name) for name in VITAL_FIELDS})


# --- the clinic's set-up (always through the actions) -----------------------------------------

STAFF_PLAN = ((Role.PRESCRIBER, 2), (Role.NURSE, 4), (Role.COORDINATOR, 1), (Role.CLINIC_ADMIN, 1))
# Fictional NDCs (labeler 00000), as in the demo, so nobody mistakes this for real stock.
PRODUCTS = {
    "racemic_ketamine": ("00000-0101-20", "Ketamine HCl 10 mg/mL, 20 mL vial (demo)",
                         "racemic_ketamine", "vial", "10", "mL", "20"),
    "esketamine": ("00000-0228-02", "Esketamine 28 mg nasal spray device (demo)", "esketamine",
                   "nasal_device", "28", "device", "2"),
}  # fmt: skip
SHELF_LIFE_DAYS = {"racemic_ketamine": 720, "esketamine": 540}


def _dea_number(clinic_id: int) -> str:
    """A well-formed, fictional DEA number ("FS", six digits, check digit) not yet registered."""
    for n in range(clinic_id, clinic_id + 1000):
        digits = [int(c) for c in f"{(n * 7919) % 1_000_000:06d}"]
        check = (digits[0] + digits[2] + digits[4] + 2 * (digits[1] + digits[3] + digits[5])) % 10
        number = "FS" + "".join(map(str, digits)) + str(check)
        if not Registration.objects.filter(dea_number=number).exists():
            return number
    raise SynthError("No free fictional DEA number.")


def _clinic(params: SynthParams) -> Clinic:
    clinic = Clinic.objects.filter(name=params.clinic).first()
    if clinic is None:
        clinic = create_clinic(SYSTEM, params.clinic)
        days = "0123456" if params.every_day else "01234"
        if clinic.treatment_days != days:
            # No action sets a clinic's days yet; recorded as one would.
            Clinic.objects.filter(pk=clinic.pk).update(treatment_days=days)
            record(
                SYSTEM,
                Action.UPDATE,
                obj=clinic,
                clinic=clinic,
                changes=field_changes(
                    {"treatment_days": clinic.treatment_days}, {"treatment_days": days}
                ),
            )
            clinic.refresh_from_db()
    elif Patient.objects.filter(clinic=clinic).exists():
        raise SynthError(
            f"{params.clinic} already has patients: synth fills a clinic of its own. Choose "
            "another --clinic name."
        )
    return clinic


class _Staff:
    """The synthetic clinic's staff, with a password made for this run and never shown: nobody
    can sign in as them afterwards."""

    def __init__(self, clinic: Clinic, password: str) -> None:
        self.clinic, self.password = clinic, password
        self.by_role: dict[Role, list[Actor]] = {role: [] for role, _ in STAFF_PLAN}
        for role, count in STAFF_PLAN:
            for n in range(1, count + 1):
                username = f"synth{clinic.pk}.{role.value}{n}"
                user = User.objects.filter(username=username).first()
                if user is None:
                    user = create_staff(
                        SYSTEM,
                        clinic=clinic,
                        username=username,
                        password=password,
                        role=role,
                        first_name=f"{role.label} {n}",
                        last_name="(synthetic)",
                        email=f"{username}@example.org",
                    )
                else:
                    # Left by a run that stopped before its first patient: a new password.
                    user.set_password(password)
                    user.save(update_fields=["password"])
                self.by_role[role].append(
                    Actor(user=user, role=role.value, clinic=clinic, ip="127.0.0.1")
                )

    def pick(self, role: Role, rng: random.Random) -> Actor:
        return rng.choice(self.by_role[role])

    def witness(self, actor: Actor, rng: random.Random) -> Signature:
        """Another nurse or a prescriber signs as the waste witness."""
        others = [a for a in self.by_role[Role.NURSE] + self.by_role[Role.PRESCRIBER] if a != actor]
        user = rng.choice(others).user
        assert user is not None
        return Signature(user.get_username(), self.password)


@dataclass
class _StockSetup:
    registration_id: int
    location_id: int
    products: dict[str, Product]


def _stock_setup(staff: _Staff) -> _StockSetup:
    clinic, admin = staff.clinic, staff.by_role[Role.CLINIC_ADMIN][0]
    registration = Registration.objects.filter(clinic=clinic).order_by("pk").first()
    if registration is None:
        registration = inventory.create_registration(
            admin, _dea_number(clinic.pk), clinic.name, f"1 Main Street\n{TOWN}, {STATE}"
        )
    location = Location.objects.filter(
        registration=registration, kind=Location.Kind.CABINET
    ).first() or inventory.add_location(
        admin, registration.pk, "Treatment room cabinet", Location.Kind.CABINET
    )
    products = {}
    for key, (ndc, name, drug, form, mg, unit, per_package) in PRODUCTS.items():
        products[key] = Product.objects.filter(ndc=ndc).first() or inventory.add_product(
            admin,
            ndc=ndc,
            name=name,
            drug=drug,
            form=form,
            mg_per_unit=mg,
            unit=unit,
            units_per_package=per_package,
        )
        products[key].refresh_from_db()  # decimals as the database gives them back
    return _StockSetup(registration.pk, location.pk, products)


# --- the operations: what a step does to the database ----------------------------------------


@dataclass(frozen=True)
class _Plan:
    pk: int
    protocol_id: str
    prescribed_dose: Decimal
    dose_order: dict[str, Any]
    sessions: list[tuple[int, int, date]]  # (planned session id, number, date)


class _Ops(typing.Protocol):
    """One method per step; ``_ActionOps`` calls the action, ``_BulkOps`` writes its rows."""

    def create_patient(self, actor: Actor, data: dict[str, Any]) -> int: ...
    def measure(self, actor: Actor, patient_id: int, day: date, weight: Decimal) -> None: ...
    def consent(self, actor: Actor, patient_id: int, kind: str) -> None: ...
    def staff_response(
        self, actor: Actor, patient_id: int, instrument: str, answers: list[int], sex: str | None
    ) -> None: ...
    def acknowledge_safety(self, actor: Actor, patient_id: int, note: str) -> None: ...
    def send_link(self, actor: Actor, patient_id: int, instrument: str) -> int: ...
    def remind(self, actor: Actor, link_id: int) -> None: ...
    def answer_link(self, link_id: int, answers: list[int]) -> None: ...
    def start_evaluation(self, actor: Actor, patient_id: int, answers: dict[str, Any]) -> int: ...
    def complete_evaluation(self, actor: Actor, evaluation_id: int) -> None: ...
    def sign_evaluation(self, actor: Actor, evaluation_id: int) -> dict[str, Any]: ...
    def override_eligibility(
        self, actor: Actor, evaluation_id: int, route: str, reason: str
    ) -> None: ...
    def plan(self, actor: Actor, evaluation_id: int, request: PlanRequest) -> _Plan: ...
    def reschedule(
        self, actor: Actor, plan_id: int, number: int, new: date
    ) -> dict[int, tuple[date, date]]: ...
    def open_session(self, actor: Actor, planned_id: int, chair: str) -> int: ...
    def cancel_session(self, actor: Actor, session_id: int, reason: str) -> None: ...
    def check_in(self, actor: Actor, session_id: int, checklist: Checklist) -> None: ...
    def observe(self, actor: Actor, session_id: int, values: dict[str, Any]) -> list[int]: ...
    def override_gate(self, actor: Actor, session_id: int, reason: str) -> None: ...
    def start_dose(
        self, actor: Actor, session_id: int, supply: Supply, dose: Decimal | None, reason: str
    ) -> None: ...
    def give_device(self, actor: Actor, session_id: int) -> None: ...
    def pump(self, actor: Actor, session_id: int, kind: str, note: str = "") -> None: ...
    def adverse_event(
        self, actor: Actor, session_id: int, kind: str, severity: str, description: str,
        intervention: str,
    ) -> None: ...  # fmt: skip
    def acknowledge_alert(self, actor: Actor, alert_id: int, note: str) -> None: ...
    def waste(self, actor: Actor, session_id: int, witness: Signature) -> None: ...
    def discharge(self, actor: Actor, session_id: int, adult_present: bool) -> None: ...
    def rems(self, actor: Actor, session_id: int, reference: str) -> None: ...
    def receive(
        self, actor: Actor, product: Product, lot_number: str, expires_on: date, units: Decimal,
        invoice: str,
    ) -> int: ...  # fmt: skip
    def count(self, actor: Actor, lines: list[Counted], note: str) -> None: ...
    def forget(self, patient_id: int) -> None: ...
    def checkpoint(self) -> None: ...
    def finish(self) -> None: ...


class _ActionOps:
    """Every step through the app's actions: the reference."""

    def __init__(self, stock: _StockSetup, password: str) -> None:
        self.stock, self.password = stock, password
        self.patients: dict[int, Patient] = {}
        self.links: dict[int, PatientLink] = {}

    def create_patient(self, actor: Actor, data: dict[str, Any]) -> int:
        try:
            patient = patients.create_patient(actor, data)
        except patients.LikelyDuplicates as found:
            # Two synthetic people may share a name and a birth date: the coordinator looks
            # and confirms that this is someone else.
            confirmed = [d.patient.pk for d in found.duplicates]
            patient = patients.create_patient(actor, data, confirmed_duplicates=confirmed)
        self.patients[patient.pk] = patient
        return patient.pk

    def measure(self, actor: Actor, patient_id: int, day: date, weight: Decimal) -> None:
        patients.record_measurement(actor, self.patients[patient_id], day, weight, None)

    def consent(self, actor: Actor, patient_id: int, kind: str) -> None:
        patient = self.patients[patient_id]
        patients.record_consent(actor, patient, _consent(kind, patient.full_name))

    def staff_response(
        self, actor: Actor, patient_id: int, instrument: str, answers: list[int], sex: str | None
    ) -> None:
        measures.record_staff_response(
            actor, self.patients[patient_id], instrument, answers, timezone.now(), sex=sex
        )

    def acknowledge_safety(self, actor: Actor, patient_id: int, note: str) -> None:
        for alert in SafetyAlert.objects.filter(
            patient_id=patient_id, acknowledged_at__isnull=True
        ).order_by("pk"):
            measures.acknowledge_alert(actor, alert, note)

    def send_link(self, actor: Actor, patient_id: int, instrument: str) -> int:
        link, _ = measures.create_link(
            actor, self.patients[patient_id], instrument, PatientLink.Channel.SMS
        )
        self.links[link.pk] = link
        return link.pk

    def remind(self, actor: Actor, link_id: int) -> None:
        measures.send_reminder(actor, self.links[link_id])

    def answer_link(self, link_id: int, answers: list[int]) -> None:
        link = self.links.pop(link_id)
        measures.submit_link_response(links.token_for(link.public_id), answers, None)

    def start_evaluation(self, actor: Actor, patient_id: int, answers: dict[str, Any]) -> int:
        return planning.start_evaluation(actor, self.patients[patient_id], answers, "").pk

    def complete_evaluation(self, actor: Actor, evaluation_id: int) -> None:
        planning.complete_evaluation(actor, evaluation_id)

    def sign_evaluation(self, actor: Actor, evaluation_id: int) -> dict[str, Any]:
        return planning.sign_evaluation(actor, evaluation_id, self.password).verdicts

    def override_eligibility(
        self, actor: Actor, evaluation_id: int, route: str, reason: str
    ) -> None:
        planning.override_eligibility(actor, evaluation_id, route, reason, self.password)

    def plan(self, actor: Actor, evaluation_id: int, request: PlanRequest) -> _Plan:
        plan = planning.draft_plan(actor, evaluation_id, request)
        plan = planning.sign_plan(actor, plan.pk, self.password)
        sessions = list(plan.sessions.order_by("number").values_list("pk", "number", "date"))
        plan.refresh_from_db()
        return _Plan(plan.pk, plan.protocol_id, plan.prescribed_dose, plan.dose_order, sessions)

    def reschedule(
        self, actor: Actor, plan_id: int, number: int, new: date
    ) -> dict[int, tuple[date, date]]:
        moves = planning.reschedule_session(actor, plan_id, number, new)
        return {int(key.split()[-1]): (m["old"], m["new"]) for key, m in moves.items()}

    def open_session(self, actor: Actor, planned_id: int, chair: str) -> int:
        return treatments.open_session(actor, planned_id, chair).pk

    def cancel_session(self, actor: Actor, session_id: int, reason: str) -> None:
        treatments.cancel_session(actor, session_id, reason)

    def check_in(self, actor: Actor, session_id: int, checklist: Checklist) -> None:
        treatments.check_in(actor, session_id, checklist)

    def observe(self, actor: Actor, session_id: int, values: dict[str, Any]) -> list[int]:
        observation = treatments.record_observation(actor, session_id, values)
        return list(
            SessionAlert.objects.filter(observation=observation)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    def override_gate(self, actor: Actor, session_id: int, reason: str) -> None:
        treatments.override_gate(actor, session_id, reason, self.password)

    def start_dose(
        self, actor: Actor, session_id: int, supply: Supply, dose: Decimal | None, reason: str
    ) -> None:
        treatments.start_dose(actor, session_id, supply, dose_mg=dose, change_reason=reason)

    def give_device(self, actor: Actor, session_id: int) -> None:
        treatments.give_device(actor, session_id)

    def pump(self, actor: Actor, session_id: int, kind: str, note: str = "") -> None:
        treatments.infusion_step(actor, session_id, kind, note=note)

    def adverse_event(
        self,
        actor: Actor,
        session_id: int,
        kind: str,
        severity: str,
        description: str,
        intervention: str,
    ) -> None:
        treatments.record_adverse_event(
            actor, session_id, kind, severity, description=description, intervention=intervention
        )

    def acknowledge_alert(self, actor: Actor, alert_id: int, note: str) -> None:
        treatments.acknowledge_alert(actor, alert_id, note)

    def waste(self, actor: Actor, session_id: int, witness: Signature) -> None:
        session = TreatmentSession.objects.select_related("dispense__lot__product").get(
            pk=session_id
        )
        entry = session.dispense
        assert entry is not None
        leftover = entry.quantity_mg - (session.dose_mg or 0)
        if leftover > 0:
            inventory.waste(
                actor,
                self.stock.registration_id,
                dispense_id=entry.pk,
                units=(leftover / entry.lot.product.mg_per_unit).quantize(Decimal("0.01")),
                reason=WASTE_REASON,
                witness=witness,
            )

    def discharge(self, actor: Actor, session_id: int, adult_present: bool) -> None:
        treatments.discharge(
            actor,
            session_id,
            dissociation_resolved=True,
            responsible_adult_present=adult_present,
            password=self.password,
        )

    def rems(self, actor: Actor, session_id: int, reference: str) -> None:
        record_rems_submission(actor, session_id, reference)

    def receive(
        self,
        actor: Actor,
        product: Product,
        lot_number: str,
        expires_on: date,
        units: Decimal,
        invoice: str,
    ) -> int:
        entry = inventory.receive(
            actor,
            self.stock.registration_id,
            product_id=product.pk,
            lot_number=lot_number,
            expires_on=expires_on,
            location_id=self.stock.location_id,
            units=units,
            supplier=SUPPLIER,
            invoice=invoice,
        )
        return entry.lot_id

    def count(self, actor: Actor, lines: list[Counted], note: str) -> None:
        inventory.record_count(
            actor, self.stock.registration_id, kind="ad_hoc", lines=lines, note=note
        )

    def forget(self, patient_id: int) -> None:
        self.patients.pop(patient_id, None)
        for link_id in [pk for pk, link in self.links.items() if link.patient_id == patient_id]:
            del self.links[link_id]  # unanswered: expired

    def checkpoint(self) -> None:
        return None

    def finish(self) -> None:
        return None


WASTE_REASON = "Remainder of a single-use vial, drawn into the sharps container."
SUPPLIER = f"{TOWN} Specialty Pharmacy"


def _consent(kind: str, signed_by: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "decision": ConsentRecord.Decision.GRANTED,
        "version": CONSENT_VERSION,
        "signed_at": timezone.now(),
        "signed_by": signed_by,
    }


# --- the bulk path ----------------------------------------------------------------------------

# Fields whose Python value needs the database's preparation (dates, decimals, JSON, addresses).
_PREPARED = (
    models.DateTimeField,
    models.DateField,
    models.DecimalField,
    models.JSONField,
    models.GenericIPAddressField,
)


class _Table:
    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields]
        self.name = model._meta.db_table
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        # Names from the models' own metadata, quoted; values are parameters.
        self.insert_sql = f"INSERT INTO {quote(self.name)} ({columns}) VALUES ({marks})"  # noqa: S608
        self.rows: list[dict[str, Any]] = []
        self.pending: dict[int, dict[str, Any]] = {}
        self.updates: dict[int, dict[str, Any]] = {}
        self.next_id = 0
        self.max_id = 0
        self.columns = [(f.attname, f, _preparer(f)) for f in self.fields]

    def prepare(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, f, prepare in self.columns:
            value = row[name] if name in row else f.get_default()
            if prepare is not None and value is not None:
                value = prepare(value)
            values.append(value)
        return tuple(values)


def _preparer(f: models.Field) -> Callable[[Any], Any] | None:
    """How a value of ``f`` goes to the database: Django's own preparation, except the two
    most frequent on SQLite, done as it does them without its per-value lookups (timestamps
    as naive text in the connection's time zone; JSON as ``json.dumps``)."""
    if not isinstance(f, _PREPARED):
        return None
    # The wrapper itself, not the thread-local proxy: asked once per value otherwise.
    wrapper = connections[DEFAULT_DB_ALIAS]
    if wrapper.vendor == "sqlite" and settings.USE_TZ:
        if isinstance(f, models.DateTimeField):
            zone = wrapper.timezone

            def naive(value: datetime) -> str:
                return str(value.astimezone(zone).replace(tzinfo=None))

            return naive
        if isinstance(f, models.JSONField) and f.encoder is None:
            return json.dumps
    return partial(f.get_db_prep_save, connection=wrapper)


# What the bulk path writes, apart from audit events (the writer numbers those itself).
BULK_MODELS: tuple[type[models.Model], ...] = (
    Patient, BodyMeasurement, ConsentRecord, QuestionnaireResponse, SafetyAlert, PatientLink,
    Evaluation, EligibilityOverride, TreatmentPlan, PlannedSession, TreatmentSession,
    Observation, SessionAlert, DoseStep, AdverseEvent, RemsSubmission, Lot, LedgerEntry,
    StockBalance, PhysicalCount, CountLine,
)  # fmt: skip
FLUSH_ROWS = 50_000  # rows held before a batch is written
SEND_MESSAGES = 20_000  # rows and updates held before they go to the writer process


@dataclass(frozen=True)
class _Heads:
    """The chain heads and counters the actions keep up to date as they go."""

    registration_id: int
    sequence: int
    ledger_hash: str
    clinic_id: int
    mrn_counter: int


class _Writer:
    """The database side of the bulk path: rows held in memory and written in batches, audit
    events numbered and hashed on the chain in the order they come."""

    def __init__(self) -> None:
        self.tables: dict[type[models.Model], _Table] = {}
        self.buffered = 0
        self.seconds = 0.0
        self.event_id = _next_free_id(AuditEvent._meta.db_table)
        # The audit chains written to, by clinic id (None: the installation's), as
        # [head pk, chain name, last event id, last hash, event count].
        self.chains: dict[int | None, list[Any]] = {}
        self.touched: set[int | None] = set()

    def table(self, model: type[models.Model]) -> _Table:
        table = self.tables.get(model)
        if table is None:
            table = self.tables[model] = _Table(model)
        return table

    def insert(self, model: type[models.Model], pk: int, row: dict[str, Any]) -> None:
        table = self.table(model)
        row["id"] = pk
        table.max_id = max(table.max_id, pk)
        table.rows.append(row)
        table.pending[pk] = row
        self.buffered += 1

    def update(self, model: type[models.Model], pk: int, values: dict[str, Any]) -> None:
        table = self.table(model)
        row = table.pending.get(pk)
        if row is not None:
            row.update(values)
        else:
            table.updates.setdefault(pk, {}).update(values)

    def audit(self, content: dict[str, Any]) -> None:
        """What ``audit.record.record`` appends: the event hashed on the chain."""
        content["changes"] = json_safe(content["changes"])
        clinic_id = content["clinic_id"]
        chain = self.chains.get(clinic_id)
        if chain is None:
            head = chain_head(clinic_id, lock=False)
            chain = [head.pk, head.name, head.last_event_id, head.last_hash, head.event_count]
            self.chains[clinic_id] = chain
        prev_hash = chain[3]
        digest = event_digest(content, prev_hash)
        pk = self.event_id
        self.event_id += 1
        self.insert(AuditEvent, pk, {**content, "prev_hash": prev_hash, "hash": digest})
        chain[2], chain[3] = pk, digest
        chain[4] += 1
        self.touched.add(clinic_id)

    def apply(self, messages: list[tuple[Any, ...]]) -> None:
        for message in messages:
            kind = message[0]
            if kind == "i":
                self.insert(message[1], message[2], message[3])
            elif kind == "u":
                self.update(message[1], message[2], message[3])
            else:
                self.audit(message[1])

    def flush(self) -> None:
        began = wallclock.perf_counter()
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for table in self.tables.values():
                if table.rows:
                    cursor.executemany(table.insert_sql, [table.prepare(r) for r in table.rows])
                table.rows, table.pending = [], {}
            for table in self.tables.values():
                groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
                by_name = {f.attname: f for f in table.fields}
                for pk, values in table.updates.items():
                    names = tuple(sorted(values))
                    prepared = []
                    for name in names:
                        value, f = values[name], by_name[name]
                        if value is not None and isinstance(f, _PREPARED):
                            value = f.get_db_prep_save(value, connection)
                        prepared.append(value)
                    groups[names].append((*prepared, pk))
                for names, rows in groups.items():
                    sets = ", ".join(f"{quote(by_name[n].column)} = %s" for n in names)
                    cursor.executemany(
                        f"UPDATE {quote(table.name)} SET {sets} WHERE {quote('id')} = %s",  # noqa: S608
                        rows,
                    )
                table.updates = {}
        self.buffered = 0
        self.seconds += wallclock.perf_counter() - began

    def write(self, heads: _Heads) -> None:
        """One transaction: the batch, and the heads as the actions would have left them."""
        with transaction.atomic():
            self.flush()
            written = []
            for clinic_id in sorted(self.touched, key=lambda c: c or 0):
                pk, name, last_event_id, last_hash, count = self.chains[clinic_id]
                ChainHead.objects.filter(pk=pk).update(
                    last_event_id=last_event_id, last_hash=last_hash, event_count=count
                )
                written.append(checkpoints.Head(name, last_event_id, count, last_hash))
            self.touched = set()
            Registration.objects.filter(pk=heads.registration_id).update(
                last_sequence=heads.sequence, last_hash=heads.ledger_hash
            )
            Clinic.objects.filter(pk=heads.clinic_id).update(mrn_counter=heads.mrn_counter)
            # Each batch is checkpointed once it commits, as record() and the ledger's
            # actions checkpoint every so many writes.
            checkpoints.append_on_commit(checkpoints.AUDIT_LOG, written)
            if heads.sequence:
                checkpoints.append_on_commit(
                    checkpoints.LEDGER_LOG,
                    [
                        ledger_head(
                            Registration(
                                pk=heads.registration_id,
                                last_sequence=heads.sequence,
                                last_hash=heads.ledger_hash,
                            )
                        )
                    ],
                )

    def finish(self, heads: _Heads) -> None:
        """The last batch; then PostgreSQL's sequences continue after the ids used."""
        self.write(heads)
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for table in self.tables.values():
                if table.max_id:
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                        [table.name, table.max_id],
                    )


class _Sink:
    """Where ``_BulkOps`` puts its rows: ids are taken here, the next free ones of each table
    when the run began, counting up (what the database would have given)."""

    def __init__(self) -> None:
        self.next_ids = {model: _next_free_id(model._meta.db_table) for model in BULK_MODELS}

    def take(self, model: type[models.Model]) -> int:
        pk = self.next_ids[model]
        self.next_ids[model] = pk + 1
        return pk


class _LocalSink(_Sink):
    """The writer in this process."""

    def __init__(self) -> None:
        super().__init__()
        self.writer = _Writer()

    def insert(self, model: type[models.Model], **row: Any) -> int:
        pk = self.take(model)
        self.writer.insert(model, pk, row)
        return pk

    def update(self, model: type[models.Model], pk: int, **values: Any) -> None:
        self.writer.update(model, pk, values)

    def audit(self, content: dict[str, Any]) -> None:
        self.writer.audit(content)

    def checkpoint(self, heads: _Heads) -> None:
        if self.writer.buffered >= FLUSH_ROWS:
            self.writer.write(heads)

    def finish(self, heads: _Heads) -> float:
        self.writer.finish(heads)
        return self.writer.seconds


class _PipeSink(_Sink):
    """The writer in a forked process with its own connection, fed batches of messages:
    hashing the audit chain and writing overlap with the simulation. ``loopback`` sends the
    same messages, pickled, to a writer in this process (for the tests: the in-memory test
    database is not shared with another process)."""

    def __init__(self, loopback: bool = False) -> None:
        super().__init__()
        self.messages: list[tuple[Any, ...]] = []
        self.loopback = _Writer() if loopback else None
        if self.loopback is None:
            connections.close_all()  # the child must not share this process's connection
            context = multiprocessing.get_context("fork")
            self.conn, child = context.Pipe()
            self.process = context.Process(target=_write_from, args=(child,), daemon=True)
            self.process.start()
            child.close()

    def insert(self, model: type[models.Model], **row: Any) -> int:
        pk = self.take(model)
        self.messages.append(("i", model, pk, row))
        return pk

    def update(self, model: type[models.Model], pk: int, **values: Any) -> None:
        self.messages.append(("u", model, pk, values))

    def audit(self, content: dict[str, Any]) -> None:
        self.messages.append(("a", content))

    def checkpoint(self, heads: _Heads) -> None:
        if len(self.messages) >= SEND_MESSAGES:
            self.send(("batch", self.messages, heads))
            self.messages = []

    def finish(self, heads: _Heads) -> float:
        self.send(("finish", self.messages, heads))
        self.messages = []
        if self.loopback is not None:
            return self.loopback.seconds
        reply = self.conn.recv()
        self.process.join()
        if reply[0] != "done":
            raise SynthError(f"The writer process failed:\n{reply[1]}")
        return float(reply[1])

    def send(self, message: tuple[Any, ...]) -> None:
        if self.loopback is not None:
            _serve(self.loopback, pickle.loads(pickle.dumps(message)))  # noqa: S301
            return
        try:
            self.conn.send(message)
        except OSError:
            reply = self.conn.recv() if self.conn.poll(5) else ("error", "no reply")
            raise SynthError(f"The writer process failed:\n{reply[1]}") from None


def _serve(writer: _Writer, message: tuple[Any, ...]) -> bool:
    """Apply one batch; True when it was the last."""
    kind, messages, heads = message
    writer.apply(messages)
    if kind == "finish":
        writer.finish(heads)
        return True
    if writer.buffered >= FLUSH_ROWS:
        writer.write(heads)
    return False


def _write_from(conn: Any) -> None:
    """The writer process: batches in, written in order, until the last."""
    try:
        writer = _Writer()
        while not _serve(writer, conn.recv()):
            pass
        conn.send(("done", writer.seconds))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        connections.close_all()


def _next_free_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        highest = cursor.fetchone()[0] or 0
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            highest = max(highest, row[0] if row else 0)
        elif connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])  # identity or serial
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
            last, called = cursor.fetchone()
            highest = max(highest, last if called else last - 1)
        else:
            raise SynthError(
                f"The bulk path supports SQLite and PostgreSQL, not {connection.vendor}."
            )
    return int(highest) + 1


def _dec(value: Any, places: int) -> Decimal:
    """A decimal as the database gives it back (quantized to the column's places)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))


@dataclass
class _BulkPatient:
    pk: int
    model: Patient  # unsaved: what the clinical functions read (birth date, sex, clinic)
    full_name: str
    measurements: list[tuple[date, datetime, Decimal, Decimal | None]] = field(default_factory=list)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)  # instrument → response
    open_alerts: list[int] = field(default_factory=list)
    evaluations: dict[int, dict[str, Any]] = field(default_factory=dict)
    plans: dict[int, dict[str, Any]] = field(default_factory=dict)
    links: dict[int, dict[str, Any]] = field(default_factory=dict)

    def latest_measurement(self) -> tuple[date, datetime, Decimal, Decimal | None]:
        return max(self.measurements, key=lambda m: (m[0], m[1]))

    def height(self) -> Decimal | None:
        ordered = sorted(self.measurements, key=lambda m: (m[0], m[1]), reverse=True)
        return next((m[3] for m in ordered if m[3]), None)


class _BulkOps:
    """The same steps as ``_ActionOps``, written as the rows each action writes."""

    def __init__(self, stock: _StockSetup, staff: _Staff, clock: _Clock, sink: Any) -> None:
        self.stock, self.clinic, self.clock = stock, staff.clinic, clock
        # Every signature is checked as the action checks it (accounts.reauth): one rule.
        self.password = staff.password
        clinic = self.clinic
        self.users = {
            a.user.pk: a.user for actors in staff.by_role.values() for a in actors if a.user
        }
        self.discharged: dict[int, int] = {}  # session → patient, until its REMS form
        self.w = sink
        registration = Registration.objects.get(pk=stock.registration_id)
        self.sequence, self.ledger_hash = registration.last_sequence, registration.last_hash
        clinic.refresh_from_db()
        self.mrn_counter = clinic.mrn_counter
        # Patients by name (either order) and birth date: the likely duplicates of the next.
        self.namesakes: dict[tuple[frozenset[str], date], list[tuple[str, str, int, str]]] = {}
        self.patients: dict[int, _BulkPatient] = {}
        self.sessions: dict[int, TreatmentSession] = {}  # open, until discharge or cancel
        self.session_alerts: dict[int, SessionAlert] = {}  # until acknowledged
        self.devices: dict[int, int] = {}  # nasal devices a session's dose needs
        self.planned: dict[int, tuple[_BulkPatient, int, int]] = {}  # → patient, plan, number
        self.owners: dict[tuple[str, int], _BulkPatient] = {}  # ("plan", id) → its patient
        self.lots: dict[int, Lot] = {
            lot.pk: lot
            for lot in Lot.objects.filter(registration_id=stock.registration_id).select_related(
                "product"
            )
        }
        self.balances: dict[int, tuple[int, Decimal]] = {
            b.lot_id: (b.pk, Decimal(b.quantity_units))
            for b in StockBalance.objects.filter(location_id=stock.location_id)
        }
        self.ip = AuditEvent._meta.get_field("ip").get_prep_value("127.0.0.1")
        self.expiry = timedelta(hours=settings.KETACARE_LINK_EXPIRY_HOURS)

    # --- the two chains ---------------------------------------------------------------------

    def audit(
        self,
        actor: Actor,
        action: str,
        object_type: str,
        object_id: int,
        patient_id: int | None,
        changes: dict[str, Any],
        clinic_id: int | None = None,
    ) -> None:
        """What ``audit.record.record`` appends (the writer hashes it on the chain)."""
        self.w.audit(
            {
                "occurred_at": self.clock.at,
                "actor_id": actor.user.pk if actor.user is not None else None,
                "actor_username": actor.username,
                "role": actor.role,
                "clinic_id": clinic_id or (actor.clinic.pk if actor.clinic else None),
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "patient_id": patient_id,
                "ip": self.ip if actor.ip else None,
                "changes": changes,
            }
        )

    def ledger(self, actor: Actor, **fields: Any) -> tuple[int, LedgerEntry]:
        """What ``inventory.actions._append`` writes: the entry at the chain's head, the
        balances it moves, and its audit event."""
        assert actor.user is not None
        now = self.clock.at
        self.sequence += 1
        entry = LedgerEntry(
            registration_id=self.stock.registration_id,
            sequence=self.sequence,
            prev_hash=self.ledger_hash,
            actor_id=actor.user.pk,
            occurred_at=now,
            recorded_at=now,
            **fields,
        )
        entry.hash = entry_digest(entry.content(), entry.prev_hash)
        row = {f.attname: getattr(entry, f.attname) for f in LedgerEntry._meta.concrete_fields}
        del row["id"]
        pk = self.w.insert(LedgerEntry, **row)
        entry.pk = pk
        self.ledger_hash = entry.hash
        units = entry.quantity_units
        lot_id = entry.lot_id
        if entry.to_location_id is not None or entry.from_location_id is not None:
            sign = 1 if entry.to_location_id is not None else -1
            balance = self.balances.get(lot_id)
            if balance is None:
                balance_id = self.w.insert(
                    StockBalance,
                    lot_id=lot_id,
                    location_id=self.stock.location_id,
                    quantity_units=Decimal(0),
                )
                balance = (balance_id, Decimal(0))
            quantity = balance[1] + sign * units
            self.balances[lot_id] = (balance[0], quantity)
            self.w.update(StockBalance, balance[0], quantity_units=quantity)
        self.audit(
            actor,
            Action.CREATE,
            "ledgerentry",
            pk,
            entry.patient_id,
            {
                "kind": entry.kind,
                "sequence": entry.sequence,
                "lot": self.lots[lot_id].lot_number,
                "units": str(units),
                "mg": str(entry.quantity_mg),
            },
        )
        return pk, entry

    # --- patients and measures ---------------------------------------------------------------

    def create_patient(self, actor: Actor, data: dict[str, Any]) -> int:
        assert actor.clinic is not None
        now = self.clock.at
        fields = {name: data[name] for name in DEMOGRAPHIC_FIELDS if name in data}
        self.mrn_counter += 1
        mrn = format_mrn(self.mrn_counter)
        family, given = normalize_name(fields["family_name"]), normalize_name(fields["given_name"])
        # What patients.search.likely_duplicates finds (phones and emails are unique here):
        # the same name, in either order, and birth date, in its order.
        namesakes = self.namesakes.setdefault(
            (frozenset((family, given)), fields["date_of_birth"]), []
        )
        duplicates = [found_mrn for *_, found_mrn in sorted(namesakes)]
        pk = self.w.insert(
            Patient,
            clinic_id=actor.clinic.pk,
            mrn=mrn,
            search_family=family,
            search_given=given,
            created_at=now,
            updated_at=now,
            **fields,
        )
        model = Patient(
            pk=pk,
            clinic=self.clinic,
            date_of_birth=fields["date_of_birth"],
            sex_at_birth=fields["sex_at_birth"],
        )
        self.patients[pk] = _BulkPatient(
            pk, model, f"{fields['given_name']} {fields['family_name']}"
        )
        namesakes.append((family, given, pk, mrn))
        changes = field_changes({}, {"mrn": mrn, **fields})
        if duplicates:
            changes["confirmed_not_a_duplicate_of"] = duplicates
        self.audit(actor, Action.CREATE, "patient", pk, pk, changes)
        self._measure(
            actor,
            pk,
            data.get("measured_on") or timezone.localdate(),
            data["weight_kg"],
            data.get("height_cm"),
        )
        return pk

    def _measure(
        self, actor: Actor, patient_id: int, day: date, weight: Decimal, height: Decimal | None
    ) -> None:
        assert actor.user is not None
        now = self.clock.at
        pk = self.w.insert(
            BodyMeasurement,
            patient_id=patient_id,
            measured_on=day,
            weight_kg=weight,
            height_cm=height,
            recorded_by_id=actor.user.pk,
            recorded_at=now,
        )
        self.patients[patient_id].measurements.append(
            (day, now, _dec(weight, 1), None if height is None else _dec(height, 1))
        )
        self.audit(
            actor,
            Action.CREATE,
            "bodymeasurement",
            pk,
            patient_id,
            field_changes({}, {"measured_on": day, "weight_kg": weight, "height_cm": height}),
        )

    def measure(self, actor: Actor, patient_id: int, day: date, weight: Decimal) -> None:
        self._measure(actor, patient_id, day, weight, None)

    def consent(self, actor: Actor, patient_id: int, kind: str) -> None:
        assert actor.user is not None
        data = _consent(kind, self.patients[patient_id].full_name)
        pk = self.w.insert(
            ConsentRecord,
            patient_id=patient_id,
            recorded_by_id=actor.user.pk,
            recorded_at=self.clock.at,
            **data,
        )
        self.audit(actor, Action.CREATE, "consentrecord", pk, patient_id, field_changes({}, data))

    def _response(
        self,
        actor: Actor,
        patient_id: int,
        instrument_id: str,
        answers: list[int],
        source: str,
        sex: str | None,
        link_id: int | None,
    ) -> None:
        """What ``measures.actions._save_response`` writes: the scored response, its audit
        event, and a safety alert (with its own) for each signal."""
        patient = self.patients[patient_id]
        instrument = get_instrument(instrument_id)
        result = score(instrument, answers, sex=sex or measures.sex_for_scoring(patient.model))
        now = self.clock.at
        pk = self.w.insert(
            QuestionnaireResponse,
            patient_id=patient_id,
            instrument_id=instrument.id,
            instrument_version=instrument.version,
            answers=list(answers),
            total=result.total,
            severity=result.severity or "",
            flags=list(result.flags),
            subscales=result.subscales,
            completed_at=now,
            source=source,
            entered_by_id=actor.user.pk if actor.user is not None else None,
            link_id=link_id,
        )
        patient.latest[instrument.id] = {
            "instrument": instrument.id,
            "total": result.total,
            "severity": result.severity or "",
            "completed_at": now.isoformat(),
            "response_id": pk,
        }
        clinic_id = self.clinic.pk
        self.audit(
            actor,
            Action.CREATE,
            "questionnaire_response",
            pk,
            patient_id,
            field_changes(
                {},
                {
                    "instrument": instrument.id,
                    "answers": list(answers),
                    "total": result.total,
                    "severity": result.severity,
                    "flags": list(result.flags),
                },
            ),
            clinic_id=clinic_id,
        )
        for signal in safety_signals(result):
            alert = self.w.insert(
                SafetyAlert,
                patient_id=patient_id,
                clinic_id=clinic_id,
                response_id=pk,
                flag=signal.flag,
                rule=signal.rule,
                source=signal.source,
                created_at=now,
            )
            patient.open_alerts.append(alert)
            self.audit(
                actor,
                Action.CREATE,
                "safety_alert",
                alert,
                patient_id,
                field_changes({}, {"flag": signal.flag}),
                clinic_id=clinic_id,
            )

    def staff_response(
        self, actor: Actor, patient_id: int, instrument: str, answers: list[int], sex: str | None
    ) -> None:
        self._response(
            actor, patient_id, instrument, answers, QuestionnaireResponse.Source.STAFF, sex, None
        )

    def acknowledge_safety(self, actor: Actor, patient_id: int, note: str) -> None:
        assert actor.user is not None
        patient = self.patients[patient_id]
        for alert in patient.open_alerts:
            self.w.update(
                SafetyAlert,
                alert,
                acknowledged_by_id=actor.user.pk,
                acknowledged_at=self.clock.at,
                acknowledgement_note=note,
            )
            self.audit(
                actor,
                Action.UPDATE,
                "safety_alert",
                alert,
                patient_id,
                field_changes({"acknowledged": False}, {"acknowledged": True, "note": note}),
            )
        patient.open_alerts = []

    def send_link(self, actor: Actor, patient_id: int, instrument: str) -> int:
        assert actor.user is not None
        now = self.clock.at
        channel = PatientLink.Channel.SMS
        pk = self.w.insert(
            PatientLink,
            patient_id=patient_id,
            instrument_id=instrument,
            channel=channel,
            created_by_id=actor.user.pk,
            created_at=now,
            expires_at=now + self.expiry,
        )
        self.patients[patient_id].links[pk] = {"instrument": instrument}
        self.owners[("link", pk)] = self.patients[patient_id]
        self.audit(
            actor,
            Action.CREATE,
            "patient_link",
            pk,
            patient_id,
            field_changes({}, {"instrument": instrument, "channel": channel}),
        )
        return pk

    def _link_patient(self, link_id: int) -> int:
        return self.owners[("link", link_id)].pk

    def remind(self, actor: Actor, link_id: int) -> None:
        patient_id = self._link_patient(link_id)
        self.w.update(PatientLink, link_id, reminded_at=self.clock.at)
        self.audit(
            actor,
            Action.UPDATE,
            "patient_link",
            link_id,
            patient_id,
            {"reminder_sent": {"old": False, "new": True}},
            clinic_id=self.clinic.pk,
        )

    def answer_link(self, link_id: int, answers: list[int]) -> None:
        patient_id = self._link_patient(link_id)
        link = self.patients[patient_id].links[link_id]
        self.w.update(PatientLink, link_id, used_at=self.clock.at)
        patient = Actor(user=None, role="patient", clinic=self.clinic, ip=None)
        self._response(
            patient,
            patient_id,
            link["instrument"],
            answers,
            QuestionnaireResponse.Source.PATIENT_LINK,
            None,
            link_id,
        )

    # --- planning ---------------------------------------------------------------------------

    def start_evaluation(self, actor: Actor, patient_id: int, answers: dict[str, Any]) -> int:
        assert actor.user is not None
        now = self.clock.at
        pk = self.w.insert(
            Evaluation,
            patient_id=patient_id,
            clinic_id=self.clinic.pk,
            answers=answers,
            notes="",
            created_by_id=actor.user.pk,
            created_at=now,
            updated_at=now,
        )
        self.patients[patient_id].evaluations[pk] = {"answers": json_safe(answers)}
        self.owners[("evaluation", pk)] = self.patients[patient_id]
        self.audit(
            actor,
            Action.CREATE,
            "evaluation",
            pk,
            patient_id,
            field_changes({}, {**answers, "notes": ""}),
        )
        return pk

    def _evaluation(self, evaluation_id: int) -> tuple[_BulkPatient, dict[str, Any]]:
        patient = self.owners[("evaluation", evaluation_id)]
        return patient, patient.evaluations[evaluation_id]

    def complete_evaluation(self, actor: Actor, evaluation_id: int) -> None:
        assert actor.user is not None
        patient, evaluation = self._evaluation(evaluation_id)
        verdicts, rules_version = planning._judge(
            evaluation["answers"], patient.model, timezone.localdate()
        )
        day, _, weight, _ = patient.latest_measurement()
        now = self.clock.at
        baseline = [patient.latest[i] for i in sorted(patient.latest)]
        evaluation.update(
            weight_kg=weight,
            height_cm=patient.height(),
            weight_measured_on=day,
            baseline_scores=baseline,
            verdicts=json_safe(verdicts),
            rules_version=rules_version,
        )
        self.w.update(
            Evaluation,
            evaluation_id,
            weight_kg=weight,
            height_cm=evaluation["height_cm"],
            weight_measured_on=day,
            baseline_scores=baseline,
            verdicts=evaluation["verdicts"],
            rules_version=rules_version,
            state=Evaluation.State.COMPLETED,
            completed_by_id=actor.user.pk,
            completed_at=now,
            updated_at=now,
        )
        self.audit(
            actor,
            Action.UPDATE,
            "evaluation",
            evaluation_id,
            patient.pk,
            {
                "state": {"old": Evaluation.State.IN_PROGRESS, "new": Evaluation.State.COMPLETED},
                "verdicts": {route: v["verdict"] for route, v in verdicts.items()},
            },
        )

    def sign_evaluation(self, actor: Actor, evaluation_id: int) -> dict[str, Any]:
        planning.confirm_signature(actor, self.password, prompt=planning.EVALUATION_SIGNATURE)
        assert actor.user is not None
        patient, evaluation = self._evaluation(evaluation_id)
        _, rules_version = planning._judge(
            evaluation["answers"], patient.model, timezone.localdate()
        )
        now = self.clock.at
        signed = Evaluation(
            patient_id=patient.pk,
            answers=evaluation["answers"],
            notes="",
            weight_kg=evaluation["weight_kg"],
            height_cm=evaluation["height_cm"],
            weight_measured_on=evaluation["weight_measured_on"],
            baseline_scores=evaluation["baseline_scores"],
            verdicts=evaluation["verdicts"],
            rules_version=rules_version,
            signed_by_id=actor.user.pk,
            signed_at=now,
        )
        digest = evaluation_digest(signed)
        self.w.update(
            Evaluation,
            evaluation_id,
            rules_version=rules_version,
            state=Evaluation.State.SIGNED,
            signed_by_id=actor.user.pk,
            signed_at=now,
            digest=digest,
            updated_at=now,
        )
        evaluation["overrides"] = []
        self.audit(
            actor,
            Action.SIGN,
            "evaluation",
            evaluation_id,
            patient.pk,
            {
                "digest": digest,
                "verdicts": {r: v["verdict"] for r, v in evaluation["verdicts"].items()},
            },
        )
        return evaluation["verdicts"]

    def override_eligibility(
        self, actor: Actor, evaluation_id: int, route: str, reason: str
    ) -> None:
        planning.confirm_signature(actor, self.password, prompt=planning.OVERRIDE_SIGNATURE)
        assert actor.user is not None
        patient, evaluation = self._evaluation(evaluation_id)
        verdict = evaluation["verdicts"][route]
        blocking = [f["id"] for f in verdict["fired"] if f["verdict"] in OVERRIDABLE]
        pk = self.w.insert(
            EligibilityOverride,
            evaluation_id=evaluation_id,
            route=route,
            original_verdict=verdict["verdict"],
            fired_rule_ids=blocking,
            reason=reason.strip(),
            prescriber_id=actor.user.pk,
            created_at=self.clock.at,
        )
        evaluation["overrides"].insert(0, (pk, route, set(blocking)))
        self.audit(
            actor,
            Action.OVERRIDE,
            "eligibilityoverride",
            pk,
            patient.pk,
            {
                "route": route,
                "original_verdict": verdict["verdict"],
                "rules": blocking,
                "reason": reason.strip(),
            },
        )

    def plan(self, actor: Actor, evaluation_id: int, request: PlanRequest) -> _Plan:
        """``draft_plan`` then ``sign_plan``, as the prescriber does in one sitting."""
        planning.confirm_signature(actor, self.password, prompt=planning.PLAN_SIGNATURE)
        assert actor.user is not None
        patient, evaluation = self._evaluation(evaluation_id)
        protocol = get_protocol(request.protocol_id)
        today = timezone.localdate()
        verdict = evaluation["verdicts"][protocol.eligibility_route]
        blocking = {f["id"] for f in verdict["fired"] if f["verdict"] in OVERRIDABLE}
        override = None
        if blocking:
            override = next(
                (pk for pk, route, fired in evaluation["overrides"]
                 if route == protocol.eligibility_route and blocking <= fired),
                None,
            )  # fmt: skip
        order = self._order(protocol, patient, request, today)
        unit = "mg/kg" if protocol.weight_based else "mg"
        vial = request.vial_mg_per_ml if protocol.weight_based else None
        now = self.clock.at
        pk = self.w.insert(
            TreatmentPlan,
            patient_id=patient.pk,
            clinic_id=self.clinic.pk,
            evaluation_id=evaluation_id,
            protocol_id=protocol.id,
            protocol_version=protocol.version,
            prescribed_dose=request.dose,
            dose_unit=unit,
            use_adjusted_weight=request.use_adjusted_weight,
            vial_mg_per_ml=vial,
            infusion_minutes=order["infusion_minutes"],
            dose_order=order,
            start_date=request.start_date,
            eligibility=verdict,
            override_id=override,
            created_by_id=actor.user.pk,
            created_at=now,
        )
        self.audit(
            actor,
            Action.CREATE,
            "treatmentplan",
            pk,
            patient.pk,
            {
                "protocol": f"{protocol.id} {protocol.version}",
                "dose": f"{request.dose} {unit}",
                "dose_order": order,
                "start_date": request.start_date,
                "eligibility": verdict["verdict"],
                "override": override,
            },
        )
        dates = induction_schedule(protocol, request.start_date, self.clinic.weekdays)
        sessions = [
            (self.w.insert(PlannedSession, plan_id=pk, number=n, date=d), n, d)
            for n, d in enumerate(dates, start=1)
        ]
        schedule = [d.isoformat() for d in dates]
        signed = TreatmentPlan(
            patient_id=patient.pk,
            evaluation_id=evaluation_id,
            protocol_id=protocol.id,
            protocol_version=protocol.version,
            prescribed_dose=_dec(request.dose, 2),
            dose_unit=unit,
            use_adjusted_weight=request.use_adjusted_weight,
            vial_mg_per_ml=None if vial is None else _dec(vial, 1),
            infusion_minutes=order["infusion_minutes"],
            dose_order=order,
            start_date=request.start_date,
            signed_schedule=schedule,
            eligibility=verdict,
            override_id=override,
            signed_by_id=actor.user.pk,
            signed_at=now,
        )
        digest = plan_digest(signed)
        signed.pk = pk
        self.w.update(
            TreatmentPlan,
            pk,
            signed_schedule=schedule,
            state=TreatmentPlan.State.SIGNED,
            signed_by_id=actor.user.pk,
            signed_at=now,
            digest=digest,
        )
        # What the dosing days read of the plan; the evaluation is not needed any more.
        slim = TreatmentPlan(
            pk=pk, protocol_id=protocol.id, protocol_version=protocol.version, dose_order=order
        )
        patient.plans[pk] = {
            "protocol": protocol,
            "model": slim,
            "sessions": {n: [planned_id, d] for planned_id, n, d in sessions},
        }
        evaluation.clear()
        for planned_id, n, _ in sessions:
            self.planned[planned_id] = (patient, pk, n)
        self.owners[("plan", pk)] = patient
        self.audit(
            actor,
            Action.SIGN,
            "treatmentplan",
            pk,
            patient.pk,
            {"digest": digest, "sessions": schedule},
        )
        return _Plan(pk, protocol.id, _dec(request.dose, 2), order, sessions)

    def _order(
        self, protocol: Protocol, patient: _BulkPatient, request: PlanRequest, today: date
    ) -> dict[str, Any]:
        """``planning.actions.dose_order`` and ``_order_dict`` on the weights in memory."""
        day, _, weight, _ = patient.latest_measurement()
        if protocol.weight_based:
            order = calculate_dose(
                protocol,
                mg_per_kg=request.dose,
                weight_kg=weight,
                weight_measured_on=day,
                today=today,
                height_cm=patient.height(),
                sex=patient.model.sex_at_birth,
                use_adjusted_weight=request.use_adjusted_weight,
                vial_mg_per_ml=request.vial_mg_per_ml,
                infusion_minutes=request.infusion_minutes,
            )
        else:
            order = calculate_dose(protocol, fixed_mg=request.dose)

        def text(value: Any) -> str | None:
            return None if value is None else str(value)

        return {
            "dose_mg": str(order.dose_mg),
            "actual_weight_kg": str(weight),
            "weight_used_kg": text(order.weight_used_kg),
            "weight_basis": order.weight_basis,
            "volume_ml": text(order.volume_ml),
            "vial_mg_per_ml": text(order.vial_mg_per_ml),
            "infusion_minutes": order.infusion_minutes,
            "rate_ml_per_h": text(order.rate_ml_per_h),
            "devices": order.devices,
        }

    def _plan(self, plan_id: int) -> tuple[_BulkPatient, dict[str, Any]]:
        patient = self.owners[("plan", plan_id)]
        return patient, patient.plans[plan_id]

    def reschedule(
        self, actor: Actor, plan_id: int, number: int, new: date
    ) -> dict[int, tuple[date, date]]:
        patient, plan = self._plan(plan_id)
        sessions = plan["sessions"]
        numbers = sorted(sessions)
        dates = reschedule(
            [sessions[n][1] for n in numbers],
            number - 1,
            new,
            plan["protocol"],
            self.clinic.weekdays,
        )
        moved: dict[int, tuple[date, date]] = {}
        changes = {}
        for n, moved_to in zip(numbers, dates, strict=True):
            planned_id, old = sessions[n]
            if old != moved_to:
                moved[n] = (old, moved_to)
                changes[f"session {n}"] = {"old": old, "new": moved_to}
                sessions[n][1] = moved_to
                self.w.update(PlannedSession, planned_id, date=moved_to)
        if changes:
            self.audit(actor, Action.UPDATE, "treatmentplan", plan_id, patient.pk, changes)
        return moved

    # --- the dosing day ---------------------------------------------------------------------

    def _save(self, session: TreatmentSession, **values: Any) -> None:
        """Set fields as ``session.save()`` would store them (``updated_at`` included), with
        the staff behind each ``*_by`` field, which the session note names."""
        for name, value in values.items():
            setattr(session, name, value)
            if name.endswith("_by_id"):
                setattr(session, name[:-3], self.users.get(value))
        self.w.update(TreatmentSession, session.pk, **values, updated_at=self.clock.at)

    def _session_audit(
        self, actor: Actor, session: TreatmentSession, what: str, **changes: Any
    ) -> None:
        self.audit(
            actor,
            Action.UPDATE,
            "treatmentsession",
            session.pk,
            session.patient_id,
            {"step": what, "state": session.state, **changes},
        )

    def open_session(self, actor: Actor, planned_id: int, chair: str) -> int:
        patient, plan_id, number = self.planned[planned_id]
        plan = patient.plans[plan_id]
        day = plan["sessions"][number][1]
        now = self.clock.at
        pk = self.w.insert(
            TreatmentSession,
            clinic_id=self.clinic.pk,
            patient_id=patient.pk,
            plan_id=plan_id,
            planned_id=planned_id,
            date=day,
            chair=chair.strip(),
            updated_at=now,
        )
        # The session as the actions see it, kept for the note at discharge: an unsaved
        # instance whose related rows are "prefetched" lists.
        session = TreatmentSession(
            pk=pk,
            clinic_id=self.clinic.pk,
            patient_id=patient.pk,
            plan=plan["model"],
            planned=PlannedSession(pk=planned_id, plan_id=plan_id, number=number, date=day),
            date=day,
            chair=chair.strip(),
        )
        session._prefetched_objects_cache = {
            "steps": [],
            "observations": [],
            "adverse_events": [],
            "alerts": [],
        }
        self.sessions[pk] = session
        self.audit(
            actor,
            Action.CREATE,
            "treatmentsession",
            pk,
            patient.pk,
            {"plan": plan_id, "number": number, "chair": chair.strip()},
        )
        return pk

    def _related(self, session: TreatmentSession, name: str) -> list[Any]:
        related: list[Any] = session._prefetched_objects_cache[name]
        return related

    def cancel_session(self, actor: Actor, session_id: int, reason: str) -> None:
        session = self.sessions.pop(session_id)
        self._save(session, state=TreatmentSession.State.CANCELLED, cancel_reason=reason.strip())
        self._session_audit(actor, session, "cancel", reason=reason.strip())

    def check_in(self, actor: Actor, session_id: int, checklist: Checklist) -> None:
        assert actor.user is not None
        session = self.sessions[session_id]
        recorded = {
            "fasting_as_instructed": checklist.fasting_as_instructed,
            "escort_arranged": checklist.escort_arranged,
            "pregnancy_test": checklist.pregnancy_test,
            "questionnaires_done": checklist.questionnaires_done,
        }
        self._save(
            session,
            state=TreatmentSession.State.CHECKED_IN,
            checklist=recorded,
            checked_in_at=self.clock.at,
            checked_in_by_id=actor.user.pk,
        )
        self._session_audit(actor, session, "check_in", checklist=recorded)

    def observe(self, actor: Actor, session_id: int, values: dict[str, Any]) -> list[int]:
        assert actor.user is not None
        session = self.sessions[session_id]
        vitals = _vitals(values)
        now = self.clock.at
        pre_dose = session.state == TreatmentSession.State.CHECKED_IN
        protocol = get_protocol(session.plan.protocol_id)
        route = protocol.eligibility_route
        observations = self._related(session, "observations")
        gate: dict[str, Any] = {}
        if pre_dose:
            readings = treatments.pre_dose_readings(observations)
            state, gate = treatments.pre_dose_verdict(protocol, readings, Reading(now, vitals))
        phase = Observation.Phase.PRE_DOSE if pre_dose else Observation.Phase.MONITORING
        cadss = values.get("cadss")
        row = {
            "session_id": session_id,
            "phase": phase,
            "taken_at": now,
            "cadss": None if cadss in (None, "") else int(cadss),
            "gate": gate,
            "recorded_by_id": actor.user.pk,
            "recorded_at": now,
            **{name: vitals.value(name) for name in VITAL_FIELDS},
        }
        pk = self.w.insert(Observation, **row)
        observations.append(Observation(pk=pk, **row))
        created = []
        if pre_dose:
            self._save(session, **treatments.gate_fields(state, now))
        else:
            for hit in alerts(route, vitals):
                alert = {
                    "session_id": session_id,
                    "observation_id": pk,
                    "check_id": hit.check.id,
                    "message": hit.check.message,
                    "source": hit.check.source,
                    "values": hit.values,
                    "created_at": now,
                }
                alert_id = self.w.insert(SessionAlert, **alert)
                created.append(alert_id)
                self.session_alerts[alert_id] = SessionAlert(pk=alert_id, **alert)
                self._related(session, "alerts").append(self.session_alerts[alert_id])
            self._note_readiness(session, now)
        self._session_audit(
            actor, session, "observation", **treatments.observation_audit(vitals, gate)
        )
        return created

    def _note_readiness(self, session: TreatmentSession, now: datetime) -> None:
        ready_at = treatments.ready_at_after(session, now)
        if ready_at != session.ready_at:
            self._save(session, ready_at=ready_at)

    def override_gate(self, actor: Actor, session_id: int, reason: str) -> None:
        treatments.confirm_password(actor, self.password, prompt=treatments.GATE_OVERRIDE_SIGNATURE)
        assert actor.user is not None
        session = self.sessions[session_id]
        self._save(
            session,
            gate_override_by_id=actor.user.pk,
            gate_override_reason=reason.strip(),
            gate_override_at=self.clock.at,
        )
        self._session_audit(
            actor,
            session,
            "gate_override",
            checks=[f["id"] for f in session.gate_fired],
            reason=reason.strip(),
        )

    def start_dose(
        self, actor: Actor, session_id: int, supply: Supply, dose: Decimal | None, reason: str
    ) -> None:
        assert actor.user is not None
        session = self.sessions[session_id]
        protocol = get_protocol(session.plan.protocol_id)
        planned = Decimal(session.plan.dose_order["dose_mg"])
        given = planned if dose in (None, "") else Decimal(str(dose))
        treatments.check_bedside_dose(session, protocol, given)
        lot = self.lots[supply.lot_id]
        amount = Decimal(str(supply.units))
        entry_id, entry = self.ledger(
            actor,
            kind=LedgerEntry.Kind.DISPENSE,
            lot_id=lot.pk,
            from_location_id=supply.location_id,
            quantity_units=amount,
            quantity_mg=lot.product.mg(amount),
            patient_id=session.patient_id,
            plan_id=session.plan.pk,
            dose_mg=Decimal(str(given)),
            override_by_id=None,
            reason="",
        )
        now = self.clock.at
        values: dict[str, Any] = {
            "dose_mg": given,
            "dispense_id": entry_id,
            "dose_started_at": now,
            "state": TreatmentSession.State.DOSING,
        }
        if given != planned:
            values["dose_changed_by_id"] = actor.user.pk
            values["dose_change_reason"] = reason.strip()
        first = {"iv": DoseStep.Kind.INFUSION_START, "im": DoseStep.Kind.INJECTION}.get(
            protocol.route, DoseStep.Kind.DEVICE
        )
        rate = session.plan.dose_order.get("rate_ml_per_h") if protocol.route == "iv" else None
        self._step(session, actor, first, rate)
        per_device = Decimal(str(protocol.raw.get("mg_per_device", 1)))
        devices = int(_dec(given, 2) / per_device)
        if protocol.route == "im" or (protocol.route == "intranasal" and devices == 1):
            values["dose_ended_at"] = now
            values["state"] = TreatmentSession.State.MONITORING
        self._save(session, **values)
        # As the next steps read them back from the database.
        session.dose_mg = _dec(given, 2)
        entry.lot = lot
        entry.quantity_mg = _dec(entry.quantity_mg, 2)
        entry.quantity_units = _dec(entry.quantity_units, 2)
        # The note lists the dispense and its wastes, as the actions read them back.
        entry.actor = self.users[actor.user.pk]
        entry._prefetched_objects_cache = {"wastes": []}
        session.dispense = entry
        self.devices[session_id] = devices
        self._session_audit(actor, session, "dose_started", dose_mg=str(given), dispense=entry_id)

    def _step(
        self, session: TreatmentSession, actor: Actor, kind: str, rate: Any = None, note: str = ""
    ) -> None:
        assert actor.user is not None
        row = {
            "session_id": session.pk,
            "kind": kind,
            "at": self.clock.at,
            "rate_ml_per_h": None if rate is None else _dec(rate, 1),
            "note": note,
            "recorded_by_id": actor.user.pk,
        }
        pk = self.w.insert(DoseStep, **row)
        step = DoseStep(pk=pk, **row)
        step.recorded_by = self.users[actor.user.pk]
        self._related(session, "steps").append(step)

    def give_device(self, actor: Actor, session_id: int) -> None:
        session = self.sessions[session_id]
        steps = self._related(session, "steps")
        given = sum(1 for s in steps if s.kind == DoseStep.Kind.DEVICE)
        self._step(session, actor, DoseStep.Kind.DEVICE)
        needed = self.devices[session_id]
        if given + 1 >= needed:
            self._save(
                session, dose_ended_at=self.clock.at, state=TreatmentSession.State.MONITORING
            )
        self._session_audit(actor, session, "device", number=given + 1, of=needed)

    def pump(self, actor: Actor, session_id: int, kind: str, note: str = "") -> None:
        session = self.sessions[session_id]
        self._step(session, actor, kind, None, note)
        if kind == DoseStep.Kind.INFUSION_END:
            self._save(
                session, dose_ended_at=self.clock.at, state=TreatmentSession.State.MONITORING
            )
        self._session_audit(actor, session, kind, rate=None, note=note)

    def adverse_event(
        self,
        actor: Actor,
        session_id: int,
        kind: str,
        severity: str,
        description: str,
        intervention: str,
    ) -> None:
        assert actor.user is not None
        session = self.sessions[session_id]
        now = self.clock.at
        row = {
            "session_id": session_id,
            "kind": kind,
            "severity": severity,
            "occurred_at": now,
            "description": description.strip(),
            "intervention": intervention.strip(),
            "recorded_by_id": actor.user.pk,
            "recorded_at": now,
        }
        pk = self.w.insert(AdverseEvent, **row)
        event = AdverseEvent(pk=pk, **row)
        self._related(session, "adverse_events").append(event)
        self._session_audit(
            actor, session, "adverse_event", **treatments.adverse_event_audit(event)
        )

    def acknowledge_alert(self, actor: Actor, alert_id: int, note: str) -> None:
        assert actor.user is not None
        alert = self.session_alerts.pop(alert_id)
        alert.acknowledged_by = self.users[actor.user.pk]
        alert.acknowledged_at = self.clock.at
        alert.acknowledgement_note = note.strip()
        self.w.update(
            SessionAlert,
            alert_id,
            acknowledged_by_id=actor.user.pk,
            acknowledged_at=alert.acknowledged_at,
            acknowledgement_note=alert.acknowledgement_note,
        )
        session = self.sessions[alert.session_id]
        if session.state == TreatmentSession.State.MONITORING:
            self._note_readiness(session, alert.acknowledged_at)
        self.audit(
            actor,
            Action.UPDATE,
            "sessionalert",
            alert_id,
            session.patient_id,
            {"acknowledged": alert.check_id, "note": alert.acknowledgement_note},
        )

    def waste(self, actor: Actor, session_id: int, witness: Signature) -> None:
        session = self.sessions[session_id]
        dispense = session.dispense
        assert dispense is not None and session.dose_mg is not None
        leftover = dispense.quantity_mg - session.dose_mg
        if leftover <= 0:
            return
        signer = inventory.confirm_witness(actor, witness, prompt=inventory.WASTE_WITNESS)
        product = dispense.lot.product
        amount = (leftover / product.mg_per_unit).quantize(Decimal("0.01"))
        _, entry = self.ledger(
            actor,
            kind=LedgerEntry.Kind.WASTE,
            lot_id=dispense.lot.pk,
            quantity_units=amount,
            quantity_mg=product.mg(amount),
            patient_id=session.patient_id,
            dispense_id=dispense.pk,
            reason=WASTE_REASON,
            witness_id=signer.pk,
        )
        assert actor.user is not None
        entry.actor, entry.witness = self.users[actor.user.pk], self.users[entry.witness_id]
        dispense._prefetched_objects_cache["wastes"].append(entry)

    def discharge(self, actor: Actor, session_id: int, adult_present: bool) -> None:
        treatments.confirm_password(actor, self.password, prompt=treatments.DISCHARGE_SIGNATURE)
        assert actor.user is not None
        session = self.sessions.pop(session_id)
        self._related(session, "steps").sort(key=lambda s: (s.at, s.pk))
        self._related(session, "observations").sort(key=lambda o: (o.taken_at, o.pk))
        values = {
            "dissociation_resolved": True,
            "responsible_adult_present": adult_present,
            "discharged_at": self.clock.at,
            "discharged_by_id": actor.user.pk,
            "state": TreatmentSession.State.DISCHARGED,
        }
        for name, value in values.items():
            setattr(session, name, value)
        session.discharged_by = self.users[actor.user.pk]
        values["ready_at"] = session.ready_at = treatments.ready_at_discharge(session)
        note = session_note(session)
        self._save(session, **values, note=note)
        self._session_audit(actor, session, "discharge", note=note)
        if session.plan.protocol_id.startswith("esketamine"):  # its REMS form follows
            self.discharged[session_id] = session.patient_id
        self.devices.pop(session_id, None)

    def rems(self, actor: Actor, session_id: int, reference: str) -> None:
        assert actor.user is not None
        patient_id = self.discharged.pop(session_id)
        pk = self.w.insert(
            RemsSubmission,
            session_id=session_id,
            submitted_at=self.clock.at,
            submitted_by_id=actor.user.pk,
            reference=reference.strip(),
        )
        self.audit(
            actor,
            Action.CREATE,
            "remssubmission",
            pk,
            patient_id,
            {"session": session_id, "reference": reference.strip()},
        )

    # --- stock ------------------------------------------------------------------------------

    def receive(
        self,
        actor: Actor,
        product: Product,
        lot_number: str,
        expires_on: date,
        units: Decimal,
        invoice: str,
    ) -> int:
        lot_id = self.w.insert(
            Lot,
            registration_id=self.stock.registration_id,
            product_id=product.pk,
            lot_number=lot_number.strip(),
            expires_on=expires_on,
        )
        self.lots[lot_id] = Lot(
            pk=lot_id, product=product, lot_number=lot_number.strip(), expires_on=expires_on
        )
        amount = Decimal(str(units))
        self.ledger(
            actor,
            kind=LedgerEntry.Kind.RECEIPT,
            lot_id=lot_id,
            to_location_id=self.stock.location_id,
            quantity_units=amount,
            quantity_mg=product.mg(amount),
            supplier=SUPPLIER,
            invoice=invoice.strip(),
        )
        return lot_id

    def count(self, actor: Actor, lines: list[Counted], note: str) -> None:
        assert actor.user is not None
        pk = self.w.insert(
            PhysicalCount,
            registration_id=self.stock.registration_id,
            kind=PhysicalCount.Kind.AD_HOC,
            counted_at=self.clock.at,
            counted_by_id=actor.user.pk,
            note=note.strip(),
        )
        for line in lines:
            self.w.insert(
                CountLine,
                count_id=pk,
                lot_id=line.lot_id,
                location_id=line.location_id,
                book_units=_dec(self.balances[line.lot_id][1], 2),
                counted_units=Decimal(str(line.units)),
            )
        self.audit(
            actor,
            Action.CREATE,
            "physicalcount",
            pk,
            None,
            {"kind": PhysicalCount.Kind.AD_HOC, "lines": len(lines), "discrepancies": 0},
        )

    # --- the run ----------------------------------------------------------------------------

    def forget(self, patient_id: int) -> None:
        patient = self.patients.pop(patient_id, None)
        if patient is not None:
            for plan_id, plan in patient.plans.items():
                self.owners.pop(("plan", plan_id), None)
                for planned_id, _ in plan["sessions"].values():
                    self.planned.pop(planned_id, None)
            for evaluation_id in patient.evaluations:
                self.owners.pop(("evaluation", evaluation_id), None)
            for link_id in patient.links:
                self.owners.pop(("link", link_id), None)

    def heads(self) -> _Heads:
        return _Heads(
            self.stock.registration_id,
            self.sequence,
            self.ledger_hash,
            self.clinic.pk,
            self.mrn_counter,
        )

    def checkpoint(self) -> None:
        self.w.checkpoint(self.heads())

    def finish(self) -> None:
        self.write_seconds = self.w.finish(self.heads())

    write_seconds = 0.0


# --- stock: what the clinic orders and which lot a dose comes from ---------------------------


@dataclass
class _Lot:
    lot_id: int
    expires_on: date
    units: Decimal


class _Stock:
    """The cabinet's lots, kept in memory in step with the ledger, to dispense first-expiry-
    first and to order ahead: weekly, two weeks of expected use (what is booked, or what the
    last two weeks took if more) and a quarter more, in whole packages; a same-day delivery
    when a dose finds no lot that holds it."""

    def __init__(self, setup: _StockSetup, ops: _Ops, admin: Actor) -> None:
        self.setup, self.ops, self.admin = setup, ops, admin
        self.lots: dict[str, list[_Lot]] = {drug: [] for drug in PRODUCTS}
        route_of = {p.pk: route for route, p in setup.products.items()}
        for balance in (
            StockBalance.objects.filter(location_id=setup.location_id, quantity_units__gt=0)
            .select_related("lot")
            .order_by("pk")
        ):
            route = route_of.get(balance.lot.product_id)
            if route is not None:
                self.lots[route].append(
                    _Lot(balance.lot_id, balance.lot.expires_on, Decimal(balance.quantity_units))
                )
        self.booked: dict[date, Counter[str]] = defaultdict(Counter)
        self.used: dict[date, Counter[str]] = defaultdict(Counter)
        self.received = 0

    def book(self, day: date, route: str, units: Decimal, sign: int = 1) -> None:
        self.booked[day][route] += float(units) * sign

    def on_hand(self, route: str, today: date) -> Decimal:
        return sum((lot.units for lot in self.lots[route] if lot.expires_on >= today), Decimal(0))

    def receive(self, route: str, packages: Decimal, kind: str) -> None:
        today = timezone.localdate()
        product = self.setup.products[route]
        units = packages * Decimal(product.units_per_package)
        self.received += 1
        lot_id = self.ops.receive(
            self.admin,
            product,
            f"{product.ndc[6:10]}-{today:%y%m%d}-{self.received}",
            today + timedelta(days=SHELF_LIFE_DAYS[route]),
            units,
            f"{kind}-{today:%y%m%d}-{self.received}",
        )
        self.lots[route].append(_Lot(lot_id, today + timedelta(days=SHELF_LIFE_DAYS[route]), units))

    def reorder(self) -> None:
        today = timezone.localdate()
        for route, product in self.setup.products.items():
            booked = sum(self.booked[today + timedelta(days=d)][route] for d in range(14))
            took = sum(self.used[today - timedelta(days=d)][route] for d in range(1, 15))
            want = Decimal(math.ceil(max(booked, took) * 1.25)) - self.on_hand(route, today)
            if want > 0:
                per = Decimal(product.units_per_package)
                self.receive(route, (want / per).to_integral_value(ROUND_CEILING), "INV")

    def supply(self, route: str, units: Decimal) -> Supply:
        today = timezone.localdate()
        lots = [lot for lot in self.lots[route] if lot.expires_on >= today and lot.units >= units]
        if not lots:
            per = Decimal(self.setup.products[route].units_per_package)
            self.receive(route, (units / per).to_integral_value(ROUND_CEILING) + 4, "URGENT")
            return self.supply(route, units)
        lot = min(lots, key=lambda lot: (lot.expires_on, lot.lot_id))
        lot.units -= units
        self.used[today][route] += float(units)
        if not lot.units:
            self.lots[route].remove(lot)
        return Supply(self.setup.registration_id, lot.lot_id, self.setup.location_id, units)

    def count(self) -> None:
        """The monthly count of the cabinet: it matches the book."""
        today = timezone.localdate()
        lines = [
            Counted(lot.lot_id, self.setup.location_id, lot.units)
            for route in PRODUCTS
            for lot in sorted(self.lots[route], key=lambda lot: lot.lot_id)
            if lot.expires_on >= today
        ]
        if lines:
            self.ops.count(self.admin, lines, "Monthly count of the treatment room cabinet.")


# --- one patient's story ----------------------------------------------------------------------


@dataclass
class _Profile:
    """A patient's story, drawn up front from the patient's own generator."""

    number: int
    referred: datetime
    sex: str
    age: int
    indication: str
    baseline: int  # the true PHQ-9 at the first dose
    outcome: str  # remitter, responder, non_responder
    endpoint: int  # the PHQ-9 at the end of induction
    relapse_day: float | None  # days after the endpoint window; None: no relapse
    dropout_after: int | None  # sessions dosed before dropping out
    systolic: int
    diastolic: int
    heart_rate: int
    hypertension_factor: float
    weight: Decimal
    height: Decimal
    findings: dict[str, Any]
    wants_esketamine: bool
    im: bool
    clears: bool
    research_consent: bool


def _referral(params: SynthParams, n: int, start: date, days: int) -> datetime:
    """When patient ``n`` is referred: office hours of a weekday within the window."""
    rng = random.Random(f"{params.seed}/referral/{n}")  # noqa: S311
    day = start + timedelta(days=rng.randrange(max(1, days)))
    while day.weekday() >= 5:
        day = start + timedelta(days=rng.randrange(max(1, days)))
    return _at(day, rng.randint(9, 15), rng.choice((0, 15, 30, 45)))


def _draw_profile(params: SynthParams, n: int, referred: datetime) -> _Profile:
    rng = random.Random(f"{params.seed}/profile/{n}")  # noqa: S311
    roll = rng.random()
    if roll < params.female_share:
        sex = "female"
    elif roll < params.female_share + params.intersex_share:
        sex = "intersex"
    else:
        sex = "male"
    age = _clip(rng.gauss(params.mean_age, 13), 18, 80)
    indication = rng.choices(INDICATIONS, weights=params.indication_shares)[0]
    depressed = indication in ("trd", "mdd_with_suicidal_ideation")
    baseline = _clip(rng.gauss(18.5 if depressed else 15, 4), 10, 27)
    half = baseline // 2
    roll = rng.random()
    if roll < params.remission_rate:
        outcome, endpoint = "remitter", rng.randint(0, 4)
    elif roll < params.response_rate:
        outcome, endpoint = "responder", rng.randint(5, half)
    elif rng.random() < 0.08:  # McInnes: 8.4 % worsened
        outcome, endpoint = "non_responder", rng.randint(baseline, min(27, baseline + 4))
    else:
        outcome, endpoint = "non_responder", rng.randint(half + 1, baseline)
    relapse_day = None
    if outcome != "non_responder" and rng.random() < params.relapse_rate:
        relapse_day = rng.uniform(0, 7 * params.follow_up_weeks)
    induction = 8 if depressed else 6
    dropout_after = rng.randint(1, induction - 1) if rng.random() < params.dropout_rate else None
    height = rng.gauss(163 if sex == "female" else 177, 7)
    bmi = min(48.0, max(17.5, rng.lognormvariate(math.log(28), 0.2)))
    weight = min(160.0, max(42.0, bmi * (height / 100) ** 2))
    systolic = _clip(rng.gauss(122 + 0.3 * (age - 40), 12), 95, 168)
    return _Profile(
        number=n,
        referred=referred,
        sex=sex,
        age=age,
        indication=indication,
        baseline=baseline,
        outcome=outcome,
        endpoint=endpoint,
        relapse_day=relapse_day,
        dropout_after=dropout_after,
        systolic=systolic,
        diastolic=_clip(systolic * 0.62 + rng.gauss(3, 6), 55, systolic - 25),
        heart_rate=_clip(rng.gauss(75, 10), 50, 105),
        hypertension_factor=rng.gammavariate(2.0, 0.5),  # mean 1: some patients run hotter
        weight=Decimal(f"{weight:.1f}"),
        height=Decimal(f"{height:.1f}"),
        findings=_findings(params, rng, indication, age),
        wants_esketamine=depressed and rng.random() < params.esketamine_share,
        im=rng.random() < params.im_share,
        clears=rng.random() < params.clearance_rate,
        research_consent=rng.random() < params.research_consent_rate,
    )


def _findings(params: SynthParams, rng: random.Random, indication: str, age: int) -> dict[str, Any]:
    """The evaluation's answers other than vital signs and screening scores."""
    sud = rng.random() < params.substance_use_rate
    trials = (1, 2, 2, 3, 3, 3, 4, 4, 5, 6) if indication == "trd" else (0, 1, 1, 2, 2, 3)
    return {
        "indication": indication,
        "adequate_antidepressant_trials": rng.choice(trials),
        "psychiatric.psychosis": rng.random() < params.psychosis_rate,
        "psychiatric.mania_or_bipolar": rng.random() < 0.05,
        "psychiatric.substance_use_disorder": sud,
        "psychiatric.substances": [rng.choice(["alcohol", "cannabis", "opioids"])] if sud else [],
        "psychiatric.prior_ketamine_or_pcp_misuse": False,
        "medical.uncontrolled_hypertension": rng.random() < 0.02,
        "medical.aneurysmal_vascular_disease": rng.random() < params.vascular_rate,
        "medical.arteriovenous_malformation": False,
        "medical.intracerebral_haemorrhage_history": False,
        "medical.recent_mi_or_stroke": age > 50 and rng.random() < 0.01,
        "medical.severe_cardiac_disease": False,
        "medical.severe_hepatic_disease": False,
        "medical.raised_intracranial_or_intraocular_pressure": False,
        "medical.pregnant_or_breastfeeding": False,
        "medical.hypersensitivity_to_ketamine_or_esketamine": False,
        "medications.benzodiazepines": rng.random() < 0.2,
        "medications.non_benzodiazepine_hypnotics": rng.random() < 0.06,
        "medications.psychostimulants": rng.random() < 0.05,
        "medications.maois": rng.random() < 0.01,
        "medications.opioids": rng.random() < 0.03,
        "medications.lamotrigine": rng.random() < 0.05,
        "screening.urine_toxicology": "positive" if sud and rng.random() < 0.5 else "not_indicated",
    }


def _answers(instrument_id: str, total: int, rng: random.Random, last: int = 0) -> list[int]:
    """Item answers adding up to ``total``; PHQ-9's item 9 fixed at ``last``."""
    items = get_instrument(instrument_id).items
    answers = [0] * len(items)
    open_items = list(range(len(items)))
    if instrument_id == "phq9":
        answers[-1] = last
        open_items.pop()
        total -= last
    room = {i: items[i].max_value for i in open_items}
    while total > 0 and room:
        i = rng.choice(list(room))
        answers[i] += 1
        total -= 1
        room[i] -= 1
        if not room[i]:
            del room[i]
    return answers


def _raises_alert(instrument_id: str, answers: list[int], sex: str | None) -> bool:
    return bool(safety_signals(score(get_instrument(instrument_id), answers, sex=sex)))


class _Course:
    """A patient's course as a generator of the times of its next steps: the queue resumes it
    at each time it yields, with the clock set there."""

    def __init__(self, sim: "_Sim", profile: _Profile) -> None:
        self.sim, self.p = sim, profile
        self.ops = sim.ops
        self.rng = random.Random(f"{sim.params.seed}/course/{profile.number}")  # noqa: S311
        self.patient = 0
        self.last_weighed: date | None = None
        self.weight = profile.weight
        self.first_dose: datetime | None = None
        self.crossed = False  # a score at or below the response line since the first dose
        self.first_response_at: datetime | None = None
        self.last_session_day: date | None = None
        self.endpoint_end: datetime | None = None
        self.relapse_at: datetime | None = None
        self.relapse_reported: datetime | None = None  # the first score that shows it
        # The last systolic pressure recorded while monitoring: discharge waits for one no
        # higher than it (esketamine).
        self.last_systolic = 0

    # --- questionnaires ---------------------------------------------------------------------

    def phq9_total(self, when: datetime, phase: str) -> int:
        """The PHQ-9 total the patient reports, from their trajectory."""
        p, rng = self.p, self.rng
        half = p.baseline // 2
        if phase == "intake":
            return _clip(p.baseline + rng.randint(-2, 2), 10, 27)
        if phase == "baseline":
            return p.baseline
        if phase == "induction":
            # On the way from baseline to the endpoint; a responder who crossed the response
            # line stays below it (no spurious relapse), a non-responder stays above it.
            progress = min(1.0, (when - self.first_dose).days / 14) if self.first_dose else 0
            value = _clip(
                p.baseline + (p.endpoint - p.baseline) * progress + rng.gauss(0, 1.5), 0, 27
            )
            if p.outcome == "non_responder":
                return max(value, half + 1)
            return min(value, half) if self.crossed else value
        relapsed = phase == "follow_up" and self.relapse_at is not None and when >= self.relapse_at
        if relapsed and self.relapse_reported is None:
            self.relapse_reported = when
            self.note_truth()
        if relapsed:
            return _clip(p.baseline * rng.uniform(0.6, 1.0), half + 1, 27)
        if p.outcome == "remitter":
            low, high = (0, 4) if phase == "endpoint" else (0, half)
        elif p.outcome == "responder":
            low, high = (5 if phase == "endpoint" else 0), half
        else:
            low, high = half + 1, 27
        return _clip(p.endpoint + rng.gauss(0, 1.2), low, high)

    def item9(self, total: int, phase: str) -> int:
        """PHQ-9 item 9 (thoughts of death or self-harm): likelier the worse the score; always
        present at the start for the suicidal-ideation indication."""
        nine = 0
        if phase in ("intake", "baseline") and self.p.indication == "mdd_with_suicidal_ideation":
            nine = self.rng.choice((1, 1, 2, 2, 3))
        elif self.rng.random() < 0.7 * (total / 27) ** 2:
            nine = self.rng.choice((1, 1, 1, 2))
        return min(total, max(nine, total - 24))  # items 1-8 hold at most 24 points

    def noted(self, total: int) -> None:
        self.sim.report.questionnaires += 1
        if self.first_dose is not None and total <= self.p.baseline // 2 and not self.crossed:
            self.crossed = True
            self.first_response_at = timezone.now()
            self.note_truth()

    def in_clinic(self, actor: Actor, phase: str) -> bool:
        """The day's PHQ-9 (and GAD-7 or PCL-5 by indication), entered by staff from the
        clinic's form. Returns whether it raised a safety alert."""
        total = self.phq9_total(timezone.now(), phase)
        answers = _answers("phq9", total, self.rng, self.item9(total, phase))
        self.ops.staff_response(actor, self.patient, "phq9", answers, None)
        self.noted(total)
        ratio = total / self.p.baseline
        if self.p.indication == "anxiety":
            gad = _clip(15 * ratio + self.rng.gauss(0, 1.5), 0, 21)
            self.ops.staff_response(
                actor, self.patient, "gad7", _answers("gad7", gad, self.rng), None
            )
            self.sim.report.questionnaires += 1
        if self.p.indication == "ptsd" and phase in ("intake", "baseline", "endpoint"):
            pcl = _clip(50 * ratio + self.rng.gauss(0, 5), 0, 80)
            self.ops.staff_response(
                actor, self.patient, "pcl5", _answers("pcl5", pcl, self.rng), None
            )
            self.sim.report.questionnaires += 1
        return _raises_alert("phq9", answers, None)

    def screens(self, nurse: Actor) -> dict[str, Any]:
        """AUDIT-C and DAST-10 at intake; the evaluation takes their results."""
        rng = self.rng
        drinks = [
            rng.choice((0, 0, 1, 1, 2, 3)),
            rng.choice((0, 0, 0, 1, 2)),
            rng.choice((0, 0, 1)),
        ]
        drugs = [0] * 10
        drugs[2] = 1  # item 3 is reverse-scored: "yes, I can stop when I want to"
        if self.p.findings["psychiatric.substance_use_disorder"] or rng.random() < 0.05:
            for item in rng.sample([0, 1, 3, 4, 5, 6, 7, 8, 9], rng.randint(1, 5)):
                drugs[item] = 1
        sex = self.record_screens(nurse, rng, drinks, drugs)
        return {
            "screening.auditc_positive": "positive_screen"
            in score(get_instrument("auditc"), drinks, sex=sex).flags,
            "screening.dast10_score": score(get_instrument("dast10"), drugs).total,
        }

    def rescreen(self, nurse: Actor) -> None:
        """AUDIT-C and DAST-10 again at the last induction session: the registry's misuse
        signal counts the positive ones. Drawn from a generator of their own, so the rest of
        the course is the same with or without them."""
        rng = random.Random(f"{self.sim.params.seed}/rescreen/{self.p.number}")  # noqa: S311
        positive = rng.random() < self.sim.params.rescreen_positive_rate
        drinks = [rng.choice((0, 0, 1, 1, 2)), rng.choice((0, 0, 0, 1)), 0]
        drugs = [0] * 10
        drugs[2] = 1  # item 3 is reverse-scored
        if positive:
            if rng.random() < 0.5:
                drinks = [rng.choice((3, 4)), rng.choice((1, 2)), rng.choice((1, 2))]
            else:
                for item in rng.sample([0, 1, 3, 4, 5, 6, 7, 8, 9], rng.randint(3, 5)):
                    drugs[item] = 1
        self.record_screens(nurse, rng, drinks, drugs)

    def record_screens(
        self, nurse: Actor, rng: random.Random, drinks: list[int], drugs: list[int]
    ) -> str:
        """AUDIT-C and DAST-10 entered by the nurse; returns the sex AUDIT-C was scored for
        (its cut-point depends on it: asked on the form when the chart does not say)."""
        chart_sex = self.p.sex if self.p.sex in ("female", "male") else None
        sex = chart_sex or rng.choice(("female", "male"))
        self.ops.staff_response(nurse, self.patient, "auditc", drinks, None if chart_sex else sex)
        self.ops.staff_response(nurse, self.patient, "dast10", drugs, None)
        self.sim.report.questionnaires += 2
        return sex

    def weigh(self, nurse: Actor, max_age_days: int) -> None:
        today = timezone.localdate()
        if self.last_weighed and (today - self.last_weighed).days <= max_age_days:
            return
        self.weight = Decimal(f"{float(self.weight) + self.rng.gauss(0, 0.6):.1f}")
        self.ops.measure(nurse, self.patient, today, self.weight)
        self.last_weighed = today

    # --- the course ---------------------------------------------------------------------------

    def run(self) -> Iterator[datetime]:
        try:
            yield from self.course()
        finally:
            if self.patient:
                self.ops.forget(self.patient)

    def course(self) -> Iterator[datetime]:
        sim, p, rng = self.sim, self.p, self.rng
        staff = sim.staff
        yield p.referred
        coordinator = staff.pick(Role.COORDINATOR, rng)
        self.patient = self.ops.create_patient(coordinator, self.demographics())
        # Questionnaires go out by link: the patient agrees to be contacted that way.
        self.ops.consent(coordinator, self.patient, ConsentRecord.Kind.MEASUREMENT_LINKS)
        if p.research_consent:
            self.ops.consent(coordinator, self.patient, ConsentRecord.Kind.RESEARCH_REGISTRY)
        self.last_weighed = timezone.localdate()
        sim.report.patients += 1
        yield timezone.now() + timedelta(minutes=20)
        nurse = staff.pick(Role.NURSE, rng)
        screens = self.screens(nurse)
        if self.in_clinic(nurse, "intake"):
            yield timezone.now() + timedelta(minutes=rng.randint(20, 90))
            self.ops.acknowledge_safety(
                staff.pick(Role.PRESCRIBER, rng),
                self.patient,
                "Spoke with the patient at intake: passive thoughts, no plan or intent. Safety "
                "plan written together; 988 given.",
            )

        # The evaluation visit.
        day = _office_day(timezone.localdate() + timedelta(days=rng.randint(3, 14)))
        yield _at(day, rng.randint(9, 14), rng.choice((0, 30)))
        nurse = staff.pick(Role.NURSE, rng)
        prescriber = staff.pick(Role.PRESCRIBER, rng)
        self.weigh(nurse, max_age_days=7)
        answers = {
            **p.findings,
            **screens,
            "vitals.systolic": p.systolic,
            "vitals.diastolic": p.diastolic,
            "vitals.heart_rate": p.heart_rate,
        }
        evaluation = self.ops.start_evaluation(nurse, self.patient, answers)
        p.findings = {}  # recorded: not kept for the months the course lasts
        yield timezone.now() + timedelta(minutes=rng.randint(15, 40))
        self.ops.complete_evaluation(nurse, evaluation)
        yield timezone.now() + timedelta(minutes=rng.randint(20, 90))
        verdicts = self.ops.sign_evaluation(prescriber, evaluation)
        route = self.choose_route(verdicts)
        if route is None:
            return  # not treated: excluded, or no clearance came
        protocol_id, eligibility_route = route
        if verdicts[eligibility_route]["verdict"] in OVERRIDABLE:
            # The specialist's letter comes one to three weeks later.
            day = _office_day(timezone.localdate() + timedelta(days=rng.randint(7, 21)))
            yield _at(day, rng.randint(9, 16), rng.choice((0, 30)))
            prescriber = staff.pick(Role.PRESCRIBER, rng)
            rules = ", ".join(
                f["id"].replace("_", " ") for f in verdicts[eligibility_route]["fired"]
            )
            self.ops.override_eligibility(
                prescriber,
                evaluation,
                eligibility_route,
                f"Specialist clearance received ({rules}): benefit outweighs risk. Extra "
                "monitoring agreed; stop if symptoms recur.",
            )
        yield from self.treat(evaluation, protocol_id, prescriber)

    def demographics(self) -> dict[str, Any]:
        p, rng = self.p, self.rng
        names = {"female": GIVEN_FEMALE, "male": GIVEN_MALE}.get(p.sex, GIVEN_ANY)
        given, family = rng.choice(names), rng.choice(FAMILY)
        born = p.referred.date() - timedelta(days=365 * p.age + rng.randint(0, 364))
        zip_code = rng.choice(ZIPS) if rng.random() < 0.9 else rng.choice(FAR_ZIPS)
        handle = f"{given}.{family}".encode("ascii", "ignore").decode().lower().replace("'", "")
        return {
            "given_name": given,
            "family_name": family,
            "date_of_birth": born,
            "sex_at_birth": p.sex,
            "gender_identity": rng.choice(["", "", "", "Woman", "Man", "Non-binary"]),
            # Unique per patient: a shared number would be a likely duplicate at registration.
            "phone": f"+1 555 {p.number // 10000:04d} {p.number % 10000:04d}",
            "email": f"{handle}.{p.number}@example.org",
            "address": f"{rng.randint(1, 999)} {rng.choice(STREETS)} Street\n"
            f"{TOWN}, {STATE} {zip_code}",
            "emergency_contact_name": f"{rng.choice(GIVEN_ANY)} {family}",
            "emergency_contact_relationship": rng.choice(["Partner", "Parent", "Sibling"]),
            "emergency_contact_phone": f"+1 555 02{rng.randint(0, 99):02d} 0000",
            "allergies": rng.choice(ALLERGIES),
            "current_medications": rng.choice(MEDICATIONS),
            "weight_kg": p.weight,
            "height_cm": p.height,
            "measured_on": p.referred.date(),
        }

    def choose_route(self, verdicts: dict[str, Any]) -> tuple[str, str] | None:
        """The protocol the prescriber plans, or None when the patient is not treated."""
        p = self.p
        if p.wants_esketamine and verdicts["intranasal_esketamine"]["verdict"] not in OVERRIDABLE:
            if p.indication == "mdd_with_suicidal_ideation":
                return "esketamine_mdd_si", "intranasal_esketamine"
            return "esketamine_trd", "intranasal_esketamine"
        racemic = "im_ketamine" if p.im else "iv_ketamine"
        verdict = verdicts[racemic]["verdict"]
        if verdict not in OVERRIDABLE or (verdict == "needs_clearance" and p.clears):
            return racemic, racemic
        return None

    def treat(self, evaluation: int, protocol_id: str, prescriber: Actor) -> Iterator[datetime]:
        sim, p, rng = self.sim, self.p, self.rng
        protocol = get_protocol(protocol_id)
        nurse = sim.staff.pick(Role.NURSE, rng)
        if protocol.weight_based:
            self.weigh(nurse, max_age_days=14)
        start = sim.clinic_day(timezone.localdate() + timedelta(days=rng.randint(2, 9)))
        if protocol_id == "iv_ketamine":
            titrated = rng.random() < sim.params.iv_titrated_start_share
            dose = Decimal("0.75") if titrated else Decimal("0.5")
            request = PlanRequest(protocol_id, dose, start, Decimal("10"), 40)
        elif protocol_id == "im_ketamine":
            # 10 mg/mL: at 50 mg/mL the syringe's 0.1 mL steps lose more than the policy's 5 %.
            request = PlanRequest(protocol_id, Decimal("0.5"), start, Decimal("10"))
        else:
            request = PlanRequest(protocol_id, Decimal(protocol.raw["first_dose_mg"]), start)
        # Consent before the plan is signed, as signing asks.
        kind = (
            ConsentRecord.Kind.TREATMENT_ESKETAMINE
            if protocol.drug == "esketamine"
            else ConsentRecord.Kind.TREATMENT_KETAMINE
        )
        self.ops.consent(nurse, self.patient, kind)
        if protocol.drug == "esketamine":
            self.ops.consent(nurse, self.patient, ConsentRecord.Kind.REMS_ENROLLMENT)
        plan = self.ops.plan(prescriber, evaluation, request)
        dates = {number: day for _, number, day in plan.sessions}
        route = protocol.route
        dose = Decimal(plan.dose_order["dose_mg"])
        units = self.units(route, dose)
        drug = protocol.drug
        for day in dates.values():
            sim.stock.book(day, drug, units)
        dosed = 0
        for planned_id, number, _ in plan.sessions:
            if p.dropout_after is not None and dosed >= p.dropout_after:
                for later in range(number, len(dates) + 1):
                    sim.stock.book(dates[later], drug, units, sign=-1)
                return  # stopped coming: no more sessions or questionnaires
            if rng.random() < sim.params.reschedule_rate:
                call = max(
                    _at(_office_day(dates[number] - timedelta(days=2)), rng.randint(9, 16)),
                    timezone.now() + timedelta(minutes=10),
                )
                if timezone.localdate(call) < dates[number]:
                    yield call
                    moved = self.reschedule(plan.pk, number, dates, protocol)
                    for old, new in moved.values():
                        sim.stock.book(old, drug, units, sign=-1)
                        sim.stock.book(new, drug, units)
            sim.stock.book(dates[number], drug, units, sign=-1)
            dose = self.titrated(plan, number, dose)
            dosed += yield from self.session_day(
                planned_id, number, dates[number], protocol, dose, plan, len(dates)
            )
        if self.first_dose is not None:
            yield from self.follow_up(dates[len(dates)])

    def units(self, route: str, dose: Decimal) -> Decimal:
        if route == "intranasal":
            return dose / 28  # nasal devices
        return Decimal("20")  # one 20 mL vial of 10 mg/mL; the remainder is wasted

    def titrated(self, plan: _Plan, number: int, dose: Decimal) -> Decimal:
        """Esketamine TRD may go to 84 mg from session 2 (label); IV non-responders to
        0.75 mg/kg at session 4 (clinical-reference §3). The prescriber changes it."""
        params, rng = self.sim.params, self.rng
        if plan.protocol_id == "esketamine_trd" and number == 2:
            if rng.random() < params.esketamine_84_rate:
                return Decimal("84")
        elif (
            plan.protocol_id == "iv_ketamine"
            and number == 4
            and plan.prescribed_dose == Decimal("0.5")
            and self.p.outcome == "non_responder"
            and rng.random() < params.iv_titration_rate
        ):
            weight = Decimal(plan.dose_order["weight_used_kg"])
            return min(Decimal("120"), (weight * Decimal("0.75")).quantize(Decimal("0.1")))
        return dose

    def reschedule(
        self, plan_id: int, number: int, dates: dict[int, date], protocol: Protocol
    ) -> dict[int, tuple[date, date]]:
        """The patient phones: the session moves to the next day the protocol allows."""
        schedule = [dates[n] for n in sorted(dates)]
        for shift in range(1, 8):
            new = dates[number] + timedelta(days=shift)
            try:
                reschedule(schedule, number - 1, new, protocol, self.sim.clinic.weekdays)
            except ScheduleError:
                continue
            coordinator = self.sim.staff.pick(Role.COORDINATOR, self.rng)
            moved = self.ops.reschedule(coordinator, plan_id, number, new)
            for n, (_, moved_to) in moved.items():
                dates[n] = moved_to
            return moved
        return {}

    # --- the dosing day -----------------------------------------------------------------------

    def session_day(
        self,
        planned_id: int,
        number: int,
        day: date,
        protocol: Protocol,
        dose: Decimal,
        plan: _Plan,
        sessions: int,
    ) -> Iterator[datetime]:
        """One dosing day. Returns 1 if a dose was given."""
        sim, p, rng, ops = self.sim, self.p, self.rng, self.ops
        route, gate_route = protocol.route, protocol.eligibility_route
        staff = sim.staff
        nurse = staff.pick(Role.NURSE, rng)
        prescriber = staff.pick(Role.PRESCRIBER, rng)
        slot = rng.randrange(8 * 4, (14 if route == "intranasal" else 15) * 4 + 1)
        t0 = _at(day, slot // 4, 15 * (slot % 4))
        yield t0 - timedelta(minutes=40)
        session = ops.open_session(
            staff.pick(Role.COORDINATOR, rng), planned_id, f"Chair {rng.randint(1, sim.chairs)}"
        )
        sim.report.sessions += 1
        if rng.random() < sim.params.no_show_rate:
            yield t0 + timedelta(minutes=30)
            ops.cancel_session(nurse, session, "Did not attend; no answer on the phone.")
            return 0
        # The PHQ-9 before the first dose (the baseline), then weekly, and at the last session.
        weekly = (
            self.first_dose is None
            or number == sessions
            or self.last_session_day is None
            or day.isocalendar()[:2] != self.last_session_day.isocalendar()[:2]
        )
        self.last_session_day = day
        if self.first_dose is None:
            phase = "baseline"
        else:
            phase = "endpoint" if number == sessions else "induction"
        yield t0 - timedelta(minutes=15)
        if weekly and self.in_clinic(nurse, phase):
            yield timezone.now() + timedelta(minutes=5)
            ops.acknowledge_safety(
                prescriber,
                self.patient,
                "Seen before today's session: passive thoughts, no plan or intent; safety plan "
                "reviewed. Proceed with treatment.",
            )
        if number == sessions and self.first_dose is not None:
            self.rescreen(nurse)
        if protocol.weight_based:
            self.weigh(nurse, max_age_days=25)
        yield max(t0, timezone.now() + timedelta(minutes=1))
        pregnancy = "negative" if p.sex == "female" and p.age < 52 else "not_applicable"
        ops.check_in(nurse, session, Checklist(True, True, pregnancy, True))
        # Pre-dose vital signs and the gate; ten minutes' rest and a recheck when it stops.
        yield timezone.now() + timedelta(minutes=5)
        pre = _pulse_pressure(
            {
                "systolic": _clip(p.systolic + rng.gauss(2, 8), 90, 175),
                "diastolic": _clip(p.diastolic + rng.gauss(1, 6), 50, 108),
                "heart_rate": _clip(p.heart_rate + rng.gauss(3, 6), 50, 108),
                "spo2": rng.choice((96, 97, 98, 98, 99, 99, 100)),
                "respiratory_rate": rng.randint(12, 18),
            }
        )
        ops.observe(nurse, session, pre)
        if pre_dose_gate(gate_route, _vitals(pre)):
            yield timezone.now() + timedelta(minutes=10)
            drop = rng.randint(*sim.params.gate_recheck_drop)
            pre = _pulse_pressure(
                {
                    **pre,
                    "systolic": pre["systolic"] - drop,
                    "diastolic": pre["diastolic"] - drop // 2,
                    "heart_rate": pre["heart_rate"] - rng.randint(0, 6),
                }
            )
            ops.observe(nurse, session, pre)
            if pre_dose_gate(gate_route, _vitals(pre)):
                yield timezone.now() + timedelta(minutes=5)
                bp = f"{pre['systolic']}/{pre['diastolic']}"
                if pre["systolic"] <= 160 and pre["diastolic"] <= 100:
                    ops.override_gate(
                        prescriber,
                        session,
                        f"Asymptomatic, {bp} on recheck after rest; no headache or chest pain. "
                        "Benefit outweighs risk: dose, with blood pressure every 10 minutes.",
                    )
                else:
                    ops.cancel_session(
                        nurse,
                        session,
                        f"Blood pressure {bp} on two readings: not dosed today; primary care "
                        "asked to review.",
                    )
                    return 0
        # The dose, dispensed from the cabinet in the same step.
        yield timezone.now() + timedelta(minutes=rng.randint(3, 8))
        changed = dose != Decimal(plan.dose_order["dose_mg"])
        ops.start_dose(
            prescriber if changed else nurse,
            session,
            sim.stock.supply(protocol.drug, self.units(route, dose)),
            dose if changed else None,
            "Titrated: partial response so far, earlier doses well tolerated." if changed else "",
        )
        if self.first_dose is None:
            self.first_dose = timezone.now()
        sim.report.dosed += 1
        yield from self.monitor(session, protocol, dose, timezone.now(), pre, nurse, prescriber)
        if route == "intranasal":
            sim.spawn(self.rems(session, number))
        return 1

    def monitor(
        self,
        session: int,
        protocol: Protocol,
        dose: Decimal,
        dosed_at: datetime,
        pre: dict[str, int],
        nurse: Actor,
        prescriber: Actor,
    ) -> Iterator[datetime]:
        """Devices or pump steps; vital signs at the protocol's times, the blood pressure
        peaking about 40 minutes after the dose (Yale: +16/+11 mmHg); alerts acknowledged;
        adverse events; the vial's remainder wasted; discharge."""
        sim, p, rng, ops = self.sim, self.p, self.rng, self.ops
        params = sim.params
        route = protocol.route
        rise = (
            max(0.0, rng.gauss(params.peak_bp_rise[0], 8)),
            max(0.0, rng.gauss(params.peak_bp_rise[1], 5)),
        )
        severe = rng.random() < params.severe_hypertension_rate * p.hypertension_factor
        tachycardia = rng.random() < params.tachycardia_rate
        desaturation = rng.random() < params.desaturation_rate
        peak = 30 if route == "im" else 40
        times = {"iv": [10, 20, 30, 40], "im": [15, 30, 45, 60]}.get(route, [40, 90])

        def vitals(minute: float, final: bool = False) -> dict[str, Any]:
            x = max(0.0, minute / peak)
            shape = x * x * math.exp(2 * (1 - x))  # 0 at the dose, 1 at the peak, then down
            dissociation = math.exp(-(((minute - peak * 0.9) / 25) ** 2))
            values = {
                "systolic": _clip(pre["systolic"] + rise[0] * shape + rng.gauss(0, 4), 90, 180),
                "diastolic": _clip(pre["diastolic"] + rise[1] * shape + rng.gauss(0, 3), 50, 110),
                "heart_rate": _clip(pre["heart_rate"] + 8 * shape + rng.gauss(0, 4), 50, 115),
                "spo2": rng.choice((95, 96, 97, 98, 98, 99)),
                "respiratory_rate": rng.randint(12, 18),
                "moaas": 5 if final or dissociation < 0.3 else rng.choice((3, 4, 4, 4, 5)),
                "cadss": 0 if final else _clip(18 * dissociation + rng.gauss(0, 3), 0, 40),
            }
            if final:  # what allows discharge: back within the limits, and no longer rising
                values["systolic"] = min(values["systolic"], 158, self.last_systolic)
                values["diastolic"] = min(values["diastolic"], 98)
                values["heart_rate"] = min(values["heart_rate"], 105)
            return _pulse_pressure(values)

        if route == "intranasal":  # the first device went with the dose; five minutes apart
            for _ in range(int(dose / 28) - 1):
                yield timezone.now() + timedelta(minutes=5)
                ops.give_device(nurse, session)
        events = self.adverse_events(protocol.drug)
        wasted = route == "intranasal"  # whole devices: nothing left over
        ended_at = None if route == "iv" else dosed_at
        severe_at = rng.choice([m for m in times if m >= peak - 10]) if severe else None
        paused = 0
        for minute in times:
            yield dosed_at + timedelta(minutes=minute + paused)
            values = vitals(minute)
            if minute == severe_at:
                if rng.random() < 0.8:
                    values["systolic"] = rng.randint(181, 204)
                else:
                    values["diastolic"] = rng.randint(111, 118)
                sim.report.severe_hypertension += 1
                during = route == "iv" and minute < 40
                yield from self.severe(session, values, nurse, prescriber, during)
                paused += 12 if during else 0
            else:
                if tachycardia and minute == times[1]:
                    values["heart_rate"] = rng.randint(121, 134)
                    events.append(("tachycardia", "mild", "Rest; settled without treatment", 0))
                if desaturation and minute == times[0]:
                    values["spo2"] = rng.randint(88, 91)
                    events.append(("desaturation", "mild", "Prompted to breathe deeply", 0))
                self.observe(session, values, nurse, prescriber)
            for event in [e for e in events if e[3] <= minute + paused]:
                self.adverse_event(session, nurse, event)
                events.remove(event)
            if route == "iv" and minute == 40:
                yield timezone.now() + timedelta(minutes=1)
                ops.pump(nurse, session, DoseStep.Kind.INFUSION_END)
                ended_at = timezone.now()
            if not wasted:  # what the vial holds beyond the dose, before a witness
                yield timezone.now() + timedelta(minutes=2)
                ops.waste(nurse, session, sim.staff.witness(nurse, rng))
                wasted = True
        for event in events:
            self.adverse_event(session, nurse, event)
        assert ended_at is not None
        if route == "iv":  # every 15 minutes for the half hour after the infusion
            for minute in (15, 30):
                yield ended_at + timedelta(minutes=minute)
                self.observe(
                    session, vitals(40 + paused + minute, final=minute == 30), nurse, prescriber
                )
        else:  # the check before discharge
            last = 120 if route == "intranasal" else times[-1] + 2
            yield max(dosed_at + timedelta(minutes=last), timezone.now() + timedelta(minutes=5))
            self.observe(session, vitals(last, final=True), nurse, prescriber)
        yield timezone.now() + timedelta(minutes=rng.randint(2, 10))
        ops.discharge(nurse, session, route != "intranasal" or rng.random() < 0.6)

    def observe(
        self, session: int, values: dict[str, Any], nurse: Actor, prescriber: Actor
    ) -> None:
        """Vital signs; an alert they raise is acknowledged at once by the prescriber, who is
        on site while patients are dosed."""
        self.last_systolic = values["systolic"]
        for alert in self.ops.observe(nurse, session, values):
            self.ops.acknowledge_alert(
                prescriber,
                alert,
                "Assessed at the chair: asymptomatic; repositioned, rechecked and settling. "
                "Continue monitoring.",
            )

    def severe(
        self,
        session: int,
        values: dict[str, Any],
        nurse: Actor,
        prescriber: Actor,
        during: bool,
    ) -> Iterator[datetime]:
        """Severe hypertension: the alert, the infusion paused, the prescriber's
        acknowledgement, a recheck ten minutes later."""
        ops = self.ops
        raised = ops.observe(nurse, session, values)
        self.last_systolic = values["systolic"]
        if during:
            yield timezone.now() + timedelta(minutes=1)
            ops.pump(nurse, session, DoseStep.Kind.PAUSE, note="Blood pressure alert")
        yield timezone.now() + timedelta(minutes=2)
        for alert in raised:
            ops.acknowledge_alert(
                prescriber,
                alert,
                f"BP {values['systolic']}/{values['diastolic']}: assessed at the chair, no "
                "headache, chest pain or neurological signs."
                + (" Infusion paused; recheck in 10 minutes." if during else " Recheck soon."),
            )
        ops.adverse_event(
            nurse,
            session,
            "hypertension",
            "moderate",
            "",
            "Infusion paused; quiet room; BP rechecked" if during else "Quiet room; BP rechecked",
        )
        yield timezone.now() + timedelta(minutes=8)
        calmer = _pulse_pressure(
            {
                **values,
                "systolic": min(values["systolic"], 176) - self.rng.randint(8, 18),
                "diastolic": min(values["diastolic"], 108) - self.rng.randint(4, 10),
            }
        )
        ops.observe(nurse, session, calmer)
        self.last_systolic = calmer["systolic"]
        if during:
            yield timezone.now() + timedelta(minutes=1)
            ops.pump(nurse, session, DoseStep.Kind.RESUME)

    def adverse_events(self, drug: str) -> list[tuple[str, str, str, int]]:
        rng = self.rng
        events = []
        for kind, rate in self.sim.params.adverse_event_rates[drug].items():
            if rng.random() < rate:
                severity = rng.choices(("mild", "moderate", "severe"), weights=(80, 18, 2))[0]
                events.append(
                    (kind, severity, rng.choice(INTERVENTIONS[kind]), rng.randint(15, 60))
                )
        return events

    def adverse_event(self, session: int, nurse: Actor, event: tuple[str, str, str, int]) -> None:
        kind, severity, intervention, _ = event
        description = "Dizziness or vertigo" if kind == "other" else ""
        self.ops.adverse_event(nurse, session, kind, severity, description, intervention)

    def rems(self, session: int, number: int) -> Iterator[datetime]:
        """The esketamine REMS Patient Monitoring Form, submitted within a few days."""
        seed = f"{self.sim.params.seed}/rems/{self.p.number}/{number}"
        rng = random.Random(seed)  # noqa: S311
        day = _office_day(timezone.localdate() + timedelta(days=rng.randint(1, 4)))
        yield _at(day, rng.randint(9, 16), rng.choice((0, 15, 30, 45)))
        reference = f"PMF-{rng.randint(10**7, 10**8 - 1)}"
        self.ops.rems(self.sim.staff.pick(Role.NURSE, rng), session, reference)

    # --- after induction ----------------------------------------------------------------------

    def follow_up(self, last_session: date) -> Iterator[datetime]:
        """PHQ-9 links by text message: weekly to the end of the endpoint window, then every
        two weeks for ``follow_up_weeks``; some never answered."""
        params = self.sim.params
        self.endpoint_end = _at(last_session, 12) + timedelta(days=params.endpoint_days)
        offsets = list(range(7, params.endpoint_days + 1, 7))
        # Four weeks past the follow-up, so that a late relapse is seen twice (relapse.toml).
        last = params.endpoint_days + 7 * params.follow_up_weeks + 28
        offsets += list(range(params.endpoint_days + 14, last + 1, 14))
        if self.p.relapse_day is not None:
            # The relapse begins with the first follow-up questionnaire sent on or after the
            # drawn day: the registry cannot see a relapse between two questionnaires.
            drawn = self.endpoint_end + timedelta(days=self.p.relapse_day)
            sends = (_at(last_session + timedelta(days=o), 10) for o in offsets)
            self.relapse_at = next((t for t in sends if t >= drawn), drawn)
        self.note_truth()
        for offset in offsets:
            yield max(
                _at(last_session + timedelta(days=offset), 10, self.rng.randint(0, 59)),
                timezone.now() + timedelta(minutes=1),
            )
            phase = "endpoint" if offset <= params.endpoint_days else "follow_up"
            yield from self.at_home(phase)

    def note_truth(self) -> None:
        """A drawn responder's first response and relapse onset, for the report's truth, once
        both the first response and the end of the endpoint window are known (whichever comes
        last: a responder may first cross the line during induction or in the endpoint window,
        before any relapse can begin)."""
        p, responded = self.p, self.first_response_at
        if p.outcome == "non_responder" or responded is None or self.endpoint_end is None:
            return
        self.sim.report.responses[self.patient] = (
            responded,
            self.relapse_reported or self.relapse_at,
        )

    def at_home(self, phase: str) -> Iterator[datetime]:
        rng, staff, ops = self.rng, self.sim.staff, self.ops
        instruments = ["phq9"] + (["gad7"] if self.p.indication == "anxiety" else [])
        sent_at = timezone.now()
        sent = [
            (i, ops.send_link(staff.pick(Role.COORDINATOR, rng), self.patient, i))
            for i in instruments
        ]
        missed = rng.random() < self.sim.params.missed_questionnaire_rate
        hours = rng.uniform(0.2, 20)
        if missed or rng.random() < 0.3:  # no answer by the next day: one reminder
            yield sent_at + timedelta(hours=24)
            for _, link in sent:
                ops.remind(staff.pick(Role.COORDINATOR, rng), link)
            if missed:
                return  # the links expire unanswered
            hours = rng.uniform(24.5, 70)
        yield sent_at + timedelta(hours=hours)
        total = self.phq9_total(timezone.now(), phase)
        answers = _answers("phq9", total, rng, self.item9(total, phase))
        for instrument, link in sent:
            if instrument == "phq9":
                ops.answer_link(link, answers)
            else:
                gad = _clip(15 * total / self.p.baseline, 0, 21)
                ops.answer_link(link, _answers("gad7", gad, rng))
                self.sim.report.questionnaires += 1
        self.noted(total)
        if _raises_alert("phq9", answers, None):
            # Seen on the prescribers' dashboard in office hours; they phone the patient.
            now = timezone.localtime()
            day = now.date() if now.hour < 16 else now.date() + timedelta(days=1)
            yield max(now + timedelta(minutes=30), _at(_office_day(day), 9, 15))
            ops.acknowledge_safety(
                staff.pick(Role.PRESCRIBER, rng),
                self.patient,
                "Phoned the patient: passive thoughts, no plan or intent; safety plan reviewed, "
                "988 given; earlier review offered.",
            )


# --- the scheduler ----------------------------------------------------------------------------


class _Sim:
    """The clinic and its queue of courses, each resumed at the time it last yielded."""

    def __init__(
        self, params: SynthParams, staff: _Staff, ops: _Ops, stock: _Stock, clock: _Clock
    ) -> None:
        self.params, self.staff, self.ops, self.stock, self.clock = params, staff, ops, stock, clock
        self.clinic = staff.clinic
        self.report = SynthReport(clinic_id=self.clinic.pk)
        # About three sessions per chair a day.
        per_day = params.patients * 7 / max(1.0, params.months * 21)
        self.chairs = max(4, math.ceil(per_day / 3))
        self.queue: list[tuple[datetime, int, Iterator[datetime]]] = []
        self.sequence = 0

    def spawn(self, course: Iterator[datetime], when: datetime | None = None) -> None:
        """Start ``course`` at ``when`` (default now): it runs to its first yield then."""
        self.sequence += 1
        heapq.heappush(self.queue, (when or timezone.now(), self.sequence, course))

    def clinic_day(self, day: date) -> date:
        while day.weekday() not in self.clinic.weekdays:
            day += timedelta(days=1)
        return day

    def run(self, end: datetime, progress: Callable[[int], None] | None) -> None:
        """Resume courses in time order until ``end``; what comes later stays undone. Through
        the actions, one transaction per simulated day: their own transactions become
        savepoints inside it (same rows, same checks), and the disk is synced once a day, not
        after every step."""
        current: date | None = None
        day_transaction: Any = None
        try:
            while self.queue:
                when, _, course = heapq.heappop(self.queue)
                if when >= end:
                    continue
                day = timezone.localdate(when)
                if day != current:
                    if day_transaction is not None:
                        day_transaction.__exit__(None, None, None)
                        day_transaction = None
                    self.ops.checkpoint()
                    if isinstance(self.ops, _ActionOps):  # the bulk path writes in batches
                        day_transaction = transaction.atomic()
                        day_transaction.__enter__()
                    if progress and current is not None:
                        progress((day - current).days)
                    current = day
                self.clock.at = when.astimezone(UTC)
                try:
                    following = next(course)
                except StopIteration:
                    continue
                self.report.steps += 1
                if following < when:
                    raise SynthError(f"A step went back in time: {following} after {when}.")
                self.sequence += 1
                heapq.heappush(self.queue, (following, self.sequence, course))
        except BaseException as error:
            if day_transaction is not None:
                day_transaction.__exit__(type(error), error, error.__traceback__)
            raise
        if day_transaction is not None:
            day_transaction.__exit__(None, None, None)
        if progress and current is not None:
            progress((timezone.localdate(end) - current).days)
        for _, _, course in self.queue:
            course.close()  # courses still under way at the end let go of their patients


def _referred(sim: _Sim, n: int, referred: datetime) -> Iterator[datetime]:
    yield from _Course(sim, _draw_profile(sim.params, n, referred)).run()


def _routine(sim: _Sim, start: date, end: date) -> Iterator[datetime]:
    """The clinic's own rhythm: the weekly order on Monday mornings, the monthly count."""
    day = start
    while day < end:
        yield _at(day, 7, 30)
        if day == start or day.weekday() == 0:
            sim.stock.reorder()
        if day.day == 1:
            sim.stock.count()
        day += timedelta(days=1)


def _sink(writer: str) -> _LocalSink | _PipeSink:
    if writer == "auto":
        # Another process can neither see an in-memory database nor join the caller's
        # transaction (a test's, say): then the writer stays in this process.
        shared = not (connection.vendor == "sqlite" and connection.is_in_memory_db())
        can_fork = "fork" in multiprocessing.get_all_start_methods()
        outside = not connection.in_atomic_block
        writer = "process" if shared and can_fork and outside else "local"
    if writer == "local":
        return _LocalSink()
    if writer in ("process", "loopback"):
        return _PipeSink(loopback=writer == "loopback")
    raise SynthError(f"Unknown writer {writer!r}.")


def span_days(months: float, end_day: date) -> int:
    """The program's length in days, or SynthError when its days are not all within the
    dates ketacare accepts (``bounds``), as an action would refuse them one by one."""
    problem = date_problem(end_day, timezone.localdate(), "The program's last day (--end)")
    if problem:
        raise SynthError(problem)
    if not (math.isfinite(months) and months >= 0):
        raise SynthError(f"The number of months must be 0 or more, got {months}.")
    if months * 30.44 > (end_day - EARLIEST_DATE).days:
        raise SynthError(f"{months} months before {end_day} starts before {EARLIEST_DATE}.")
    return round(months * 30.44)


def synthesize(
    params: SynthParams,
    *,
    bulk: bool = False,
    progress: Callable[[int], None] | None = None,
    writer: str = "auto",
) -> SynthReport:
    """Run the synthetic program into the configured database (see the module docstring).
    ``progress`` is called with the number of simulated days done since its last call.

    ``writer`` (bulk path): "process" writes from a forked process with its own connection,
    so that hashing and writing overlap with the simulation; "local" in this process;
    "auto" is "process" unless the database is SQLite in memory, the caller is inside a
    transaction (as the tests are) or the platform cannot fork. "loopback" sends the
    process's messages to a writer in this process, for the tests."""
    if settings.KETACARE_REQUIRE_2FA:
        # Synthetic staff sign as staff do (accounts.reauth), second factor included, and
        # have no authenticator: say so before anything is written, not at the first signature.
        raise SynthError(
            "Synthetic prescribers have no authenticator app, and KETACARE_REQUIRE_2FA is on: "
            "run `ketacare synth` without it (e.g. against a copy of the database)."
        )
    began = wallclock.perf_counter()
    end_day = params.end or timezone.localdate()
    start_day = end_day - timedelta(days=span_days(params.months, end_day))
    clock = _Clock()
    clock.at = _at(start_day - timedelta(days=1), 8).astimezone(UTC)
    # Never shown: nobody signs in as synthetic staff. Hex, so that it can never spell the
    # clinic's name, which the password rules refuse (accounts.passwords).
    password = secrets.token_hex(32)
    with ExitStack() as stack:
        stack.enter_context(mock.patch("django.utils.timezone.now", new=clock))
        stack.enter_context(_remembered_passwords())
        stack.enter_context(
            override_settings(
                KETACARE_SMS_BACKEND="ketacare.registry.synth.DiscardSMS",
                EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
            )
        )
        with transaction.atomic():
            clinic = _clinic(params)
            staff = _Staff(clinic, password)
            setup = _stock_setup(staff)
        ops: _Ops
        if bulk:
            ops = _BulkOps(setup, staff, clock, _sink(writer))
            # The clinic's rules cannot change during the run: read them once.
            rules = cache(planning.clinic_rules)
            stack.enter_context(mock.patch.object(planning, "clinic_rules", rules))
        else:
            ops = _ActionOps(setup, password)
        stock = _Stock(setup, ops, staff.by_role[Role.CLINIC_ADMIN][0])
        sim = _Sim(params, staff, ops, stock, clock)
        days = (end_day - start_day).days
        for n in range(params.patients):
            # Drawn when the patient is referred: a course waiting in the queue costs little.
            referred = _referral(params, n, start_day, days)
            sim.spawn(_referred(sim, n, referred), referred)
        sim.spawn(_routine(sim, start_day, end_day), _at(start_day, 0))
        sim.run(_at(end_day, 0), progress)
        ops.finish()
    sim.report.seconds = wallclock.perf_counter() - began
    if isinstance(ops, _BulkOps):
        sim.report.write_seconds = ops.write_seconds
    return sim.report


__all__ = ["DiscardSMS", "SynthError", "SynthParams", "SynthReport", "synthesize"]
