"""What is due next in a session and whether it is ready to go, for the board and the session
page: the session's records as the plain values ``clinical.session.due`` and
``clinical.session.readiness`` judge."""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ketacare.clinical.protocols.library import Protocol
from ketacare.clinical.protocols.monitoring import observation_minutes, planned_vital_signs
from ketacare.clinical.session.due import DevicesDue, VitalsDue, devices_due, next_vitals
from ketacare.clinical.session.readiness import ready_for_discharge
from ketacare.treatments import actions
from ketacare.treatments.models import DoseStep, TreatmentSession

State = TreatmentSession.State


def dosed_at(session: TreatmentSession) -> datetime | None:
    """When the dose started, for a session being dosed or monitored (else None: no clock
    runs for it)."""
    if session.state not in (State.DOSING, State.MONITORING):
        return None
    started: datetime | None = session.dose_started_at
    return started


def minimum_minutes(session: TreatmentSession, protocol: Protocol) -> int:
    return observation_minutes(protocol, session.plan.infusion_minutes or 0)


def vitals_due(
    session: TreatmentSession,
    protocol: Protocol,
    last_monitoring_at: datetime | None,
    now: datetime,
) -> VitalsDue | None:
    """The protocol's next vital-sign check after the last monitoring observation, or the
    recheck an alert calls for."""
    started = dosed_at(session)
    return next_vitals(
        waiting_for_gate=session.state == State.CHECKED_IN and session.gate_checked_at is None,
        dosed_at=started,
        # Only a dosed session has rechecks; the others ask the database nothing.
        rechecks=actions.rechecks(session) if started is not None else (),
        planned=planned_vital_signs(protocol, session.plan.infusion_minutes or 0),
        last_monitoring_at=last_monitoring_at,
        now=now,
        tz=timezone.get_current_timezone(),
    )


def ready(session: TreatmentSession, protocol: Protocol, open_alerts: int, now: datetime) -> bool:
    """Ready for discharge but for what the nurse attests at discharge."""
    return ready_for_discharge(
        monitoring=session.state == State.MONITORING,
        dosed_at=session.dose_started_at,
        open_alerts=open_alerts,
        minimum_minutes=minimum_minutes(session, protocol),
        now=now,
        blockers=lambda: actions.discharge_blockers(session, True, True, now),
    )


def devices(session: TreatmentSession, protocol: Protocol, steps: list[DoseStep]) -> DevicesDue:
    """Nasal devices given, needed, and when the next may be given."""
    return devices_due(
        dose_mg=session.dose_mg,
        mg_per_device=Decimal(str(protocol.raw["mg_per_device"])),
        minutes_between=int(protocol.raw["minutes_between_devices"]),
        given_at=[s.at for s in steps if s.kind == DoseStep.Kind.DEVICE],
    )
