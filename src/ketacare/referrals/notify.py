"""Telling the on-call clinician at once that a referral raised an urgent alert: the same
recipients as a patient's safety alert (``measures.notify.alert_recipients``: the clinic's
on-call prescriber, else every reachable prescriber), through the acting request's outbox.

The message says only that an alert opened at the clinic and where to see it: no name, no
answers, since it may show on a lock screen. Whom it went to is audited."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from ketacare.actor import Clock, system_now
from ketacare.measures.notify import alert_recipients, tell_prescribers, why_told
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
    body = (
        f"A person who referred themself to {alert.clinic.name} at {opened:%Y-%m-%d %H:%M} "
        f"screened at risk on the C-SSRS screener and was shown the crisis lines.\n\n"
        f"Arrange the warm hand-off and record it in ketacare: {alert_url(alert)}\n\n"
        f"{why_told(basis)} No details are in this message; sign in to see them."
    )
    tell_prescribers(
        alert,
        alert.clinic,
        (recipients, basis),
        (subject, body, f"{subject}. See ketacare: {alert_url(alert)}"),
        object_type="referral_alert_notification",
        clock=clock,
        outbox=outbox,
    )
