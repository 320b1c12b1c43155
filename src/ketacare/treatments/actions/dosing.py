"""The administration: the dose started (its dispense on the ledger in the same transaction),
the nasal devices one by one, and the pump's steps of an IV infusion."""

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.bounds import OutOfBounds, shown
from ketacare.clinical.protocols.dose import DoseRefused, check_dose
from ketacare.clinical.protocols.library import Protocol
from ketacare.inventory import actions as inventory
from ketacare.inventory.models import LedgerEntry
from ketacare.treatments.actions.common import (
    SessionError,
    State,
    advance,
    column_decimal,
    keep_related,
    load_session,
    protocol_of,
    require,
    require_prescriber,
    write_session,
    write_session_audit,
)
from ketacare.treatments.models import DoseStep, TreatmentSession
from ketacare.writes import DATABASE, Writes


@dataclass(frozen=True)
class Supply:
    """Where the dose comes from: dispensed from this lot in the same transaction."""

    registration_id: int
    lot_id: int
    location_id: int
    units: Any


def planned_dose(session: TreatmentSession) -> Decimal:
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
    session = load_session(actor, session_id)
    require(session, State.CHECKED_IN)
    if session.gate_checked_at is None:
        raise SessionError("Record the pre-dose vital signs first.")
    if not session.gate_open:
        fired = " ".join(f["message"] for f in session.gate_fired)
        raise SessionError(f"The pre-dose gate stops dosing. {fired}")
    planned = planned_dose(session)
    try:
        dose = (
            planned
            if dose_mg in (None, "")
            else column_decimal(dose_mg, TreatmentSession, "dose_mg")
        )
    except OutOfBounds:
        raise SessionError(f"The dose must be a number of mg, got {shown(dose_mg)}.") from None
    if not dose.is_finite() or dose <= 0:
        raise SessionError(f"The dose must be more than 0 mg, got {dose_mg}.")
    protocol = protocol_of(session)
    if dose != planned:
        require_prescriber(actor, f"change the dose from the plan's {planned} mg")
        if not change_reason.strip():
            raise SessionError("Write why the dose differs from the plan.")
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
    write_start_dose(DATABASE, actor, session, dose, entry, change_reason)
    return session


def write_start_dose(
    writes: Writes,
    actor: Actor,
    session: TreatmentSession,
    dose: Decimal,
    dispense: LedgerEntry,
    change_reason: str = "",
) -> None:
    """What starting the dose writes on the session's side, once its checks have passed and
    ``dispense`` is on the ledger: the dose, its first step, and the state it leaves."""
    now = actor.now()
    fields = ["dose_mg", "dispense", "dose_started_at", "state"]
    if dose != planned_dose(session):
        session.dose_changed_by, session.dose_change_reason = actor.user, change_reason.strip()
        fields += ["dose_changed_by", "dose_change_reason"]
    session.dose_mg, session.dispense, session.dose_started_at = dose, dispense, now
    advance(session, State.DOSING)
    protocol = protocol_of(session)
    first = {"iv": DoseStep.Kind.INFUSION_START, "im": DoseStep.Kind.INJECTION}.get(
        protocol.route, DoseStep.Kind.DEVICE
    )
    rate = session.plan.dose_order.get("rate_ml_per_h") if protocol.route == "iv" else None
    _write_step(writes, actor, session, first, rate)
    if protocol.route == "im" or (protocol.route == "intranasal" and devices_needed(session) == 1):
        session.dose_ended_at = now
        advance(session, State.MONITORING)
        fields.append("dose_ended_at")
    write_session(writes, actor, session, *fields)
    write_session_audit(
        writes, actor, session, "dose_started", dose_mg=str(dose), dispense=dispense.pk
    )


def check_bedside_dose(session: TreatmentSession, protocol: Protocol, dose: Decimal) -> None:
    """The dose about to be given obeys the protocol's hard limits on the plan's dosing weight:
    the dose calculator's own rule (``check_dose``), so the bedside goes no further than a
    plan may."""
    weight = session.plan.dose_order.get("weight_used_kg")
    try:
        check_dose(protocol, dose, Decimal(weight) if weight is not None else None)
    except DoseRefused as refusal:
        raise SessionError(f"Dose refused: {refusal}") from None


def devices_needed(session: TreatmentSession) -> int:
    per_device = Decimal(str(protocol_of(session).raw["mg_per_device"]))
    return int((session.dose_mg or 0) / per_device)


def _write_step(
    writes: Writes,
    actor: Actor,
    session: TreatmentSession,
    kind: str,
    rate: Any = None,
    note: str = "",
) -> DoseStep:
    step = writes.add(
        DoseStep(
            session=session,
            kind=kind,
            at=actor.now(),
            rate_ml_per_h=rate,
            note=note,
            recorded_by=actor.user,
        )
    )
    keep_related(session, "steps", step)
    return step


@transaction.atomic
def give_device(actor: Actor, session_id: int) -> DoseStep:
    """The next nasal device, no sooner than the protocol's interval after the previous one."""
    session = load_session(actor, session_id)
    require(session, State.DOSING)
    protocol = protocol_of(session)
    if protocol.route != "intranasal":
        raise SessionError("Devices are for intranasal esketamine.")
    given = list(session.steps.filter(kind=DoseStep.Kind.DEVICE).order_by("at"))
    interval = timedelta(minutes=int(protocol.raw["minutes_between_devices"]))
    wait = given[-1].at + interval - actor.now()
    if wait > timedelta(0):
        seconds = math.ceil(wait.total_seconds())
        raise SessionError(
            f"Wait {seconds // 60} min {seconds % 60} s: devices are "
            f"{int(interval.total_seconds() // 60)} minutes apart (Spravato label)."
        )
    return write_device(DATABASE, actor, session, len(given))


def write_device(writes: Writes, actor: Actor, session: TreatmentSession, given: int) -> DoseStep:
    """What the next nasal device writes, after ``given`` devices; the last one ends the
    dose."""
    needed = devices_needed(session)
    step = _write_step(writes, actor, session, DoseStep.Kind.DEVICE)
    if given + 1 >= needed:
        session.dose_ended_at = step.at
        advance(session, State.MONITORING)
        write_session(writes, actor, session, "dose_ended_at", "state")
    write_session_audit(writes, actor, session, "device", number=given + 1, of=needed)
    return step


@transaction.atomic
def infusion_step(
    actor: Actor, session_id: int, kind: str, rate_ml_per_h: Any = None, note: str = ""
) -> DoseStep:
    """A pause, a restart, a rate change or the end of an IV infusion."""
    session = load_session(actor, session_id)
    require(session, State.DOSING)
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
            rate = column_decimal(rate_ml_per_h, DoseStep, "rate_ml_per_h")
        except OutOfBounds:
            rate = None
        if rate is None or rate <= 0:
            raise SessionError("Give the new pump rate in mL/h.")
    return write_infusion_step(DATABASE, actor, session, kind, rate, note)


def write_infusion_step(
    writes: Writes,
    actor: Actor,
    session: TreatmentSession,
    kind: str,
    rate: Decimal | None = None,
    note: str = "",
) -> DoseStep:
    """What a pump step writes, once its checks have passed; its end ends the dose."""
    step = _write_step(writes, actor, session, kind, rate, note)
    if kind == DoseStep.Kind.INFUSION_END:
        session.dose_ended_at = step.at
        advance(session, State.MONITORING)
        write_session(writes, actor, session, "dose_ended_at", "state")
    write_session_audit(writes, actor, session, kind, rate=str(rate) if rate else None, note=note)
    return step
