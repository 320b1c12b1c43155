"""What waits for a prescriber, and one patient's evaluations and plans."""

from django.http import HttpResponse
from django.shortcuts import render

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.audit.record import Action, record
from ketacare.planning.queries import (
    evaluations_to_finish,
    patient_evaluations,
    patient_plans,
    recent_plans,
)
from ketacare.planning.views.shared import patient_or_404


@requires("planning.view")
def worklist(request: KetacareRequest) -> HttpResponse:
    """What waits for a prescriber: evaluations to sign and draft plans, and recent plans."""
    clinic = request.actor.clinic
    return render(
        request,
        "planning/worklist.html",
        {"evaluations": evaluations_to_finish(clinic), "plans": recent_plans(clinic)},
    )


@requires("planning.view")
def patient_planning(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = patient_or_404(request, pk)
    record(request.actor, Action.VIEW, object_type="planning", patient=patient)
    return render(
        request,
        "planning/patient.html",
        {
            "patient": patient,
            "evaluations": patient_evaluations(patient),
            "plans": patient_plans(patient),
        },
    )
