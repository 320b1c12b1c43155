"""When a dosed patient may go home: the discharge criteria not yet met (from the protocol, the
observations, the alerts and the ledger), the rechecks the alerts call for, and the moment
the patient became ready, kept on the session as it happens."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from ketacare.clinical.protocols.monitoring import observation_minutes
from ketacare.clinical.session import (
    BloodPressureAt,
    RaisedAlert,
    Recheck,
    VitalSigns,
    discharge_problems,
    rechecks_due,
)
from ketacare.inventory.models import LedgerEntry
from ketacare.treatments.actions.common import VITAL_FIELDS, State, protocol_of
from ketacare.treatments.models import Observation, TreatmentSession
from ketacare.writes import Writes


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


def write_readiness(writes: Writes, session: TreatmentSession, now: datetime) -> None:
    """Keep ``ready_at`` after what was recorded at ``now`` (an observation, an alert
    acknowledged); written only when it changed."""
    ready_at = ready_at_after(session, now)
    if ready_at != session.ready_at:
        session.ready_at, session.updated_at = ready_at, now
        writes.save(session, "ready_at", "updated_at")
