"""The session note: a readable summary of the whole session, generated and fixed at
discharge (later changes are addenda)."""

from datetime import datetime

from django.utils import timezone

from ketacare.clinical.protocols.library import get_protocol
from ketacare.treatments.models import TreatmentSession

SCORES = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate", "moaas", "cadss")


def _clock(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M}"


def session_note(session: TreatmentSession) -> str:
    protocol = get_protocol(session.plan.protocol_id)
    dose = f"Dose {session.dose_mg} mg"
    if session.dose_change_reason:
        dose += f" (changed from the plan: {session.dose_change_reason})"
    if session.dispense is not None:
        dose += f", lot {session.dispense.lot.lot_number}"
    lines = [
        f"{protocol.name} (v{session.plan.protocol_version}), session "
        f"{session.planned.number} on {session.date:%Y-%m-%d}, chair {session.chair}.",
        dose + ".",
    ]
    if session.gate_fired:
        checks = ", ".join(f["id"] for f in session.gate_fired)
        lines.append(
            f"Pre-dose gate stopped dosing ({checks}); prescriber's decision: "
            f"{session.gate_override_reason}"
        )
    for step in session.steps.all():
        rate = f" {step.rate_ml_per_h} mL/h" if step.rate_ml_per_h else ""
        lines.append(f"{_clock(step.at)} {step.get_kind_display()}{rate}")
    for obs in session.observations.all():
        values = ", ".join(
            f"{name.replace('_', ' ')} {getattr(obs, name)}"
            for name in SCORES
            if getattr(obs, name) is not None
        )
        lines.append(f"{_clock(obs.taken_at)} {obs.get_phase_display()}: {values}")
    for event in session.adverse_events.all():
        lines.append(
            f"{_clock(event.occurred_at)} adverse event: {event.get_kind_display()} "
            f"({event.severity}); {event.intervention or 'no intervention'}"
        )
    for alert in session.alerts.all():
        lines.append(f"Alert {alert.check_id}: {alert.message} — {alert.acknowledgement_note}")
    return "\n".join(lines)
