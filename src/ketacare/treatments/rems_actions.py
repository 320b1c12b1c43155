"""Recording that a session's REMS Patient Monitoring Form was submitted on the REMS portal.
One transaction with its audit event; a refusal raises RemsError and writes nothing."""

from django.db import models, transaction

from ketacare.accounts.permissions import allowed
from ketacare.actor import Actor
from ketacare.audit.record import Action
from ketacare.refusals import ActionRefused
from ketacare.treatments.models import RemsSubmission, TreatmentSession
from ketacare.treatments.rems import rems_sessions
from ketacare.writes import DATABASE, Writes

_REFERENCE = RemsSubmission._meta.get_field("reference")
assert isinstance(_REFERENCE, models.CharField) and _REFERENCE.max_length is not None
REFERENCE_MAX: int = _REFERENCE.max_length


class RemsError(ActionRefused):
    """A refused recording; the message says why. Nothing was written."""


@transaction.atomic
def record_rems_submission(actor: Actor, session_id: int, reference: str) -> RemsSubmission:
    """Staff submitted the form on the REMS portal and type the confirmation it gave them."""
    if not allowed(actor.role, "treatments.rems"):
        raise RemsError("Your role may not record REMS submissions.")
    session = (
        None
        if actor.clinic is None
        else rems_sessions(actor.clinic)
        # Lock only the session: concurrent recordings queue here.
        .select_for_update(of=("self",))
        .select_related("patient")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise RemsError("Unknown session: only a discharged esketamine session has a REMS form.")
    if RemsSubmission.objects.filter(session=session).exists():
        raise RemsError("The REMS form of this session is already recorded as submitted.")
    reference = reference.strip()
    if not reference:
        raise RemsError("Type the confirmation reference the REMS portal gave you.")
    if len(reference) > REFERENCE_MAX:
        raise RemsError(f"The reference is longer than {REFERENCE_MAX} characters.")
    return write_rems_submission(DATABASE, actor, session, reference)


def write_rems_submission(
    writes: Writes, actor: Actor, session: TreatmentSession, reference: str
) -> RemsSubmission:
    """What recording the REMS form writes, once its checks have passed."""
    submission = writes.add(
        RemsSubmission(
            session=session,
            submitted_at=actor.now(),
            submitted_by=actor.user,
            reference=reference.strip(),
        )
    )
    writes.record(
        actor,
        Action.CREATE,
        obj=submission,
        patient=session.patient_id,
        changes={"session": session.pk, "reference": submission.reference},
    )
    return submission
