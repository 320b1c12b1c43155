"""What the planning pages share: the objects a URL names, found in the actor's clinic only
(another clinic's are "not found", never "forbidden": ids reveal nothing), and running one
action of ``planning.actions`` on a valid form."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from ketacare.accounts.access import KetacareRequest
from ketacare.patients.models import Patient
from ketacare.planning.actions import PlanningError
from ketacare.planning.models import Evaluation, TreatmentPlan
from ketacare.planning.queries import evaluations_of, plans_of


def patient_or_404(request: KetacareRequest, pk: int) -> Patient:
    return get_object_or_404(Patient, pk=pk, clinic=request.actor.clinic)


def evaluation_or_404(request: KetacareRequest, evaluation_id: int) -> Evaluation:
    return get_object_or_404(evaluations_of(request.actor.clinic), pk=evaluation_id)


def plan_or_404(request: KetacareRequest, plan_id: int) -> TreatmentPlan:
    return get_object_or_404(plans_of(request.actor.clinic), pk=plan_id)


def submitted(
    request: HttpRequest,
    form: Form,
    act: Callable[[dict[str, Any]], Any],
    success: Callable[[Any], str] | str,
) -> tuple[bool, Any]:
    """Run the action on a valid POST: (True, its result), or (False, None) when nothing was
    done (a GET, an invalid form, or a refusal, which is added to the form's errors)."""
    if request.method != "POST" or not form.is_valid():
        return False, None
    try:
        result = act(form.cleaned_data)
    except PlanningError as error:
        form.add_error(None, str(error))
        return False, None
    messages.success(request, success if isinstance(success, str) else success(result))
    return True, result
