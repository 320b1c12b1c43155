"""Signed plans starting on a chosen day, for booking their induction."""

from decimal import Decimal

from ketacare.planning import actions as planning
from ketacare.planning.actions import PlanRequest
from tests.conftest import PASSWORD
from tests.planning.conftest import as_prescriber, give_consent, signed_evaluation


def signed_plan_from(prescriber, clinic, patient, start, esketamine=False, rems=True):
    """A signed IV ketamine (or esketamine) plan whose induction starts on ``start``; for
    esketamine the patient is enrolled in the REMS unless ``rems`` is False."""
    evaluation = signed_evaluation(prescriber, clinic, patient)
    who = as_prescriber(prescriber, clinic)
    if esketamine:
        give_consent(prescriber, clinic, patient, "treatment_esketamine")
        if rems:
            give_consent(prescriber, clinic, patient, "rems_enrollment")
        request = PlanRequest("esketamine_trd", Decimal("56"), start)
    else:
        give_consent(prescriber, clinic, patient)
        request = PlanRequest("iv_ketamine", Decimal("0.5"), start, Decimal("50"), 40)
    draft = planning.draft_plan(who, evaluation.pk, request)
    return planning.sign_plan(who, draft.pk, PASSWORD)
