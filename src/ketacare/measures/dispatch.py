"""Sending scheduled questionnaires when due, and one reminder for unanswered links.

Run every hour by `ketacare worker` (the `measures.tasks.send_questionnaires` job), or at once by
`ketacare send_questionnaires`; each link is its own transaction, so one
patient's failed message does not hold back the others."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from ketacare.actor import Actor, Clock, system_now
from ketacare.clinical.instruments import get
from ketacare.measures import actions, contact
from ketacare.measures.models import Assignment, PatientLink, QuestionnaireResponse
from ketacare.measures.schedule import next_due
from ketacare.patients.models import Patient


@dataclass
class DispatchReport:
    sent: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    not_sent: list[tuple[str, str]] = field(default_factory=list)
    """(what, why): due questionnaires that could not go out (``contact.refusal``)."""
    reminders_not_sent: list[tuple[str, str]] = field(default_factory=list)


def _label(patient: Patient, instrument_id: str) -> str:
    return f"MRN {patient.mrn} {get(instrument_id).short_name}"


def due_assignments(now: datetime, patient: Patient | None = None) -> list[Assignment]:
    """Active assignments due today or earlier that have no open link already (of
    ``patient`` only, when given: the portal's list of what the patient has to answer)."""
    today = timezone.localdate(now)
    responses = QuestionnaireResponse.objects.all()
    links = PatientLink.objects.filter(used_at__isnull=True, expires_at__gt=now)
    assignments = Assignment.objects.filter(active=True)
    if patient is not None:
        responses = responses.filter(patient=patient)
        links = links.filter(patient=patient)
        assignments = assignments.filter(patient=patient)
    last_done = {
        (row["patient_id"], row["instrument_id"]): row["last"]
        for row in responses.values("patient_id", "instrument_id").annotate(
            last=Max("completed_at")
        )
    }
    open_links = set(links.values_list("patient_id", "instrument_id"))
    due = []
    for assignment in assignments.select_related("patient__clinic"):
        if not actions.patient_can_answer(get(assignment.instrument_id)):
            continue  # a clinician-rated scale is due for staff to enter: nothing to send
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


def dispatch(dry_run: bool = False, clock: Clock = system_now) -> DispatchReport:
    """Send what is due and the reminders owed, at ``clock``'s time. A patient who may not be
    contacted by text or email (``contact.refusal``: the same decision as every other send) is
    skipped, and why is kept on the assignment or link (audited) and shown on the measures
    page."""
    now = clock()
    report = DispatchReport()
    for assignment in due_assignments(now):
        patient = assignment.patient
        label = _label(patient, assignment.instrument_id)
        system = Actor(user=None, role="system", clinic=patient.clinic, clock=clock)
        if dry_run:
            refused = contact.refusal_for(patient, actions.preferred_channel(patient))
        else:
            refused = actions.send_due(system, assignment)
        if refused:
            report.not_sent.append((label, refused.message))
        else:
            report.sent.append(label)
    cutoff = now - timedelta(hours=settings.KETACARE_LINK_REMINDER_HOURS)
    unanswered = (
        PatientLink.objects.filter(
            used_at__isnull=True,
            reminded_at__isnull=True,
            reminder_not_sent="",
            expires_at__gt=now,
            created_at__lte=cutoff,
        )
        .exclude(channel__in=PatientLink.SILENT)
        .select_related("patient__clinic")
    )
    for link in unanswered:
        label = _label(link.patient, link.instrument_id)
        if dry_run:
            refused = contact.refusal_for(link.patient, link.channel)
        else:
            system = Actor(user=None, role="system", clinic=link.patient.clinic, clock=clock)
            refused = actions.send_reminder(system, link)
        if refused:
            report.reminders_not_sent.append((label, refused.message))
        else:
            report.reminded.append(label)
    return report
