"""The portal's home page, and what is done from it: answer a questionnaire, confirm an
appointment."""

from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ketacare.portal import actions, messaging, overview
from ketacare.portal.access import PortalRequest, portal_requires
from ketacare.portal.pages import patient_page
from ketacare.refusals import ActionRefused
from ketacare.scheduling.models import Appointment


@portal_requires("portal.home")
def home(request: PortalRequest) -> HttpResponse:
    return patient_page(
        request,
        "home.html",
        overview=overview.overview(request.patient, request.actor.now()),
        replies=messaging.replies_since_last_written(request.patient),
    )


@require_POST
@portal_requires("portal.questionnaires")
def answer(request: PortalRequest, instrument_id: str) -> HttpResponse:
    try:
        token = actions.open_questionnaire(request.actor, request.patient, instrument_id)
    except ActionRefused as refused:
        return patient_page(request, "problem.html", status=409, message=str(refused))
    return redirect("patient-link", token=token)


@require_POST
@portal_requires("portal.appointments")
def confirm(request: PortalRequest, appointment_id: int) -> HttpResponse:
    try:
        actions.confirm_appointment(request.actor, request.patient, appointment_id)
    except Appointment.DoesNotExist as missing:
        raise Http404("No such appointment") from missing
    except ActionRefused as refused:
        return patient_page(request, "problem.html", status=409, message=str(refused))
    return redirect("portal-home")
