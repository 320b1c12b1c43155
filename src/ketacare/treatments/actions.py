"""Every step of the dosing day. Each runs in one transaction with its audit event; a refusal
raises SessionError naming every unmet condition and writes nothing. The hard stops live
here, not in the pages, so no request can go around them."""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketacare.accounts.access import Actor
from ketacare.accounts.models import User
from ketacare.accounts.permissions import allowed
from ketacare.accounts.reauth import SignatureRefused, reauthenticate_actor
from ketacare.audit.record import Action, record
from ketacare.bounds import OutOfBounds, check_decimal, digits_of, shown
from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.dose import DoseRefused, check_dose
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.clinical.protocols.monitoring import observation_minutes
from ketacare.clinical.session import (
    BloodPressureAt,
    GateState,
    RaisedAlert,
    Reading,
    Recheck,
    VitalSigns,
    alerts,
    discharge_problems,
    gate_state,
    plausibility_problems,
    rechecks_due,
)
from ketacare.inventory import actions as inventory
from ketacare.inventory.models import LedgerEntry
from ketacare.measures.queries import open_alert_summary
from ketacare.patients.consent import consent_problem, treatment_consent_problem
from ketacare.patients.models import BodyMeasurement, ConsentRecord
from ketacare.planning.actions import route_status
from ketacare.planning.models import PlannedSession
from ketacare.refusals import ActionRefused
from ketacare.treatments.models import (
    STATE_ORDER,
    AdverseEvent,
    DoseStep,
    Observation,
    SessionAlert,
    TreatmentSession,
)
from ketacare.treatments.note import session_note
from ketacare.writes import DATABASE, Writes

State = TreatmentSession.State
VITAL_FIELDS = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate", "moaas")


class SessionError(ActionRefused):
    """A refused step; the message names every unmet condition. Nothing was written.
    ``fixes`` names where the missing things are recorded (``Problem.fix``), for the page to
    link to."""

    def __init__(self, message: str, fixes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fixes = fixes


def _decimal(value: Any, model: Any, field: str) -> Decimal:
    """``value`` as the model's decimal column holds it, or OutOfBounds."""
    max_digits, decimal_places = digits_of(model._meta.get_field(field))
    return check_decimal(value, max_digits=max_digits, decimal_places=decimal_places)


class Problem(str):
    """One unmet condition, in words; ``fix`` names where it is put right ("consent",
    "weight", "rems_enrollment", "questionnaires", "safety_alert"), or None."""

    fix: str | None

    def __new__(cls, text: str, fix: str | None = None) -> "Problem":
        problem = super().__new__(cls, text)
        problem.fix = fix
        return problem


def _refuse(problems: list[str]) -> None:
    if problems:
        message = "; ".join(problems) + "."
        fixes = tuple(dict.fromkeys(p.fix for p in problems if getattr(p, "fix", None)))
        raise SessionError(message[:1].upper() + message[1:], fixes)  # type: ignore[arg-type]


def _session(actor: Actor, session_id: int) -> TreatmentSession:
    try:
        return (
            TreatmentSession.objects.select_for_update()
            .select_related("plan", "patient")
            .get(pk=session_id, clinic=actor.clinic)
        )
    except TreatmentSession.DoesNotExist:
        raise SessionError("Unknown session.") from None


def _advance(session: TreatmentSession, to: str) -> None:
    """Forward only: a session never goes back to an earlier state."""
    if STATE_ORDER.index(to) <= STATE_ORDER.index(session.state):
        raise SessionError(f"The session is already {session.get_state_display().lower()}.")
    session.state = to


def _require(session: TreatmentSession, *states: str) -> None:
    if session.state not in states:
        wanted = " or ".join(State(s).label.lower() for s in states)
        raise SessionError(
            f"This step needs a session that is {wanted}; it is "
            f"{session.get_state_display().lower()}."
        )


def protocol_of(session: TreatmentSession) -> Protocol:
    return get_protocol(session.plan.protocol_id)


def _save(actor: Actor, session: TreatmentSession) -> None:
    """Save the session as changed at the actor's time."""
    session.updated_at = actor.now()
    session.save()


def _audit(actor: Actor, session: TreatmentSession, what: str, **changes: Any) -> None:
    record(
        actor,
        Action.UPDATE,
        obj=session,
        patient=session.patient,
        changes={"step": what, "state": session.state, **changes},
    )


def _write(writes: Writes, actor: Actor, session: TreatmentSession, *fields: str) -> None:
    """Store the named fields of the session, changed at the actor's time."""
    session.updated_at = actor.now()
    writes.save(session, *fields, "updated_at")


def _write_audit(
    writes: Writes, actor: Actor, session: TreatmentSession, what: str, **changes: Any
) -> None:
    writes.record(
        actor,
        Action.UPDATE,
        obj=session,
        patient=session.patient_id,
        changes={"step": what, "state": session.state, **changes},
    )


# --- scheduling and check-in ------------------------------------------------------------------


@transaction.atomic
def open_session(actor: Actor, planned_id: int, chair: str) -> TreatmentSession:
    """Put a planned session of a signed plan on the day's board."""
    planned = (
        PlannedSession.objects.select_related("plan__patient", "plan__evaluation")
        .filter(pk=planned_id, plan__clinic=actor.clinic)
        .first()
    )
    if planned is None or not planned.plan.is_signed:
        raise SessionError("Sessions are scheduled only under a signed treatment plan.")
    if hasattr(planned, "treatment"):
        raise SessionError(f"Session {planned.number} of this plan is already on the board.")
    if not chair.strip():
        raise SessionError("Choose a chair or room.")
    session = TreatmentSession.objects.create(
        clinic=actor.clinic,
        patient=planned.plan.patient,
        plan=planned.plan,
        planned=planned,
        date=planned.date,
        chair=chair.strip(),
        updated_at=actor.now(),
    )
    record(
        actor,
        Action.CREATE,
        obj=session,
        patient=session.patient,
        changes={"plan": planned.plan_id, "number": planned.number, "chair": session.chair},
    )
    return session


@dataclass(frozen=True)
class Checklist:
    """What the nurse confirms at check-in; the rest is read from the record."""

    fasting_as_instructed: bool
    escort_arranged: bool
    pregnancy_test: str  # not_applicable, negative, positive
    questionnaires_done: bool


def route_check_in(protocol: Protocol) -> dict[str, Any]:
    """The check-in requirements of the protocol's route alone (esketamine: REMS enrolment and
    transport home), from ``session_thresholds.toml``."""
    by_route = load("session_thresholds").get("check_in_by_route", {})
    return dict(by_route.get(protocol.eligibility_route, {}))


def check_in_problems(session: TreatmentSession, checklist: Checklist, today: date) -> list[str]:
    """Every reason the patient cannot be checked in on ``today``, from the protocol and the
    record."""
    protocol = protocol_of(session)
    route_rules = route_check_in(protocol)
    patient = session.patient
    problems: list[str] = []
    if not checklist.fasting_as_instructed:
        problems.append(f"not fasted as instructed ({protocol.pre_dose_instructions[0]})")
    if protocol.monitoring.get("responsible_adult_at_discharge") and not checklist.escort_arranged:
        problems.append("no responsible adult arranged to take the patient home")
    elif route_rules.get("transport_home_required") and not checklist.escort_arranged:
        problems.append("no transport home arranged: the patient must not drive today")
    if route_rules.get("rems_enrollment_required"):
        missing = consent_problem(patient, ConsentRecord.Kind.REMS_ENROLLMENT)
        if missing is not None:
            problems.append(
                Problem(
                    f"the patient is not enrolled in the esketamine REMS ({missing.rstrip('.')}): "
                    "record the enrolment before the first dose",
                    "rems_enrollment",
                )
            )
    if checklist.pregnancy_test == "positive":
        problems.append("positive pregnancy test: the prescriber must review before treatment")
    if checklist.pregnancy_test not in ("not_applicable", "negative", "positive"):
        problems.append("record the pregnancy test (negative, positive or not applicable)")
    if not checklist.questionnaires_done:
        problems.append(Problem("today's questionnaires are not done", "questionnaires"))
    open_alerts = open_alert_summary(patient)
    if open_alerts:
        problems.append(
            Problem(
                f"an open safety alert waits for a prescriber to review it: {open_alerts}",
                "safety_alert",
            )
        )
    status = route_status(session.plan.evaluation, protocol.eligibility_route)
    if not status.usable:
        problems.append(f"a new contraindication since the plan: {status.refusal()}")
    # The same question planning asks before a plan is signed.
    missing = treatment_consent_problem(patient, protocol.drug)
    if missing is not None:
        problems.append(Problem(f"no current consent: {missing.rstrip('.')}", "consent"))
    if protocol.weight_based:
        latest = BodyMeasurement.objects.filter(patient=patient).first()
        limit = int(load("dose_policy")["weight_max_age_days"])
        if latest is None or (today - latest.measured_on).days > limit:
            problems.append(
                Problem(f"no weight from the last {limit} days: weigh the patient", "weight")
            )
    return problems


@transaction.atomic
def check_in(actor: Actor, session_id: int, checklist: Checklist) -> TreatmentSession:
    session = _session(actor, session_id)
    _require(session, State.SCHEDULED)
    if session.date != actor.today():
        raise SessionError(f"This session is planned for {session.date}, not today.")
    _refuse(check_in_problems(session, checklist, actor.today()))
    _advance(session, State.CHECKED_IN)
    write_check_in(DATABASE, actor, session, checklist)
    return session


def write_check_in(
    writes: Writes, actor: Actor, session: TreatmentSession, checklist: Checklist
) -> None:
    """What a check-in writes, once its checks have passed (``check_in``; the synthetic
    clinic's bulk path calls it with its own writer)."""
    session.state = State.CHECKED_IN
    session.checklist = {
        "fasting_as_instructed": checklist.fasting_as_instructed,
        "escort_arranged": checklist.escort_arranged,
        "pregnancy_test": checklist.pregnancy_test,
        "questionnaires_done": checklist.questionnaires_done,
    }
    session.checked_in_at, session.checked_in_by = actor.now(), actor.user
    _write(writes, actor, session, "state", "checklist", "checked_in_at", "checked_in_by")
    _write_audit(writes, actor, session, "check_in", checklist=session.checklist)


@transaction.atomic
def cancel_session(actor: Actor, session_id: int, reason: str) -> TreatmentSession:
    """Take a session that was not dosed off the day (no-show, illness, a new finding)."""
    session = _session(actor, session_id)
    _require(session, State.SCHEDULED, State.CHECKED_IN)
    if not reason.strip():
        raise SessionError("Write why the session is cancelled.")
    write_cancel(DATABASE, actor, session, reason)
    return session


def write_cancel(writes: Writes, actor: Actor, session: TreatmentSession, reason: str) -> None:
    """What cancelling a session writes, once its checks have passed."""
    session.state, session.cancel_reason = State.CANCELLED, reason.strip()
    _write(writes, actor, session, "state", "cancel_reason")
    _write_audit(writes, actor, session, "cancel", reason=session.cancel_reason)


# --- observations and the gate ----------------------------------------------------------------


def _vitals(values: dict[str, Any]) -> VitalSigns:
    clean = {}
    for name in VITAL_FIELDS:
        value = values.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
            raise SessionError(f"{name.replace('_', ' ')} must be a whole number, got {value!r}.")
        clean[name] = int(value)
    vitals = VitalSigns(**clean)
    problems = plausibility_problems(vitals)
    if problems:
        raise SessionError("Implausible values, not saved: " + "; ".join(problems) + ".")
    return vitals


@transaction.atomic
def record_observation(
    actor: Actor,
    session_id: int,
    values: dict[str, Any],
    taken_at: datetime | None = None,
) -> Observation:
    """Vital signs and scores. Before dosing they run the pre-dose gate; afterwards they raise
    an alert for every monitoring threshold they cross."""
    session = _session(actor, session_id)
    _require(session, State.CHECKED_IN, State.DOSING, State.MONITORING)
    vitals = _vitals(values)
    cadss = values.get("cadss")
    if cadss not in (None, "") and not (str(cadss).isdigit() and 0 <= int(cadss) <= 92):
        raise SessionError(f"CADSS must be a whole number from 0 to 92, got {cadss!r}.")
    now = actor.now()
    taken_at = taken_at or now
    if taken_at > now:
        raise SessionError("An observation cannot be recorded ahead of time.")
    pre_dose = session.state == State.CHECKED_IN
    protocol = protocol_of(session)
    gate: dict[str, Any] = {}
    if pre_dose:
        readings = _pre_dose_readings(session)
        if readings and taken_at < readings[-1].at:
            raise SessionError(
                "Pre-dose readings are recorded in the order taken: this one is earlier than "
                f"the last ({timezone.localtime(readings[-1].at):%H:%M})."
            )
        state, gate = pre_dose_verdict(protocol, readings, Reading(taken_at, vitals))
    observation = Observation.objects.create(
        session=session,
        phase=Observation.Phase.PRE_DOSE if pre_dose else Observation.Phase.MONITORING,
        taken_at=taken_at,
        cadss=int(cadss) if cadss not in (None, "") else None,
        gate=gate,
        recorded_by=actor.user,
        recorded_at=now,
        **{name: vitals.value(name) for name in VITAL_FIELDS},
    )
    if pre_dose:
        for name, value in gate_fields(state, now).items():
            setattr(session, name, value)
        _save(actor, session)
    else:
        for hit in alerts(protocol.eligibility_route, vitals):
            SessionAlert.objects.create(
                session=session,
                observation=observation,
                check_id=hit.check.id,
                message=hit.check.message,
                source=hit.check.source,
                values=hit.values,
                created_at=now,
            )
        _note_readiness(session, now)
    _audit(actor, session, "observation", **observation_audit(vitals, gate))
    return observation


def observation_audit(vitals: VitalSigns, gate: dict[str, Any]) -> dict[str, Any]:
    """What the audit event of an observation records."""
    return {
        "values": {name: vitals.value(name) for name in VITAL_FIELDS},
        "gate": [f["id"] for f in gate.get("fired", [])],
        "gate_counted": gate.get("counted"),
    }


def pre_dose_verdict(
    protocol: Protocol, readings: list[Reading], reading: Reading
) -> tuple[GateState, dict[str, Any]]:
    """The gate after ``reading`` joins the earlier ``readings``, and the reading's own verdict
    as the observation stores it (``clinical.session.gate_state`` decides)."""
    try:
        state = gate_state(protocol.eligibility_route, [*readings, reading])
    except ValueError as error:
        raise SessionError(f"Pre-dose vitals: {error}.") from None
    verdict = state.readings[-1]
    return state, {
        "fired": [f.as_dict() for f in verdict.fired + verdict.severe],
        "counted": verdict.counted,
        "note": verdict.note,
    }


def pre_dose_readings(observations: Any) -> list[Reading]:
    """The pre-dose readings among ``observations``, in the order taken."""
    return [
        Reading(o.taken_at, VitalSigns(**{name: getattr(o, name) for name in VITAL_FIELDS}))
        for o in sorted(observations, key=lambda o: (o.taken_at, o.pk))
        if o.phase == Observation.Phase.PRE_DOSE
    ]


def _pre_dose_readings(session: TreatmentSession) -> list[Reading]:
    return pre_dose_readings(session.observations.filter(phase=Observation.Phase.PRE_DOSE))


def gate_fields(state: GateState, now: datetime) -> dict[str, Any]:
    """The session's gate fields after a new pre-dose reading. A new reading is a new gate:
    an earlier override does not carry over."""
    return {
        "gate_fired": [f.as_dict() for f in state.holding],
        "gate_checked_at": now,
        "gate_stopped_at": state.stopped_at,
        "gate_severe": state.severe,
        "gate_cleared_at": state.cleared_at,
        "gate_override_by_id": None,
        "gate_override_reason": "",
        "gate_override_at": None,
    }


def _prescriber(actor: Actor, what: str) -> None:
    if not allowed(actor.role, "treatments.prescribe"):
        raise SessionError(f"Only a prescriber may {what}.")


# The prompts' names in the audit trail of a refused signature.
GATE_OVERRIDE_SIGNATURE = "gate override"
DISCHARGE_SIGNATURE = "discharge signature"
TRANSFER_SIGNATURE = "transfer signature"


def confirm_password(actor: Actor, password: str, code: str = "", *, prompt: str) -> None:
    """The actor signs with their own password (and authenticator code), checked as at
    sign-in (``accounts.reauth``). Called before the action's transaction opens, so that a
    refusal's audit event and lock-out count are kept."""
    try:
        reauthenticate_actor(actor, password, code, prompt=prompt)
    except SignatureRefused as refused:
        raise SessionError(str(refused)) from None


def override_gate(
    actor: Actor, session_id: int, reason: str, password: str, code: str = ""
) -> TreatmentSession:
    """A prescriber's documented benefit/risk decision to dose despite the gate."""
    _prescriber(actor, "override the pre-dose gate")
    confirm_password(actor, password, code, prompt=GATE_OVERRIDE_SIGNATURE)
    return _override_gate(actor, session_id, reason)


@transaction.atomic
def _override_gate(actor: Actor, session_id: int, reason: str) -> TreatmentSession:
    session = _session(actor, session_id)
    _require(session, State.CHECKED_IN)
    state = gate_state(protocol_of(session).eligibility_route, _pre_dose_readings(session))
    refusal = state.refusal_to_override
    if refusal is not None:
        raise SessionError(refusal)
    if not reason.strip():
        raise SessionError("Write the benefit/risk reason for dosing despite the gate.")
    session.gate_override_by, session.gate_override_reason = actor.user, reason.strip()
    session.gate_override_at = actor.now()
    _save(actor, session)
    _audit(
        actor,
        session,
        "gate_override",
        checks=[f["id"] for f in session.gate_fired],
        reason=session.gate_override_reason,
    )
    return session


# --- administration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Supply:
    """Where the dose comes from: dispensed from this lot in the same transaction."""

    registration_id: int
    lot_id: int
    location_id: int
    units: Any


def _planned_dose(session: TreatmentSession) -> Decimal:
    return Decimal(session.plan.dose_order["dose_mg"])


@transaction.atomic
def start_dose(
    actor: Actor,
    session_id: int,
    supply: Supply,
    dose_mg: Any = None,
    change_reason: str = "",
) -> TreatmentSession:
    """Begin the administration: the gate must be open; the dose is the signed plan's unless
    a prescriber changes it with a reason; the drug is dispensed from the ledger in this same
    transaction, so a refused dispense leaves no administration and the other way round."""
    session = _session(actor, session_id)
    _require(session, State.CHECKED_IN)
    if session.gate_checked_at is None:
        raise SessionError("Record the pre-dose vital signs first.")
    if not session.gate_open:
        fired = " ".join(f["message"] for f in session.gate_fired)
        raise SessionError(f"The pre-dose gate stops dosing. {fired}")
    planned = _planned_dose(session)
    try:
        dose = planned if dose_mg in (None, "") else _decimal(dose_mg, TreatmentSession, "dose_mg")
    except OutOfBounds:
        raise SessionError(f"The dose must be a number of mg, got {shown(dose_mg)}.") from None
    if not dose.is_finite() or dose <= 0:
        raise SessionError(f"The dose must be more than 0 mg, got {dose_mg}.")
    protocol = protocol_of(session)
    if dose != planned:
        _prescriber(actor, f"change the dose from the plan's {planned} mg")
        if not change_reason.strip():
            raise SessionError("Write why the dose differs from the plan.")
        session.dose_changed_by, session.dose_change_reason = actor.user, change_reason.strip()
    check_bedside_dose(session, protocol, dose)
    try:
        entry = inventory.dispense(
            actor,
            supply.registration_id,
            lot_id=supply.lot_id,
            location_id=supply.location_id,
            units=supply.units,
            patient_id=session.patient_id,
            dose_mg=dose,
            plan_id=session.plan_id,
        )
    except inventory.StockError as error:
        raise SessionError(f"Dispense refused: {error}") from None
    if entry.lot.product.drug != protocol.drug:
        raise SessionError(f"The lot is {entry.lot.product.name}, not {protocol.drug}.")
    now = actor.now()
    session.dose_mg, session.dispense, session.dose_started_at = dose, entry, now
    _advance(session, State.DOSING)
    first = {"iv": DoseStep.Kind.INFUSION_START, "im": DoseStep.Kind.INJECTION}.get(
        protocol.route, DoseStep.Kind.DEVICE
    )
    rate = session.plan.dose_order.get("rate_ml_per_h") if protocol.route == "iv" else None
    DoseStep.objects.create(
        session=session, kind=first, at=now, rate_ml_per_h=rate, recorded_by=actor.user
    )
    if protocol.route == "im" or (protocol.route == "intranasal" and _devices_needed(session) == 1):
        session.dose_ended_at = now
        _advance(session, State.MONITORING)
    _save(actor, session)
    _audit(actor, session, "dose_started", dose_mg=str(dose), dispense=entry.pk)
    return session


def check_bedside_dose(session: TreatmentSession, protocol: Protocol, dose: Decimal) -> None:
    """The dose about to be given obeys the protocol's hard limits on the plan's dosing weight:
    the dose calculator's own rule (``check_dose``), so the bedside goes no further than a
    plan may."""
    weight = session.plan.dose_order.get("weight_used_kg")
    try:
        check_dose(protocol, dose, Decimal(weight) if weight is not None else None)
    except DoseRefused as refusal:
        raise SessionError(f"Dose refused: {refusal}") from None


def _devices_needed(session: TreatmentSession) -> int:
    per_device = Decimal(str(protocol_of(session).raw["mg_per_device"]))
    return int((session.dose_mg or 0) / per_device)


@transaction.atomic
def give_device(actor: Actor, session_id: int) -> DoseStep:
    """The next nasal device, no sooner than the protocol's interval after the previous one."""
    session = _session(actor, session_id)
    _require(session, State.DOSING)
    protocol = protocol_of(session)
    if protocol.route != "intranasal":
        raise SessionError("Devices are for intranasal esketamine.")
    given = list(session.steps.filter(kind=DoseStep.Kind.DEVICE).order_by("at"))
    needed = _devices_needed(session)
    interval = timedelta(minutes=int(protocol.raw["minutes_between_devices"]))
    now = actor.now()
    wait = given[-1].at + interval - now
    if wait > timedelta(0):
        seconds = math.ceil(wait.total_seconds())
        raise SessionError(
            f"Wait {seconds // 60} min {seconds % 60} s: devices are "
            f"{int(interval.total_seconds() // 60)} minutes apart (Spravato label)."
        )
    step = DoseStep.objects.create(
        session=session, kind=DoseStep.Kind.DEVICE, at=now, recorded_by=actor.user
    )
    if len(given) + 1 >= needed:
        session.dose_ended_at = now
        _advance(session, State.MONITORING)
        _save(actor, session)
    _audit(actor, session, "device", number=len(given) + 1, of=needed)
    return step


@transaction.atomic
def infusion_step(
    actor: Actor, session_id: int, kind: str, rate_ml_per_h: Any = None, note: str = ""
) -> DoseStep:
    """A pause, a restart, a rate change or the end of an IV infusion."""
    session = _session(actor, session_id)
    _require(session, State.DOSING)
    if protocol_of(session).route != "iv":
        raise SessionError("Pump steps are for IV infusions.")
    allowed_kinds = {
        DoseStep.Kind.PAUSE,
        DoseStep.Kind.RESUME,
        DoseStep.Kind.RATE_CHANGE,
        DoseStep.Kind.INFUSION_END,
    }
    if kind not in allowed_kinds:
        raise SessionError(f"Unknown pump step {kind!r}.")
    # Paused is the last pause-or-resume, whatever rate changes came after it.
    last = (
        session.steps.filter(kind__in=(DoseStep.Kind.PAUSE, DoseStep.Kind.RESUME))
        .order_by("-at", "-id")
        .first()
    )
    paused = last is not None and last.kind == DoseStep.Kind.PAUSE
    if kind == DoseStep.Kind.PAUSE and paused:
        raise SessionError("The infusion is already paused.")
    if kind == DoseStep.Kind.RESUME and not paused:
        raise SessionError("The infusion is not paused.")
    rate = None
    if kind == DoseStep.Kind.RATE_CHANGE:
        try:
            rate = _decimal(rate_ml_per_h, DoseStep, "rate_ml_per_h")
        except OutOfBounds:
            rate = None
        if rate is None or rate <= 0:
            raise SessionError("Give the new pump rate in mL/h.")
    now = actor.now()
    step = DoseStep.objects.create(
        session=session, kind=kind, at=now, rate_ml_per_h=rate, note=note, recorded_by=actor.user
    )
    if kind == DoseStep.Kind.INFUSION_END:
        session.dose_ended_at = now
        _advance(session, State.MONITORING)
        _save(actor, session)
    _audit(actor, session, kind, rate=str(rate) if rate else None, note=note)
    return step


# --- during monitoring ------------------------------------------------------------------------


@transaction.atomic
def record_adverse_event(
    actor: Actor,
    session_id: int,
    kind: str,
    severity: str,
    description: str = "",
    intervention: str = "",
    occurred_at: datetime | None = None,
    serious_criteria: tuple[str, ...] = (),
) -> AdverseEvent:
    """An adverse event. Seriousness (``serious_criteria``: death, hospitalisation, ...) is
    recorded apart from its intensity (``severity``)."""
    session = _session(actor, session_id)
    _require(session, State.CHECKED_IN, State.DOSING, State.MONITORING)
    known = serious_criteria_labels()
    unknown = [c for c in serious_criteria if c not in known]
    if unknown:
        raise SessionError(f"Unknown seriousness criterion {unknown[0]!r}.")
    if kind not in AdverseEvent.Kind.values:
        raise SessionError(f"Unknown adverse event {kind!r}.")
    if severity not in AdverseEvent.Severity.values:
        raise SessionError(f"Unknown severity {severity!r}.")
    if kind == AdverseEvent.Kind.OTHER and not description.strip():
        raise SessionError("Describe the adverse event.")
    event = AdverseEvent.objects.create(
        session=session,
        kind=kind,
        severity=severity,
        occurred_at=occurred_at or actor.now(),
        description=description.strip(),
        intervention=intervention.strip(),
        serious_criteria=[c for c in known if c in serious_criteria],
        recorded_by=actor.user,
        recorded_at=actor.now(),
    )
    _audit(actor, session, "adverse_event", **adverse_event_audit(event))
    return event


def adverse_event_audit(event: AdverseEvent) -> dict[str, Any]:
    """What the audit event of an adverse event records."""
    return {"kind": event.kind, "severity": event.severity, "serious": event.serious_criteria}


def serious_criteria_labels() -> dict[str, str]:
    """The regulatory seriousness criteria (ICH E2A), by id, in the data file's order."""
    return dict(load("adverse_events")["serious_criteria"])


@transaction.atomic
def acknowledge_alert(actor: Actor, alert_id: int, note: str) -> SessionAlert:
    _prescriber(actor, "acknowledge a session alert")
    alert = (
        SessionAlert.objects.select_for_update()
        .select_related("session__patient")
        .filter(pk=alert_id, session__clinic=actor.clinic)
        .first()
    )
    if alert is None:
        raise SessionError("Unknown alert.")
    if alert.acknowledged_at is not None:
        raise SessionError("This alert is already acknowledged.")
    if not note.strip():
        raise SessionError("Write what was done about the alert.")
    alert.acknowledged_by, alert.acknowledged_at = actor.user, actor.now()
    alert.acknowledgement_note = note.strip()
    alert.save()
    if alert.session.state == State.MONITORING:
        session = _session(actor, alert.session_id)
        _note_readiness(session, alert.acknowledged_at)
    record(
        actor,
        Action.UPDATE,
        obj=alert,
        patient=alert.session.patient,
        changes={"acknowledged": alert.check_id, "note": alert.acknowledgement_note},
    )
    return alert


# --- discharge --------------------------------------------------------------------------------


def _wasted_mg(entry: LedgerEntry) -> Decimal:
    return sum(
        (w.quantity_mg for w in entry.wastes.all() if not hasattr(w, "reversed_by")),
        Decimal(0),
    )


def discharge_blockers(
    session: TreatmentSession,
    dissociation_resolved: bool,
    responsible_adult_present: bool,
    now: datetime,
) -> list[str]:
    """Every criterion not yet met at ``now``, from the protocol, the observations and the
    ledger."""
    problems = _patient_blockers(session, dissociation_resolved, responsible_adult_present, now)
    left = left_to_waste(session)
    if left > 0 and session.state == State.MONITORING:
        problems.append(f"{left} mg left from the dispense is not yet wasted with a witness")
    return problems


def left_to_waste(session: TreatmentSession) -> Decimal:
    """The mg of the dispense neither given nor wasted with a witness yet."""
    entry = session.dispense
    if entry is None:
        return Decimal(0)
    return max(Decimal(0), entry.quantity_mg - (session.dose_mg or 0) - _wasted_mg(entry))


def _patient_blockers(
    session: TreatmentSession,
    dissociation_resolved: bool,
    responsible_adult_present: bool,
    now: datetime,
) -> list[str]:
    """The discharge criteria about the patient (not the drug left to waste)."""
    if session.state != State.MONITORING or session.dose_started_at is None:
        return [f"the session is {session.get_state_display().lower()}, not in monitoring"]
    protocol = protocol_of(session)
    started = session.dose_started_at
    minutes = (now - started).total_seconds() / 60
    # .all() and Python, not filtered queries, so a page that prefetched them asks nothing.
    monitoring = sorted(
        (o for o in session.observations.all() if o.phase == Observation.Phase.MONITORING),
        key=lambda o: (o.taken_at, o.pk),
    )
    last = monitoring[-1] if monitoring else None
    vitals = VitalSigns(**{name: getattr(last, name) for name in VITAL_FIELDS}) if last else None
    problems = discharge_problems(
        minutes_since_dose=minutes,
        minimum_minutes=observation_minutes(protocol, session.plan.infusion_minutes or 0),
        vitals=vitals,
        dissociation_resolved=dissociation_resolved,
        responsible_adult_needed=bool(protocol.monitoring.get("responsible_adult_at_discharge")),
        responsible_adult_present=responsible_adult_present,
        route=protocol.eligibility_route,
        blood_pressures=[
            BloodPressureAt((o.taken_at - started).total_seconds() / 60, o.systolic, o.diastolic)
            for o in monitoring
            if o.systolic is not None and o.diastolic is not None
        ],
    )
    # The observation after an infusion counts from its real end: a paused or slowed infusion
    # ends later than planned.
    after_end = protocol.monitoring.get("min_observation_minutes_after_dose")
    if after_end is not None and session.dose_ended_at is not None:
        since_end = (now - session.dose_ended_at).total_seconds() / 60
        if since_end < int(after_end):
            problems.append(
                f"observed {int(since_end)} of at least {after_end} minutes since the infusion "
                "ended"
            )
    open_alerts = sum(1 for alert in session.alerts.all() if alert.acknowledged_at is None)
    if open_alerts:
        problems.append(f"{open_alerts} alert(s) wait for a prescriber's acknowledgement")
    for recheck in rechecks(session):
        problems.append(
            f"{recheck.what} not rechecked since the alert at "
            f"{timezone.localtime(recheck.alert_at):%H:%M} (due "
            f"{timezone.localtime(recheck.due_at):%H:%M})"
        )
    return problems


def rechecks(session: TreatmentSession) -> list[Recheck]:
    """The rechecks the session's alerts call for and that were not yet taken. From
    ``.all()``, so a page that prefetched observations and alerts asks nothing more."""
    monitoring = [o for o in session.observations.all() if o.phase == Observation.Phase.MONITORING]
    taken_at = {o.pk: o.taken_at for o in monitoring}
    raised = [
        RaisedAlert(alert.check_id, taken_at.get(alert.observation_id, alert.created_at))
        for alert in session.alerts.all()
    ]
    return rechecks_due(
        raised,
        [
            (o.taken_at, VitalSigns(**{name: getattr(o, name) for name in VITAL_FIELDS}))
            for o in monitoring
        ],
    )


def ready_at_discharge(session: TreatmentSession) -> datetime:
    """At the latest, a patient discharged now was ready now."""
    assert session.discharged_at is not None
    if session.ready_at is None or session.ready_at > session.discharged_at:
        return session.discharged_at
    return session.ready_at


def _earliest_by_time(session: TreatmentSession) -> datetime:
    """When the protocol's minimum observation times are over (from the dose and from the end
    of an infusion)."""
    protocol = protocol_of(session)
    assert session.dose_started_at is not None
    minimum = observation_minutes(protocol, session.plan.infusion_minutes or 0)
    earliest = session.dose_started_at + timedelta(minutes=minimum)
    after_end = protocol.monitoring.get("min_observation_minutes_after_dose")
    if after_end is not None and session.dose_ended_at is not None:
        earliest = max(earliest, session.dose_ended_at + timedelta(minutes=int(after_end)))
    return earliest


def ready_at_after(session: TreatmentSession, now: datetime) -> datetime | None:
    """``ready_at`` after what was recorded at ``now``: the first moment from which the patient
    met every discharge criterion about them, kept as it happens. What was recorded now holds
    from ``now`` on, or from when the minimum observation time is over if that is later; a
    criterion failing again clears it. What the nurse attests at discharge (dissociation,
    escort) is not known before it, and is not counted."""
    if session.state != State.MONITORING or session.dose_started_at is None:
        return session.ready_at
    moment = max(now, _earliest_by_time(session))
    if _patient_blockers(session, True, True, moment):
        return None
    return session.ready_at or moment


def _note_readiness(session: TreatmentSession, now: datetime) -> None:
    ready_at = ready_at_after(session, now)
    if ready_at != session.ready_at:
        session.ready_at, session.updated_at = ready_at, now
        session.save(update_fields=["ready_at", "updated_at"])


def discharge(
    actor: Actor,
    session_id: int,
    *,
    dissociation_resolved: bool,
    responsible_adult_present: bool,
    password: str,
    code: str = "",
) -> TreatmentSession:
    """The nurse signs the discharge; the session note is generated and locked."""
    confirm_password(actor, password, code, prompt=DISCHARGE_SIGNATURE)
    return _discharge(
        actor,
        session_id,
        dissociation_resolved=dissociation_resolved,
        responsible_adult_present=responsible_adult_present,
    )


@transaction.atomic
def _discharge(
    actor: Actor, session_id: int, *, dissociation_resolved: bool, responsible_adult_present: bool
) -> TreatmentSession:
    session = _session(actor, session_id)
    now = actor.now()
    _refuse(discharge_blockers(session, dissociation_resolved, responsible_adult_present, now))
    session.dissociation_resolved = dissociation_resolved
    session.responsible_adult_present = responsible_adult_present
    session.discharged_at, session.discharged_by = now, actor.user
    session.ready_at = ready_at_discharge(session)
    _advance(session, State.DISCHARGED)
    session.note = session_note(session)
    _save(actor, session)
    _audit(actor, session, "discharge", note=session.note)
    return session


def transfer_deciders(clinic: Any) -> Any:
    """Who may be named as having decided a transfer: the clinic's active staff (the form's
    choices and the action's check alike)."""
    return User.objects.filter(memberships__clinic=clinic, memberships__active=True).order_by(
        "last_name", "first_name", "username"
    )


def transfer(
    actor: Actor,
    session_id: int,
    *,
    destination: str,
    reason: str,
    decided_by_id: int | None,
    password: str,
    code: str = "",
) -> TreatmentSession:
    """A dosed patient leaves for emergency care instead of home: when, where, why and who
    decided. It ends the session like a discharge (note locked, REMS form due) and is never
    blocked by discharge criteria — an emergency does not wait for them."""
    confirm_password(actor, password, code, prompt=TRANSFER_SIGNATURE)
    return _transfer(
        actor, session_id, destination=destination, reason=reason, decided_by_id=decided_by_id
    )


@transaction.atomic
def _transfer(
    actor: Actor, session_id: int, *, destination: str, reason: str, decided_by_id: int | None
) -> TreatmentSession:
    session = _session(actor, session_id)
    _require(session, State.DOSING, State.MONITORING)
    problems = []
    if not destination.strip():
        problems.append("name where the patient is going (e.g. the emergency department)")
    if not reason.strip():
        problems.append("write why the patient is transferred")
    decider = None
    if decided_by_id is None:
        problems.append("name who decided the transfer")
    else:
        decider = transfer_deciders(actor.clinic).filter(pk=decided_by_id).first()
        if decider is None:
            problems.append("who decided must be a staff member of this clinic")
    _refuse(problems)
    now = actor.now()
    if session.dose_ended_at is None:
        session.dose_ended_at = now  # the infusion or the devices stop with the transfer
    session.transferred_at, session.transferred_by = now, actor.user
    session.transfer_decided_by = decider
    session.transfer_destination = destination.strip()[:200]
    session.transfer_reason = reason.strip()
    _advance(session, State.TRANSFERRED)
    session.note = session_note(session)
    _save(actor, session)
    _audit(
        actor,
        session,
        "transfer",
        destination=session.transfer_destination,
        reason=session.transfer_reason,
        decided_by=decided_by_id,
        note=session.note,
    )
    return session
