"""The portal's messages: the thread with the clinic and its form, and asking to change an
appointment. What they write goes through ``messaging``."""

from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from ketacare.portal import messaging
from ketacare.portal.access import PortalRequest, portal_requires
from ketacare.portal.forms import ChangeRequestForm, MessageForm
from ketacare.portal.pages import patient_page
from ketacare.refusals import ActionRefused
from ketacare.reminders.actions import closed_because
from ketacare.scheduling.models import Appointment

# The portal shows the latest messages; older ones stay on the record (the chart, the audit).
SHOWN = 100


def _sent() -> HttpResponse:
    return redirect(reverse("portal-messages") + "?sent=1#latest")


@portal_requires("portal.messages")
def messages_page(request: PortalRequest) -> HttpResponse:
    limit = messaging.policy()["max_characters"]
    form = MessageForm(request.POST or None, max_characters=limit)
    if request.method == "POST" and form.is_valid():
        try:
            messaging.send_message(request.actor, request.patient, form.cleaned_data["body"])
        except ActionRefused as refused:
            form.add_error(None, str(refused))
        else:
            return _sent()
    return patient_page(
        request,
        "messages.html",
        form=form,
        thread=messaging.thread(request.patient, last=SHOWN),
        sent=request.GET.get("sent") == "1",
    )


@portal_requires("portal.appointments")
def change_appointment(request: PortalRequest, appointment_id: int) -> HttpResponse:
    appointment = (
        Appointment.objects.select_related("clinic")
        .filter(pk=appointment_id, patient=request.patient)
        .first()
    )
    if appointment is None:
        raise Http404("No such appointment")
    if why := closed_because(appointment, request.actor.now()):
        message = why + " " + _("Please call the clinic if you need to change anything.")
        return patient_page(request, "problem.html", status=409, message=message)
    form = ChangeRequestForm(
        request.POST or None, max_characters=messaging.policy()["max_characters"]
    )
    if request.method == "POST" and form.is_valid():
        try:
            messaging.ask_to_change(
                request.actor, request.patient, appointment.pk, form.cleaned_data["body"]
            )
        except Appointment.DoesNotExist as missing:
            raise Http404("No such appointment") from missing
        except ActionRefused as refused:
            form.add_error(None, str(refused))
        else:
            return _sent()
    return patient_page(request, "change_appointment.html", form=form, appointment=appointment)
