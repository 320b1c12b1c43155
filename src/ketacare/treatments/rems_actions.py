"""Recording that a session's REMS Patient Monitoring Form was submitted on the REMS portal.
One transaction with its audit event; a refusal raises RemsError and writes nothing."""

from django.db import transaction

from ketacare.accounts.access import Actor
from ketacare.accounts.permissions import allowed
from ketacare.audit.record import Action, record
from ketacare.refusals import ActionRefused
from ketacare.treatments.models import RemsSubmission
from ketacare.treatments.rems import rems_sessions

REFERENCE_MAX = RemsSubmission._meta.get_field("reference").max_length


class RemsError(ActionRefused):
    """A refused recording; the message says why. Nothing was written."""


@transaction.atomic
def record_rems_submission(actor: Actor, session_id: int, reference: str) -> RemsSubmission:
    """Staff submitted the form on the REMS portal and type the confirmation it gave them."""
    if not allowed(actor.role, "treatments.rems"):
        raise RemsError("Your role may not record REMS submissions.")
    session = (
        rems_sessions(actor.clinic)
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
    submission = RemsSubmission.objects.create(
        session=session,
        submitted_at=actor.now(),
        submitted_by=actor.user,
        reference=reference,
    )
    record(
        actor,
        Action.CREATE,
        obj=submission,
        patient=session.patient,
        changes={"session": session.pk, "reference": reference},
    )
    return submission
