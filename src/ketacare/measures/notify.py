"""Telling a prescriber at once that a safety alert opened: by email, and by text to staff with
a mobile number, through the outbox of the action that opened the alert (``ketacare.outbox``:
the deployment's mail and ``KETACARE_SMS_BACKEND`` unless the caller said otherwise).

Who is told: the clinic's on-call prescriber (``Clinic.on_call_prescriber``) when one is set,
still an active prescriber of the clinic and reachable (an email address or a mobile number);
otherwise every reachable active prescriber of the clinic, so that an alert never waits unseen
because nobody was put on call or the one on call cannot be reached.

The message carries what a clinic notification may: the clinic, the patient's MRN and a link to
the alert. No name, no instrument, no answers: it may show on a lock screen. Whether it was sent,
to whom and why them, is audited.
"""

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.actor import Actor, Clock, system_now
from ketacare.audit.record import Action, record
from ketacare.measures.models import SafetyAlert
from ketacare.outbox import DELIVER, Outbox

ON_CALL = "on_call_prescriber"
ALL_PRESCRIBERS = "all_active_prescribers"


def alert_recipients(clinic: Clinic) -> tuple[list[User], str]:
    """Whom to tell about a new alert at ``clinic``, and on what basis (see the module)."""
    prescribers = (
        User.objects.filter(
            is_active=True,
            memberships__clinic=clinic,
            memberships__role=Role.PRESCRIBER,
            memberships__active=True,
        )
        .exclude(Q(email="") & Q(mobile=""))
        .order_by("username")
    )
    on_call = next((u for u in prescribers if u.pk == clinic.on_call_prescriber_id), None)
    if on_call is not None:
        return [on_call], ON_CALL
    return list(prescribers), ALL_PRESCRIBERS


def alert_url(alert: SafetyAlert) -> str:
    path = reverse("alert-dashboard")
    return f"{settings.KETACARE_BASE_URL.rstrip('/')}{path}#alert-{alert.pk}"


def why_told(basis: str) -> str:
    """Why the reader of an alert's message got it."""
    if basis == ON_CALL:
        return "You are the clinic's on-call prescriber."
    return "No on-call prescriber could be reached, so every prescriber of the clinic is told."


def alert_message(alert: SafetyAlert, basis: str) -> tuple[str, str]:
    """Subject and body of the notification: MRN and a link, nothing of the answers."""
    clinic = alert.clinic.name
    opened = timezone.localtime(alert.created_at)
    body = (
        f"A safety alert opened at {clinic} at {opened:%Y-%m-%d %H:%M} for the patient with "
        f"MRN {alert.patient.mrn}.\n\n"
        f"Review and acknowledge it in ketacare: {alert_url(alert)}\n\n"
        f"{why_told(basis)} The answers are not in this message; sign in to see them."
    )
    return f"Safety alert at {clinic}: MRN {alert.patient.mrn}", body


def tell_prescribers(
    alert: models.Model,
    clinic: Clinic,
    told: tuple[list[User], str],
    message: tuple[str, str, str],
    *,
    object_type: str,
    clock: Clock,
    outbox: Outbox,
    patient: object = None,
    noted: dict[str, object] | None = None,
) -> None:
    """Send ``message`` (subject, email body, text) about ``alert`` to the prescribers
    ``told`` (and the basis, from ``alert_recipients``), each by email and text where they
    have them; a provider's error does not stop the others being told. Whom it went to, on
    what basis and what failed is audited (``noted`` first, then that)."""
    subject, body, text = message
    recipients, basis = told
    sent, texted, failed = [], [], {}
    for user in recipients:
        try:
            if user.email:
                outbox.email(user.email, subject, body)
                sent.append(user.username)
            if user.mobile:
                outbox.sms(user.mobile, text)
                texted.append(user.username)
        except Exception as error:  # any mail or SMS provider error: the others are still told
            failed[user.username] = str(error)
    changes: dict[str, object] = {
        **(noted or {}),
        "basis": basis,
        "sent_to": sent,
        "texted": texted,
    }
    if failed:
        changes["failed"] = failed
    if not recipients:
        changes["not_sent"] = "no active prescriber of the clinic has an email or a mobile"
    with transaction.atomic():
        record(
            Actor(user=None, role="system", clinic=clinic, clock=clock, outbox=outbox),
            Action.CREATE,
            obj=alert,
            object_type=object_type,
            patient=patient,
            clinic=clinic,
            changes=changes,
        )


def alert_opened(alert_id: int, *, clock: Clock = system_now, outbox: Outbox = DELIVER) -> None:
    """Email the prescribers who must know about this alert, and audit it. Runs after the
    alert's transaction has committed: a message never announces an alert that rolled back.
    ``clock`` and ``outbox`` are those of the action that opened the alert."""
    alert = SafetyAlert.objects.select_related("patient", "clinic").get(pk=alert_id)
    recipients, basis = alert_recipients(alert.clinic)
    subject, body = alert_message(alert, basis)
    text = f"{subject}. Review it in ketacare: {alert_url(alert)}"
    tell_prescribers(
        alert,
        alert.clinic,
        (recipients, basis),
        (subject, body, text),
        object_type="safety_alert_notification",
        clock=clock,
        outbox=outbox,
        patient=alert.patient,
        noted={"channel": "email"},
    )
