"""The clinic's side of the portal's messages: the inbox of patients waiting for an answer,
and the reply from the chart (whose messages section is ``templatetags/portal_messages``)."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.audit.record import Action, record
from ketacare.patients.models import Patient
from ketacare.portal import messaging
from ketacare.web.submit import attempted

PAGE_SIZE = 50


@requires("messages.view")
def inbox(request: KetacareRequest) -> HttpResponse:
    page = Paginator(messaging.waiting(request.actor.clinic.pk), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # The list names patients and shows the start of what they wrote: a view of their records.
    record(request.actor, Action.VIEW, object_type="portal_message_inbox")
    return render(
        request,
        "portal/staff/inbox.html",
        {"page": page, "zone": request.actor.clinic.zone},
    )


def _said(replied: messaging.Replied) -> str:
    if replied.channel is not None:
        how = "a text message" if replied.channel == "sms" else "email"
        return f"Reply sent. The patient is told by {how} that a message waits in the portal."
    return (
        f"Reply sent. The patient was not told that it waits ({replied.not_told}); "
        "they see it when they next sign in to the portal."
    )


@requires("messages.reply")
def reply(request: KetacareRequest, pk: int) -> HttpResponse:
    # Another clinic's patient is "not found", never "forbidden": ids reveal nothing.
    patient = get_object_or_404(Patient, pk=pk, clinic=request.actor.clinic)
    if request.method == "POST":
        attempted(
            request,
            lambda: messaging.reply(request.actor, patient.pk, request.POST.get("body", "")),
            _said,
        )
    return redirect(reverse("patient-chart", args=[patient.pk]) + "#messages")
