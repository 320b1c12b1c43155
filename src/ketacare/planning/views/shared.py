"""What the planning pages share: the objects a URL names, found in the actor's clinic only
(another clinic's are "not found", never "forbidden": ids reveal nothing)."""

from django.shortcuts import get_object_or_404

from ketacare.accounts.access import KetacareRequest
from ketacare.patients.models import Patient
from ketacare.planning.models import Evaluation, TreatmentPlan
from ketacare.planning.queries import evaluations_of, plans_of


def patient_or_404(request: KetacareRequest, pk: int) -> Patient:
    return get_object_or_404(Patient, pk=pk, clinic=request.actor.clinic)


def evaluation_or_404(request: KetacareRequest, evaluation_id: int) -> Evaluation:
    return get_object_or_404(evaluations_of(request.actor.clinic), pk=evaluation_id)


def plan_or_404(request: KetacareRequest, plan_id: int) -> TreatmentPlan:
    return get_object_or_404(plans_of(request.actor.clinic), pk=plan_id)
