"""What happens to the patient during the session: adverse events, and the monitoring alerts
a prescriber acknowledges."""

from datetime import datetime
from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action
from ketacare.clinical.datafiles import load
from ketacare.treatments.actions.common import (
    SessionError,
    State,
    keep_related,
    load_session,
    require,
    require_prescriber,
    write_session_audit,
)
from ketacare.treatments.actions.readiness import write_readiness
from ketacare.treatments.models import AdverseEvent, SessionAlert, TreatmentSession
from ketacare.writes import DATABASE, Writes


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
    session = load_session(actor, session_id)
    require(session, State.CHECKED_IN, State.DOSING, State.MONITORING)
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
    return write_adverse_event(
        DATABASE,
        actor,
        session,
        kind,
        severity,
        description=description,
        intervention=intervention,
        occurred_at=occurred_at,
        serious_criteria=[c for c in known if c in serious_criteria],
    )


def write_adverse_event(
    writes: Writes,
    actor: Actor,
    session: TreatmentSession,
    kind: str,
    severity: str,
    *,
    description: str = "",
    intervention: str = "",
    occurred_at: datetime | None = None,
    serious_criteria: list[str] | None = None,
) -> AdverseEvent:
    """What an adverse event writes, once its checks have passed."""
    event = writes.add(
        AdverseEvent(
            session=session,
            kind=kind,
            severity=severity,
            occurred_at=occurred_at or actor.now(),
            description=description.strip(),
            intervention=intervention.strip(),
            serious_criteria=serious_criteria or [],
            recorded_by=actor.user,
            recorded_at=actor.now(),
        )
    )
    keep_related(session, "adverse_events", event)
    write_session_audit(writes, actor, session, "adverse_event", **adverse_event_audit(event))
    return event


def adverse_event_audit(event: AdverseEvent) -> dict[str, Any]:
    """What the audit event of an adverse event records."""
    return {"kind": event.kind, "severity": event.severity, "serious": event.serious_criteria}


def serious_criteria_labels() -> dict[str, str]:
    """The regulatory seriousness criteria (ICH E2A), by id, in the data file's order."""
    return dict(load("adverse_events")["serious_criteria"])


@transaction.atomic
def acknowledge_alert(actor: Actor, alert_id: int, note: str) -> SessionAlert:
    require_prescriber(actor, "acknowledge a session alert")
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
    # Readiness may change with it: lock the session it is kept on.
    session = alert.session
    if session.state == State.MONITORING:
        session = load_session(actor, alert.session_id)
    write_acknowledgement(DATABASE, actor, alert, session, note)
    return alert


def write_acknowledgement(
    writes: Writes, actor: Actor, alert: SessionAlert, session: TreatmentSession, note: str
) -> None:
    """What acknowledging an alert of ``session`` writes, once its checks have passed."""
    alert.acknowledged_by, alert.acknowledged_at = actor.user, actor.now()
    alert.acknowledgement_note = note.strip()
    writes.save(alert, "acknowledged_by", "acknowledged_at", "acknowledgement_note")
    if session.state == State.MONITORING:
        write_readiness(writes, session, alert.acknowledged_at)
    writes.record(
        actor,
        Action.UPDATE,
        obj=alert,
        patient=session.patient_id,
        changes={"acknowledged": alert.check_id, "note": alert.acknowledgement_note},
    )
