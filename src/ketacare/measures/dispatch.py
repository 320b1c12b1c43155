"""Sending scheduled questionnaires when due, and one reminder for unanswered links.

Run by `ketacare send_questionnaires` (from cron); each link is its own transaction, so one
patient's failed message does not hold back the others."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from ketacare.accounts.access import Actor
from ketacare.measures import actions
from ketacare.measures.models import Assignment, PatientLink, QuestionnaireResponse
from ketacare.measures.schedule import next_due


@dataclass
class DispatchReport:
    sent: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def due_assignments(now: datetime) -> list[Assignment]:
    """Active assignments due today or earlier that have no open link already."""
    today = timezone.localdate(now)
    last_done = {
        (row["patient_id"], row["instrument_id"]): row["last"]
        for row in QuestionnaireResponse.objects.values("patient_id", "instrument_id").annotate(
            last=Max("completed_at")
        )
    }
    open_links = set(
        PatientLink.objects.filter(used_at__isnull=True, expires_at__gt=now).values_list(
            "patient_id", "instrument_id"
        )
    )
    due = []
    for assignment in Assignment.objects.filter(active=True).select_related("patient__clinic"):
        key = (assignment.patient_id, assignment.instrument_id)
        last = last_done.get(key)
        when = next_due(
            assignment.schedule,
            assignment.starts_on,
            timezone.localdate(last) if last else None,
            assignment.every_days,
        )
        if when is not None and when <= today and key not in open_links:
            due.append(assignment)
            open_links.add(key)  # two assignments of one instrument send one link
    return due


def dispatch(now: datetime | None = None, dry_run: bool = False) -> DispatchReport:
    now = now or timezone.now()
    report = DispatchReport()
    for assignment in due_assignments(now):
        patient = assignment.patient
        label = f"MRN {patient.mrn} {assignment.instrument_id}"
        channel = actions.preferred_channel(patient)
        if channel is None:
            report.unreachable.append(label)
            continue
        if not dry_run:
            system = Actor(user=None, role="system", clinic=patient.clinic)
            actions.create_link(system, patient, assignment.instrument_id, channel)
        report.sent.append(label)
    cutoff = now - timedelta(hours=settings.KETACARE_LINK_REMINDER_HOURS)
    unanswered = (
        PatientLink.objects.filter(
            used_at__isnull=True,
            reminded_at__isnull=True,
            expires_at__gt=now,
            created_at__lte=cutoff,
        )
        .exclude(channel=PatientLink.Channel.IN_CLINIC)
        .select_related("patient__clinic")
    )
    for link in unanswered:
        if not dry_run:
            system = Actor(user=None, role="system", clinic=link.patient.clinic)
            actions.send_reminder(system, link)
        report.reminded.append(f"MRN {link.patient.mrn} {link.instrument_id}")
    return report
