"""The session note: a readable summary of the whole session in time order, with who did
what, generated and fixed at discharge (later changes are addenda)."""

from datetime import datetime

from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.clinical.protocols.library import get_protocol
from ketacare.treatments.models import TreatmentSession

SCORES = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate", "moaas", "cadss")


def _clock(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M}"


def _who(user: User | None) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "—"


def session_note(session: TreatmentSession) -> str:
    protocol = get_protocol(session.plan.protocol_id)
    dose = f"Dose {session.dose_mg:.1f} mg" if session.dose_mg is not None else "No dose"
    if session.dose_change_reason:
        dose += (
            f" (changed from the plan by {_who(session.dose_changed_by)}: "
            f"{session.dose_change_reason})"
        )
    if session.dispense is not None:
        dose += f", lot {session.dispense.lot.lot_number}"
    header = [
        f"{protocol.name} (v{session.plan.protocol_version}), session "
        f"{session.planned.number} on {session.date:%Y-%m-%d}, chair {session.chair}.",
        dose + ".",
    ]
    events: list[tuple[datetime, str]] = []
    if session.checked_in_at:
        events.append((session.checked_in_at, f"checked in by {_who(session.checked_in_by)}"))
    events += _gate_events(session)
    for step in session.steps.all():
        rate = f" {step.rate_ml_per_h} mL/h" if step.rate_ml_per_h else ""
        events.append((step.at, f"{step.get_kind_display()}{rate} ({_who(step.recorded_by)})"))
    for obs in session.observations.all():
        values = ", ".join(
            f"{name.replace('_', ' ')} {getattr(obs, name)}"
            for name in SCORES
            if getattr(obs, name) is not None
        )
        gate = f" — gate: {obs.gate['note']}" if obs.gate.get("note") else ""
        events.append((obs.taken_at, f"{obs.get_phase_display()}: {values}{gate}"))
    for event in session.adverse_events.all():
        events.append(
            (
                event.occurred_at,
                f"adverse event: {event.get_kind_display()} ({event.severity}"
                f"{', SERIOUS: ' + ', '.join(event.serious_criteria) if event.serious else ''}); "
                f"{event.intervention or 'no intervention'}",
            )
        )
    for alert in session.alerts.all():
        events.append((alert.created_at, f"alert {alert.check_id}: {alert.message}"))
        if alert.acknowledged_at:
            events.append(
                (
                    alert.acknowledged_at,
                    f"alert {alert.check_id} acknowledged by {_who(alert.acknowledged_by)}: "
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
    return "\n".join(header + [f"{_clock(at)} {text}" for at, text in events])


def _gate_events(session: TreatmentSession) -> list[tuple[datetime, str]]:
    """How the pre-dose gate went: when it stopped dosing and on what, and how it opened."""
    if session.gate_stopped_at is None:
        return []
    events = []
    stopping = [o for o in session.observations.all() if o.gate.get("fired")]
    checks = sorted({f["id"] for o in stopping for f in o.gate["fired"]})
    events.append((session.gate_stopped_at, f"pre-dose gate stopped dosing ({', '.join(checks)})"))
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
