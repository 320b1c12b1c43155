"""Sending the reminders that are due: run every few minutes by `ketacare worker` (the
``reminders.tasks.send_reminders`` job). Each reminder is its own transaction (``actions.
send_reminder``), so a provider's failure for one patient does not hold back the others,
and its delivery row says what was sent, skipped or failed."""

from dataclasses import dataclass, field
from datetime import timedelta

from ketacare.actor import Actor, Clock, system_now
from ketacare.outbox import DELIVER, Outbox
from ketacare.reminders.actions import REMINDED, send_reminder
from ketacare.reminders.models import Delivery
from ketacare.reminders.queries import clinic_policies, default_policy
from ketacare.reminders.rules import due_lead
from ketacare.scheduling.models import Appointment


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    """Outcome status -> how many (sent, skipped, failed)."""
    failures: list[str] = field(default_factory=list)
    """The failed sends' errors (no patient's data: the provider's error class and text)."""


def due(now_clock: Clock, clinic_id: int | None = None) -> list[tuple[Appointment, int, str]]:
    """(appointment, lead hours, channel) of every reminder due now (at ``clinic_id`` only,
    if given) and not yet sent or skipped: the appointment is booked or confirmed and still
    to come, and the moment of its shortest passed lead time has come (``rules.due_lead``),
    by the clinic's policy."""
    now = now_clock()
    policies, default = clinic_policies(), default_policy()
    longest = max(max(p.lead_hours) for p in [default, *policies.values()])
    coming = Appointment.objects.filter(
        state__in=REMINDED, start__gt=now, start__lte=now + timedelta(hours=longest)
    )
    if clinic_id is not None:
        coming = coming.filter(clinic_id=clinic_id)
    appointments = list(coming.order_by("start", "id"))
    done = set(
        Delivery.objects.filter(appointment__in=[a.pk for a in appointments])
        .exclude(status=Delivery.Status.FAILED)
        .values_list("appointment_id", "start", "lead_hours", "channel")
    )
    owed = []
    for appointment in appointments:
        policy = policies.get(appointment.clinic_id, default)
        lead = due_lead(appointment.start, now, policy.lead_hours)
        if lead is None:
            continue
        for channel in policy.channels:
            if (appointment.pk, appointment.start, lead, channel) not in done:
                owed.append((appointment, lead, channel))
    return owed


def send_due(
    clock: Clock = system_now, outbox: Outbox = DELIVER, clinic_id: int | None = None
) -> Report:
    """Send every reminder due at ``clock``'s time (at ``clinic_id`` only, if given) through
    ``outbox``."""
    report = Report()
    for appointment, lead, channel in due(clock, clinic_id):
        system = Actor(user=None, role="system", clinic=None, clock=clock, outbox=outbox)
        outcome = send_reminder(system, appointment.pk, lead, channel)
        report.counts[outcome.status] = report.counts.get(outcome.status, 0) + 1
        if outcome.status == Delivery.Status.FAILED:
            report.failures.append(outcome.detail)
    return report
