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
    if session.gate_fired and session.gate_checked_at:
        checks = ", ".join(f["id"] for f in session.gate_fired)
        events.append(
            (
                session.gate_checked_at,
                f"pre-dose gate stopped dosing ({checks}); dosed on the decision of "
                f"{_who(session.gate_override_by)}: {session.gate_override_reason}",
            )
        )
    for step in session.steps.all():
        rate = f" {step.rate_ml_per_h} mL/h" if step.rate_ml_per_h else ""
        events.append((step.at, f"{step.get_kind_display()}{rate} ({_who(step.recorded_by)})"))
    for obs in session.observations.all():
        values = ", ".join(
            f"{name.replace('_', ' ')} {getattr(obs, name)}"
            for name in SCORES
            if getattr(obs, name) is not None
        )
        events.append((obs.taken_at, f"{obs.get_phase_display()}: {values}"))
    for event in session.adverse_events.all():
        events.append(
            (
                event.occurred_at,
                f"adverse event: {event.get_kind_display()} ({event.severity}); "
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
    if session.discharged_at:
        events.append((session.discharged_at, f"discharged by {_who(session.discharged_by)}"))
    events.sort(key=lambda item: item[0])
    return "\n".join(header + [f"{_clock(at)} {text}" for at, text in events])
