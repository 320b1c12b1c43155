"""Rendering a portal page: the clinic, its crisis lines, the languages; for a signed-in
patient, the view of their record audited."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ketacare import languages
from ketacare.accounts.models import Clinic
from ketacare.audit.record import Action, record
from ketacare.portal.access import PortalRequest
from ketacare.referrals.crisis import crisis_lines


def portal_page(
    request: HttpRequest, clinic: Clinic, template: str, *, status: int = 200, **context: Any
) -> HttpResponse:
    """Any portal page, signed in or not (the sign-in pages)."""
    context.update(clinic=clinic, crisis=crisis_lines(clinic), languages=languages.supported())
    return render(request, f"portal/{template}", context, status=status)


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
    return portal_page(
        request, patient.clinic, template, status=status, patient=patient, signed_in=True, **context
    )
