"""Instruments assigned to a patient on a schedule, and sending what is due."""

from datetime import date

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes, record
from ketacare.bounds import MAX_SMALL_INTEGER, check_date, check_integer
from ketacare.clinical.instruments import get
from ketacare.measures import contact
from ketacare.measures.actions.patient_links import create_link
from ketacare.measures.models import Assignment, PatientLink
from ketacare.patients.models import Patient


@transaction.atomic
def assign_instrument(
    actor: Actor,
    patient: Patient,
    instrument_id: str,
    schedule: str,
    starts_on: date,
    every_days: int | None = None,
) -> Assignment:
    check_date(starts_on, actor.today(), "The start date")
    if every_days is not None:
        every_days = check_integer(every_days, "Every how many days", 1, MAX_SMALL_INTEGER)
    assignment = Assignment.objects.create(
        patient=patient,
        instrument_id=get(instrument_id).id,
        schedule=schedule,
        every_days=every_days,
        starts_on=starts_on,
        created_by=actor.user,
        created_at=actor.now(),
    )
    record(
        actor,
        Action.CREATE,
        obj=assignment,
        patient=patient,
        changes=field_changes(
            {},
            {
                "instrument": instrument_id,
                "schedule": schedule,
                "every_days": every_days,
                "starts_on": starts_on,
            },
        ),
    )
    return assignment


@transaction.atomic
def end_assignment(actor: Actor, assignment: Assignment) -> None:
    assignment.active = False
    assignment.save(update_fields=["active"])
    record(
        actor,
        Action.UPDATE,
        obj=assignment,
        patient=assignment.patient,
        changes=field_changes({"active": True}, {"active": False}),
    )


def preferred_channel(patient: Patient) -> str | None:
    """Text if there is a phone number, else email, else None (cannot be reached)."""
    if patient.phone:
        return PatientLink.Channel.SMS
    if patient.email:
        return PatientLink.Channel.EMAIL
    return None


@transaction.atomic
def send_due(actor: Actor, assignment: Assignment) -> contact.Refusal | None:
    """Send the questionnaire ``assignment`` has due, by text if there is a phone number, else
    by email; if it may not go (``contact.refusal``), record why on the assignment instead and
    return the refusal. A new reason is audited once, not on every run of the dispatch."""
    patient = assignment.patient
    channel = preferred_channel(patient)
    refused = contact.refusal_for(patient, channel)
    if refused is None and channel is not None:
        create_link(actor, patient, assignment.instrument_id, channel)
    _note_not_sent(actor, assignment, refused.code if refused else "")
    return refused


def _note_not_sent(actor: Actor, assignment: Assignment, code: str) -> None:
    if assignment.not_sent_reason == code:
        return
    before = {"not_sent": assignment.not_sent_reason or None}
    assignment.not_sent_reason = code
    assignment.not_sent_since = actor.now() if code else None
    assignment.save(update_fields=["not_sent_reason", "not_sent_since"])
    record(
        actor,
        Action.UPDATE,
        obj=assignment,
        patient=assignment.patient,
        clinic=assignment.patient.clinic,
        changes=field_changes(before, {"not_sent": code or None}),
    )
