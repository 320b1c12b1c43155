"""Rendering a page of a signed-in patient: the clinic, its crisis lines, the languages."""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render

from ketacare import languages
from ketacare.audit.record import Action, record
from ketacare.portal.access import PortalRequest
from ketacare.referrals.crisis import crisis_lines


def patient_page(
    request: PortalRequest, template: str, *, status: int = 200, **context: Any
) -> HttpResponse:
    """The page, its view of the record audited (the patient reading their own chart)."""
    patient = request.patient
    record(
        request.actor,
        Action.VIEW,
        obj=patient,
        object_type="portal",
        patient=patient,
        changes={"page": request.path},
    )
    context.update(
        patient=patient,
        clinic=patient.clinic,
        crisis=crisis_lines(patient.clinic),
        languages=languages.supported(),
        signed_in=True,
    )
    return render(request, f"portal/{template}", context, status=status)
