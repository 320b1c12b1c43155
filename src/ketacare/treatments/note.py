"""The session's story in time order: every step, reading, safety event and ledger movement,
with who did what. The session page shows it as it happens; at discharge (or transfer) it
becomes the locked session note (later changes are addenda)."""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.clinical.protocols.library import get_protocol
from ketacare.treatments.models import DoseStep, TreatmentSession

# How the note names each score, in the order it lists them.
SCORES = {
    "systolic": "systolic",
    "diastolic": "diastolic",
    "heart_rate": "heart rate",
    "spo2": "SpO2",
    "respiratory_rate": "respiratory rate",
    "moaas": "MOAA/S",
    "cadss": "CADSS",
}


def _clock(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M}"


def _who(user: User | None) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "—"


def _amount(units: Decimal, unit: str, mg: Decimal) -> str:
    return f"{units.normalize():f} {unit} ({mg.normalize():f} mg)"


def dose_line(session: TreatmentSession) -> str:
    """The dose as given: what the plan said, what was changed and why, the lot — and for
    devices given one by one, how many were given of how many."""
    if session.dose_mg is None:
        return "No dose"
    protocol = get_protocol(session.plan.protocol_id)
    line = f"Dose {session.dose_mg:.1f} mg"
    if protocol.route == "intranasal":
        per_device = Decimal(str(protocol.raw["mg_per_device"]))
        needed = int(session.dose_mg / per_device)
        given = sum(1 for step in session.steps.all() if step.kind == DoseStep.Kind.DEVICE)
        if given < needed:
            line = (
                f"Dose {given * per_device:.1f} mg given of {session.dose_mg:.1f} mg "
                f"({given} of {needed} devices)"
            )
    if session.dose_change_reason:
        line += (
            f" (changed from the plan by {_who(session.dose_changed_by)}: "
            f"{session.dose_change_reason})"
        )
    if session.dispense is not None:
        line += f", lot {session.dispense.lot.lot_number}"
    return line


def timeline(session: TreatmentSession) -> list[tuple[datetime, str]]:
    """Everything recorded in the session, in time order."""
    events: list[tuple[datetime, str]] = []
    if session.checked_in_at:
        events.append((session.checked_in_at, f"checked in by {_who(session.checked_in_by)}"))
    events += _gate_events(session)
    events += _ledger_events(session)
    for step in session.steps.all():
        rate = f" {step.rate_ml_per_h} mL/h" if step.rate_ml_per_h else ""
        events.append((step.at, f"{step.get_kind_display()}{rate} ({_who(step.recorded_by)})"))
    for obs in session.observations.all():
        values = ", ".join(
            f"{label} {getattr(obs, name)}"
            for name, label in SCORES.items()
            if getattr(obs, name) is not None
        )
        gate = f" — gate: {obs.gate['note']}" if obs.gate.get("note") else ""
        events.append((obs.taken_at, f"{obs.get_phase_display()}: {values}{gate}"))
    for event in session.adverse_events.all():
        serious = f", SERIOUS: {', '.join(event.serious_criteria)}" if event.serious else ""
        events.append(
            (
                event.occurred_at,
                f"adverse event: {event.get_kind_display()} ({event.severity}{serious}); "
                f"{event.intervention or 'no intervention'}",
            )
        )
    for alert in session.alerts.all():
        events.append((alert.created_at, f"alert: {alert.message}"))
        if alert.acknowledged_at:
            events.append(
                (
                    alert.acknowledged_at,
                    f"alert ({alert.message}) acknowledged by {_who(alert.acknowledged_by)}: "
                    f"{alert.acknowledgement_note}",
                )
            )
    if session.ready_at:
        events.append((session.ready_at, "every discharge criterion about the patient met"))
    if session.discharged_at:
        events.append((session.discharged_at, f"discharged by {_who(session.discharged_by)}"))
    if session.transferred_at:
        events.append(
            (
                session.transferred_at,
                f"transferred to {session.transfer_destination} on the decision of "
                f"{_who(session.transfer_decided_by)} (recorded by "
                f"{_who(session.transferred_by)}): {session.transfer_reason}",
            )
        )
    events.sort(key=lambda item: item[0])
    return events


def session_note(session: TreatmentSession) -> str:
    protocol = get_protocol(session.plan.protocol_id)
    header = [
        f"{protocol.name} (v{session.plan.protocol_version}), session "
        f"{session.planned.number} on {session.date:%Y-%m-%d}, chair {session.chair}.",
        dose_line(session) + ".",
    ]
    return "\n".join(header + [f"{_clock(at)} {text}" for at, text in timeline(session)])


def _gate_events(session: TreatmentSession) -> list[tuple[datetime, str]]:
    """How the pre-dose gate went: when it stopped dosing and on what, and how it opened."""
    if session.gate_stopped_at is None:
        return []
    events = []
    stopping = [o for o in session.observations.all() if o.gate.get("fired")]
    reasons = dict.fromkeys(f["message"] for o in stopping for f in o.gate["fired"])
    events.append((session.gate_stopped_at, f"pre-dose gate stopped dosing: {' '.join(reasons)}"))
    if session.gate_cleared_at is not None and not session.gate_fired:
        events.append(
            (session.gate_cleared_at, "pre-dose gate reopened by a repeat reading after rest")
        )
    if session.gate_override_by_id is not None and session.gate_override_at:
        events.append(
            (
                session.gate_override_at,
                f"dosed despite the gate on the decision of {_who(session.gate_override_by)}: "
                f"{session.gate_override_reason}",
            )
        )
    return events


def _ledger_events(session: TreatmentSession) -> list[tuple[datetime, str]]:
    """The controlled-substance movements of the session: the dispense and every waste of
    what was left, with its witness, and any reversal."""
    entry = session.dispense
    if entry is None:
        return []
    unit = entry.lot.product.unit
    events = [
        (
            entry.occurred_at,
            f"dispensed {_amount(entry.quantity_units, unit, entry.quantity_mg)} from lot "
            f"{entry.lot.lot_number} by {_who(entry.actor)}",
        )
    ]
    for waste in entry.wastes.all():
        reversed_by = getattr(waste, "reversed_by", None)
        events.append(
            (
                waste.occurred_at,
                f"wasted {_amount(waste.quantity_units, unit, waste.quantity_mg)} by "
                f"{_who(waste.actor)}, witnessed by {_who(waste.witness)}: {waste.reason}"
                + (" (later reversed)" if reversed_by is not None else ""),
            )
        )
    return events
