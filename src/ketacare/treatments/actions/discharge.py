"""How a dosed session ends: the nurse signs the discharge, or the patient is transferred to
emergency care. Either way the session note is generated and locked."""

from typing import Any

from django.db import transaction

from ketacare.accounts.models import User
from ketacare.actor import Actor
from ketacare.treatments.actions.common import (
    DISCHARGE_SIGNATURE,
    TRANSFER_SIGNATURE,
    State,
    advance,
    confirm_password,
    load_session,
    refuse,
    require,
    write_session,
    write_session_audit,
)
from ketacare.treatments.actions.readiness import discharge_blockers, ready_at_discharge
from ketacare.treatments.models import TreatmentSession
from ketacare.treatments.note import session_note
from ketacare.writes import DATABASE, Writes


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
    session = load_session(actor, session_id)
    refuse(
        discharge_blockers(session, dissociation_resolved, responsible_adult_present, actor.now())
    )
    write_discharge(
        DATABASE,
        actor,
        session,
        dissociation_resolved=dissociation_resolved,
        responsible_adult_present=responsible_adult_present,
    )
    return session


def write_discharge(
    writes: Writes,
    actor: Actor,
    session: TreatmentSession,
    *,
    dissociation_resolved: bool,
    responsible_adult_present: bool,
) -> None:
    """What a discharge writes, once its checks (and the signature) have passed: the note is
    generated from the session's related rows as they are now."""
    session.dissociation_resolved = dissociation_resolved
    session.responsible_adult_present = responsible_adult_present
    session.discharged_at, session.discharged_by = actor.now(), actor.user
    session.ready_at = ready_at_discharge(session)
    advance(session, State.DISCHARGED)
    session.note = session_note(session)
    write_session(
        writes,
        actor,
        session,
        "dissociation_resolved",
        "responsible_adult_present",
        "discharged_at",
        "discharged_by",
        "ready_at",
        "state",
        "note",
    )
    write_session_audit(writes, actor, session, "discharge", note=session.note)


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
    session = load_session(actor, session_id)
    require(session, State.DOSING, State.MONITORING)
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
    refuse(problems)
    assert decider is not None
    write_transfer(DATABASE, actor, session, destination, reason, decider)
    return session


def write_transfer(
    writes: Writes,
    actor: Actor,
    session: TreatmentSession,
    destination: str,
    reason: str,
    decider: User,
) -> None:
    """What a transfer writes, once its checks (and the signature) have passed."""
    now = actor.now()
    fields = ["transferred_at", "transferred_by", "transfer_decided_by"]
    if session.dose_ended_at is None:
        session.dose_ended_at = now  # the infusion or the devices stop with the transfer
        fields.append("dose_ended_at")
    session.transferred_at, session.transferred_by = now, actor.user
    session.transfer_decided_by = decider
    session.transfer_destination = destination.strip()[:200]
    session.transfer_reason = reason.strip()
    advance(session, State.TRANSFERRED)
    session.note = session_note(session)
    fields += ["transfer_destination", "transfer_reason", "state", "note"]
    write_session(writes, actor, session, *fields)
    write_session_audit(
        writes,
        actor,
        session,
        "transfer",
        destination=session.transfer_destination,
        reason=session.transfer_reason,
        decided_by=decider.pk,
        note=session.note,
    )
