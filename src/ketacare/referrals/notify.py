"""Telling the on-call clinician at once that a referral raised an urgent alert: the same
recipients as a patient's safety alert (``measures.notify.alert_recipients``: the clinic's
on-call prescriber, else every reachable prescriber), through the acting request's outbox.

The message says only that an alert opened at the clinic and where to see it: no name, no
answers, since it may show on a lock screen. Whom it went to is audited."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ketacare.actor import Actor, Clock, system_now
from ketacare.audit.record import Action, record
from ketacare.measures.notify import ON_CALL, alert_recipients
from ketacare.outbox import DELIVER, Outbox
from ketacare.referrals.models import ReferralAlert


def alert_url(alert: ReferralAlert) -> str:
    path = reverse("alert-dashboard")
    return f"{settings.KETACARE_BASE_URL.rstrip('/')}{path}#referral-alert-{alert.pk}"


def referral_alert_opened(
    alert_id: int, *, clock: Clock = system_now, outbox: Outbox = DELIVER
) -> None:
    """Run after the alert's transaction committed: never announce an alert that rolled back."""
    alert = ReferralAlert.objects.select_related("clinic").get(pk=alert_id)
    recipients, basis = alert_recipients(alert.clinic)
    opened = timezone.localtime(alert.created_at, alert.clinic.zone)
    subject = f"URGENT: self-referral at high risk, {alert.clinic.name}"
    why = (
        "You are the clinic's on-call prescriber."
        if basis == ON_CALL
        else "No on-call prescriber could be reached, so every prescriber of the clinic is told."
    )
    body = (
        f"A person who referred themself to {alert.clinic.name} at {opened:%Y-%m-%d %H:%M} "
        f"screened at risk on the C-SSRS screener and was shown the crisis lines.\n\n"
        f"Arrange the warm hand-off and record it in ketacare: {alert_url(alert)}\n\n"
        f"{why} No details are in this message; sign in to see them."
    )
    sent, texted, failed = [], [], {}
    for user in recipients:
        try:
            if user.email:
                outbox.email(user.email, subject, body)
                sent.append(user.username)
            if user.mobile:
                outbox.sms(user.mobile, f"{subject}. See ketacare: {alert_url(alert)}")
                texted.append(user.username)
        except Exception as error:  # any provider's error: the others are still told
            failed[user.username] = str(error)
    changes: dict[str, object] = {"basis": basis, "sent_to": sent, "texted": texted}
    if failed:
        changes["failed"] = failed
    if not recipients:
        changes["not_sent"] = "no active prescriber of the clinic has an email or a mobile"
    with transaction.atomic():
        record(
            Actor(user=None, role="system", clinic=alert.clinic, clock=clock, outbox=outbox),
            Action.CREATE,
            obj=alert,
            object_type="referral_alert_notification",
            clinic=alert.clinic,
            changes=changes,
        )
