"""The demo's reminders: what the worker would have sent by now, so that the outbox
(``<data dir>/outbox``: ``sms.log`` and the email files) has reminders to show on the demo's
first start, whatever the day. The demo's worker then sends the rest as they fall due."""

from datetime import datetime, timedelta

from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.actor import FixedClock
from ketacare.outbox import DELIVER, Outbox
from ketacare.reminders.actions import REMINDED
from ketacare.reminders.dispatch import Report, send_due
from ketacare.reminders.queries import policy_for
from ketacare.scheduling.models import Appointment


def seed(clinic: Clinic, now: datetime | None = None, outbox: Outbox = DELIVER) -> Report:
    """Send the clinic's reminders due at ``now`` (default: the real time); if none is due
    (the demo's week is more than the longest lead time away, at a weekend), those due at the
    longest lead time before its next appointment, acting then (docs/decisions/0107)."""
    now = now or timezone.now()
    report = send_due(FixedClock(now), outbox, clinic.pk)
    if report.counts:
        return report
    upcoming = (
        Appointment.objects.filter(clinic=clinic, state__in=REMINDED, start__gt=now)
        .order_by("start")
        .first()
    )
    if upcoming is None:
        return report
    then = upcoming.start - timedelta(hours=max(policy_for(clinic).lead_hours))
    return send_due(FixedClock(max(then, now)), outbox, clinic.pk)
