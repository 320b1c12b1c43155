"""Opening a planned session on the day's board, checking the patient in, and cancelling a
session that was not dosed."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action
from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.library import Protocol
from ketacare.measures.queries import open_alert_summary
from ketacare.patients.consent import consent_problem, treatment_consent_problem
from ketacare.patients.models import BodyMeasurement, ConsentRecord, Patient
from ketacare.planning.actions import route_status
from ketacare.planning.models import PlannedSession
from ketacare.treatments.actions.common import (
    Problem,
    SessionError,
    State,
    advance,
    load_session,
    protocol_of,
    refuse,
    require,
    write_session,
    write_session_audit,
)
from ketacare.treatments.models import TreatmentSession
from ketacare.writes import DATABASE, Writes


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
    return write_open_session(DATABASE, actor, planned, chair)


def write_open_session(
    writes: Writes, actor: Actor, planned: PlannedSession, chair: str
) -> TreatmentSession:
    """What opening a session writes, once its checks have passed."""
    session = writes.add(
        TreatmentSession(
            clinic=actor.clinic,
            patient_id=planned.plan.patient_id,
            plan=planned.plan,
            planned=planned,
            date=planned.date,
            chair=chair.strip(),
            updated_at=actor.now(),
        )
    )
    writes.record(
        actor,
        Action.CREATE,
        obj=session,
        patient=session.patient_id,
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


def escort_needed(protocol: Protocol) -> tuple[str, str] | None:
    """(what is missing when nobody takes the patient home, its source) for a protocol whose
    patients must not go home alone or drive, else None. Check-in asks it on the day; the
    appointment book asks it the day before."""
    if protocol.monitoring.get("responsible_adult_at_discharge"):
        return (
            "no responsible adult arranged to take the patient home",
            str(protocol.monitoring.get("source", protocol.source)),
        )
    rules = route_check_in(protocol)
    if rules.get("transport_home_required"):
        return (
            "no transport home arranged: the patient must not drive today",
            str(rules["transport_source"]),
        )
    return None


def rems_enrolment_problem(patient: Patient, protocol: Protocol) -> str | None:
    """Why the patient may not have a dose of ``protocol`` for want of REMS enrolment, or
    None. Check-in refuses on it; so does booking the appointment (scheduling.gates)."""
    if not route_check_in(protocol).get("rems_enrollment_required"):
        return None
    missing = consent_problem(patient, ConsentRecord.Kind.REMS_ENROLLMENT)
    if missing is None:
        return None
    return (
        f"the patient is not enrolled in the esketamine REMS ({missing.rstrip('.')}): "
        "record the enrolment before the first dose"
    )


def check_in_problems(session: TreatmentSession, checklist: Checklist, today: date) -> list[str]:
    """Every reason the patient cannot be checked in on ``today``, from the protocol and the
    record."""
    protocol = protocol_of(session)
    patient = session.patient
    problems: list[str] = []
    if not checklist.fasting_as_instructed:
        problems.append(f"not fasted as instructed ({protocol.pre_dose_instructions[0]})")
    escort = escort_needed(protocol)
    if escort is not None and not checklist.escort_arranged:
        problems.append(escort[0])
    rems = rems_enrolment_problem(patient, protocol)
    if rems is not None:
        problems.append(Problem(rems, "rems_enrollment"))
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
    session = load_session(actor, session_id)
    require(session, State.SCHEDULED)
    if session.date != actor.today():
        raise SessionError(f"This session is planned for {session.date}, not today.")
    refuse(check_in_problems(session, checklist, actor.today()))
    advance(session, State.CHECKED_IN)
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
    write_session(writes, actor, session, "state", "checklist", "checked_in_at", "checked_in_by")
    write_session_audit(writes, actor, session, "check_in", checklist=session.checklist)


@transaction.atomic
def cancel_session(actor: Actor, session_id: int, reason: str) -> TreatmentSession:
    """Take a session that was not dosed off the day (no-show, illness, a new finding)."""
    session = load_session(actor, session_id)
    require(session, State.SCHEDULED, State.CHECKED_IN)
    if not reason.strip():
        raise SessionError("Write why the session is cancelled.")
    write_cancel(DATABASE, actor, session, reason)
    return session


def write_cancel(writes: Writes, actor: Actor, session: TreatmentSession, reason: str) -> None:
    """What cancelling a session writes, once its checks have passed."""
    session.state, session.cancel_reason = State.CANCELLED, reason.strip()
    write_session(writes, actor, session, "state", "cancel_reason")
    write_session_audit(writes, actor, session, "cancel", reason=session.cancel_reason)
