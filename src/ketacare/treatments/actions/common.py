"""What every step of the dosing day shares: the refusal (SessionError and its Problems), the
session loaded and locked, the forward-only states, the signatures, and the two writes each
step ends with — the session's changed fields and its audit event (``ketacare.writes``)."""

from decimal import Decimal
from typing import Any

from django.db import models

from ketacare.accounts.permissions import allowed
from ketacare.accounts.reauth import SignatureRefused, reauthenticate_actor
from ketacare.actor import Actor
from ketacare.audit.record import Action
from ketacare.bounds import check_decimal, digits_of
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.refusals import ActionRefused
from ketacare.treatments.models import STATE_ORDER, TreatmentSession
from ketacare.writes import Writes

State = TreatmentSession.State
VITAL_FIELDS = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate", "moaas")

# The prompts' names in the audit trail of a refused signature.
GATE_OVERRIDE_SIGNATURE = "gate override"
DISCHARGE_SIGNATURE = "discharge signature"
TRANSFER_SIGNATURE = "transfer signature"


class SessionError(ActionRefused):
    """A refused step; the message names every unmet condition. Nothing was written.
    ``fixes`` names where the missing things are recorded (``Problem.fix``), for the page to
    link to."""

    def __init__(self, message: str, fixes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fixes = fixes


class Problem(str):
    """One unmet condition, in words; ``fix`` names where it is put right ("consent",
    "weight", "rems_enrollment", "questionnaires", "safety_alert"), or None."""

    fix: str | None

    def __new__(cls, text: str, fix: str | None = None) -> "Problem":
        problem = super().__new__(cls, text)
        problem.fix = fix
        return problem


def refuse(problems: list[str]) -> None:
    """Raise SessionError naming every problem, if there is any."""
    if problems:
        message = "; ".join(problems) + "."
        fixes = tuple(dict.fromkeys(fix for p in problems if (fix := getattr(p, "fix", None))))
        raise SessionError(message[:1].upper() + message[1:], fixes)


def column_decimal(value: Any, model: type[models.Model], field: str) -> Decimal:
    """``value`` as the model's decimal column holds it, or OutOfBounds."""
    column = model._meta.get_field(field)
    assert isinstance(column, models.DecimalField)
    max_digits, decimal_places = digits_of(column)
    return check_decimal(value, max_digits=max_digits, decimal_places=decimal_places)


def load_session(actor: Actor, session_id: int) -> TreatmentSession:
    """The actor's clinic's session, locked for the step's transaction."""
    try:
        return (
            TreatmentSession.objects.select_for_update()
            .select_related("plan", "patient")
            .get(pk=session_id, clinic=actor.clinic)
        )
    except TreatmentSession.DoesNotExist:
        raise SessionError("Unknown session.") from None


def advance(session: TreatmentSession, to: str) -> None:
    """Forward only: a session never goes back to an earlier state."""
    if STATE_ORDER.index(State(to)) <= STATE_ORDER.index(State(session.state)):
        raise SessionError(f"The session is already {session.get_state_display().lower()}.")
    session.state = to


def require(session: TreatmentSession, *states: str) -> None:
    if session.state not in states:
        wanted = " or ".join(State(s).label.lower() for s in states)
        raise SessionError(
            f"This step needs a session that is {wanted}; it is "
            f"{session.get_state_display().lower()}."
        )


def require_prescriber(actor: Actor, what: str) -> None:
    if not allowed(actor.role, "treatments.prescribe"):
        raise SessionError(f"Only a prescriber may {what}.")


def protocol_of(session: TreatmentSession) -> Protocol:
    return get_protocol(session.plan.protocol_id)


def confirm_password(actor: Actor, password: str, code: str = "", *, prompt: str) -> None:
    """The actor signs with their own password (and authenticator code), checked as at
    sign-in (``accounts.reauth``). Called before the action's transaction opens, so that a
    refusal's audit event and lock-out count are kept."""
    try:
        reauthenticate_actor(actor, password, code, prompt=prompt)
    except SignatureRefused as refused:
        raise SessionError(str(refused)) from None


# --- the writes every step ends with (through ``Writes``: the database or the bulk path) ----


def write_session(writes: Writes, actor: Actor, session: TreatmentSession, *fields: str) -> None:
    """Store the named fields of the session, changed at the actor's time."""
    session.updated_at = actor.now()
    writes.save(session, *fields, "updated_at")


def write_session_audit(
    writes: Writes, actor: Actor, session: TreatmentSession, what: str, **changes: Any
) -> None:
    writes.record(
        actor,
        Action.UPDATE,
        obj=session,
        patient=session.patient_id,
        changes={"step": what, "state": session.state, **changes},
    )


def keep_related(parent: models.Model, name: str, child: models.Model) -> None:
    """A parent whose related rows were prefetched sees the new one too (Django does not add
    it): the synthetic clinic's bulk path holds its sessions that way, and the next step reads
    them from there."""
    related = getattr(parent, "_prefetched_objects_cache", {}).get(name)
    if isinstance(related, list):
        related.append(child)
