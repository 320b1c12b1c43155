"""The reminder pages: the patient's page behind the reminder's link (no login), the inbound
text endpoint for STOP/START (a gateway's shared secret, no login), the delivery log and the
clinic's reminder settings (staff)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ketacare import languages as language
from ketacare.accounts.access import KetacareRequest, client_ip, public, requires
from ketacare.reminders import actions, queries
from ketacare.reminders.forms import CancelForm, InboundSmsForm, SettingsForm
from ketacare.reminders.models import Channel
from ketacare.reminders.rules import keyword
from ketacare.web.submit import submitted


def _problem(request: HttpRequest, problem: actions.LinkError) -> HttpResponse:
    return render(
        request, "reminders/link_problem.html", {"message": str(problem)}, status=problem.status
    )


@public
@never_cache  # a shared phone must not keep the page
@language.in_language
def appointment_link(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's appointment by the reminder's link: the clinic and the time, and
    Confirm, Cancel (with an optional reason) and Stop reminders."""
    try:
        appointment = actions.open_link(token)
    except actions.LinkError as problem:
        return _problem(request, problem)
    form = CancelForm(request.POST or None)
    done = ""
    if request.method == "POST":
        choice, ip = request.POST.get("choice", ""), client_ip(request)
        try:
            if choice == "confirm":
                actions.confirm_by_link(token, ip)
                done = _("Thank you: your appointment is confirmed.")
            elif choice == "cancel" and form.is_valid():
                actions.cancel_by_link(token, form.cleaned_data["reason"], ip)
                done = _("Your appointment is cancelled. The clinic will be in touch to rebook.")
            elif choice == "stop":
                actions.stop_by_link(token, ip)
                done = _("You will get no more appointment reminders by text or email.")
        except actions.LinkError as problem:
            return _problem(request, problem)
        appointment.refresh_from_db()
    return render(
        request,
        "reminders/link.html",
        {
            "clinic": appointment.clinic,
            "when": actions.local_when(appointment),
            "closed": actions.closed_because(appointment, timezone.now()),
            "confirmed": appointment.state == appointment.State.CONFIRMED,
            "stopped": {c for _, c in queries.stopped([appointment.patient_id])}
            == set(Channel.values),
            "form": form,
            "done": done,
        },
    )


@public
@csrf_exempt  # posted by the SMS gateway, which signs in with the shared secret instead
@require_POST
def inbound_sms(request: HttpRequest) -> HttpResponse:
    """A text a patient sent back, posted by the SMS gateway (``from``, ``body``) with the
    shared secret (``X-Ketacare-Token`` header or ``token`` field). STOP and its synonyms stop
    text reminders for the patients with that number; START starts them again."""
    expected = settings.KETACARE_SMS_INBOUND_TOKEN
    given = request.headers.get("X-Ketacare-Token") or request.POST.get("token", "")
    if not expected:
        return JsonResponse({"error": "Inbound texts are not configured."}, status=403)
    if not constant_time_compare(given, expected):
        return JsonResponse({"error": "Wrong or missing token."}, status=403)
    form = InboundSmsForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": "Send 'from' (a phone number) and 'body'."}, status=400)
    word = keyword(form.cleaned_data["body"])
    if word is not None:
        actions.record_sms_keyword(form.cleaned_data["sender"], word)
    # The gateway learns nothing about who has this number.
    return JsonResponse({"keyword": word})


@requires("reminders.view")
def delivery_log(request: KetacareRequest) -> HttpResponse:
    """The clinic's latest reminders: to whom, when, how, and whether they went."""
    clinic = request.actor.clinic
    assert clinic is not None
    return render(
        request,
        "reminders/log.html",
        {
            "deliveries": queries.recent_deliveries(clinic),
            "policy": queries.policy_for(clinic),
            "zone": clinic.zone,
        },
    )


@requires("reminders.setup")
def reminder_settings(request: KetacareRequest) -> HttpResponse:
    """The clinic's lead times, channels and late-cancellation threshold."""
    clinic = request.actor.clinic
    assert clinic is not None
    policy = queries.policy_for(clinic)
    initial = {
        "lead_hours": ", ".join(str(h) for h in policy.lead_hours),
        "channels": list(policy.channels),
        "late_cancel_hours": policy.late_cancel_hours,
    }
    form = SettingsForm(request.POST or None, initial=initial)
    ok, _ = submitted(
        request,
        form,
        lambda data: actions.save_settings(request.actor, **data),
        "Reminder settings saved.",
    )
    if ok:
        return redirect("reminder-settings")
    return render(
        request,
        "reminders/settings.html",
        {"form": form, "defaults": queries.default_policy()},
    )
