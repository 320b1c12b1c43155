"""Every change to measures: responses, links, alerts. One transaction each, with audit."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from ketacare.accounts.access import Actor, Clock, system_now
from ketacare.audit.record import Action, field_changes, record
from ketacare.bounds import MAX_SMALL_INTEGER, check_date, check_datetime, check_integer
from ketacare.clinical.instruments import Instrument, get, score
from ketacare.clinical.safety import safety_signals
from ketacare.measures import contact, links, notify
from ketacare.measures.fhir import measures_bundle
from ketacare.measures.models import Assignment, PatientLink, QuestionnaireResponse, SafetyAlert
from ketacare.outbox import DELIVER, Outbox
from ketacare.patients.models import Patient
from ketacare.refusals import ActionRefused


class AlreadyAcknowledged(Exception):
    def __init__(self, alert: SafetyAlert) -> None:
        super().__init__(alert)
        self.alert = alert


class LinkError(ActionRefused):
    """A patient link that cannot be used; the message is safe to show the patient."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _save_response(
    actor: Actor,
    patient: Patient,
    instrument_id: str,
    answers: Sequence[int],
    completed_at: datetime,
    source: str,
    sex: str | None = None,
    link: PatientLink | None = None,
) -> QuestionnaireResponse:
    instrument = get(instrument_id)
    result = score(instrument, answers, sex=sex or sex_for_scoring(patient))
    response = QuestionnaireResponse.objects.create(
        patient=patient,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        answers=list(answers),
        total=result.total,
        severity=result.severity or "",
        flags=list(result.flags),
        subscales=result.subscales,
        completed_at=completed_at,
        source=source,
        entered_by=actor.user,
        link=link,
    )
    record(
        actor,
        Action.CREATE,
        obj=response,
        object_type="questionnaire_response",
        patient=patient,
        clinic=patient.clinic,
        changes=field_changes(
            {},
            {
                "instrument": instrument.id,
                "answers": list(answers),
                "total": result.total,
                "severity": result.severity,
                "flags": list(result.flags),
            },
        ),
    )
    for signal in safety_signals(result):
        alert = SafetyAlert.objects.create(
            patient=patient,
            clinic=patient.clinic,
            response=response,
            flag=signal.flag,
            rule=signal.rule,
            source=signal.source,
            created_at=actor.now(),
        )
        record(
            actor,
            Action.CREATE,
            obj=alert,
            object_type="safety_alert",
            patient=patient,
            clinic=patient.clinic,
            changes=field_changes({}, {"flag": signal.flag}),
        )
        # Told at once, but only once the alert is really there.
        transaction.on_commit(
            partial(notify.alert_opened, alert.pk, clock=actor.clock, outbox=actor.outbox),
            robust=True,
        )
    return response


def sex_for_scoring(patient: Patient) -> str | None:
    """The chart's sex at birth where a sex-specific cut-off can use it, else None."""
    return patient.sex_at_birth if patient.sex_at_birth in ("female", "male") else None


@transaction.atomic
def record_staff_response(
    actor: Actor,
    patient: Patient,
    instrument_id: str,
    answers: Sequence[int],
    completed_at: datetime,
    sex: str | None = None,
) -> QuestionnaireResponse:
    """A clinician-rated instrument, or a patient's paper form, entered by staff."""
    check_datetime(completed_at, actor.today(), "The completion date")
    return _save_response(
        actor,
        patient,
        instrument_id,
        answers,
        completed_at,
        QuestionnaireResponse.Source.STAFF,
        sex=sex,
    )


@transaction.atomic
def create_link(
    actor: Actor, patient: Patient, instrument_id: str, channel: str
) -> tuple[PatientLink, str]:
    """Make a single-use link for ``instrument_id`` and send it; returns the link and its URL.

    Raises ContactRefused (nothing made) without a current consent to contact the patient by
    text or email, or without the address. If sending fails, the link is not kept (the caller
    sees the error)."""
    instrument = get(instrument_id)
    if not patient_can_answer(instrument):
        raise ValueError(
            f"{instrument.short_name} cannot be sent to patients: ketacare does not ship its "
            "wording. Enter it from the clinic's licensed form instead."
        )
    contact.check(patient, channel)
    hours = settings.KETACARE_LINK_EXPIRY_HOURS
    now = actor.now()
    link = PatientLink.objects.create(
        patient=patient,
        instrument_id=instrument.id,
        channel=channel,
        created_by=actor.user,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    # Audit first: a message must never carry a link whose record could still roll back.
    record(
        actor,
        Action.CREATE,
        obj=link,
        object_type="patient_link",
        patient=patient,
        changes=field_changes({}, {"instrument": instrument_id, "channel": channel}),
    )
    url = links.absolute_url(links.token_for(link.public_id))
    body = links.message_text(patient.clinic.name, url, hours)
    if channel == PatientLink.Channel.EMAIL:
        actor.outbox.email(patient.email, links.subject(patient.clinic.name), body)
    elif channel == PatientLink.Channel.SMS:
        actor.outbox.sms(patient.phone, body)
    return link, url


def must_ask_sex(instrument: Instrument, patient: Patient) -> bool:
    """Whether the form must ask the sex: the instrument's cut-off needs it and the chart
    does not say female or male."""
    return instrument.needs_sex and sex_for_scoring(patient) is None


def patient_can_answer(instrument: Instrument) -> bool:
    """Only self-report questionnaires whose wording ketacare may show go out by link."""
    return instrument.respondent == "patient" and instrument.item_text_licensed


def open_link(token: str, now: datetime) -> PatientLink:
    """The link behind ``token`` if it can still be answered at ``now``; else LinkError."""
    public_id = links.public_id_from(token)
    link = (
        PatientLink.objects.select_related("patient__clinic").filter(public_id=public_id).first()
        if public_id
        else None
    )
    if link is None:
        raise LinkError("This link is not valid. Please use the latest link your clinic sent.", 404)
    if link.used_at is not None:
        raise LinkError("This questionnaire has already been answered. Thank you.", 410)
    if link.expires_at <= now:
        raise LinkError("This link has expired. Please ask your clinic to send you a new one.", 410)
    return link


@transaction.atomic
def submit_link_response(
    token: str,
    answers: Sequence[int],
    ip: str | None,
    sex: str | None = None,
    *,
    clock: Clock = system_now,
    outbox: Outbox = DELIVER,
) -> QuestionnaireResponse:
    """The patient's answers through a link; the link is used up in the same transaction.
    The patient is the actor, at ``clock``'s time; an alert the answers open is told through
    ``outbox``."""
    link = open_link(token, clock())
    # Lock and re-check, so two submissions racing on one link cannot both be saved.
    link = PatientLink.objects.select_for_update().select_related("patient__clinic").get(pk=link.pk)
    if link.used_at is not None:
        raise LinkError("This questionnaire has already been answered. Thank you.", 410)
    now = clock()
    link.used_at = now
    link.save(update_fields=["used_at"])
    clinic = link.patient.clinic
    actor = Actor(user=None, role="patient", clinic=clinic, ip=ip, clock=clock, outbox=outbox)
    return _save_response(
        actor,
        link.patient,
        link.instrument_id,
        answers,
        now,
        QuestionnaireResponse.Source.PATIENT_LINK,
        sex=sex,
        link=link,
    )


@transaction.atomic
def acknowledge_alert(actor: Actor, alert: SafetyAlert, note: str) -> SafetyAlert:
    """Close the alert with the prescriber's note. Raises AlreadyAcknowledged (carrying the
    first acknowledgement) if someone closed it in the meantime: that note stands."""
    alert = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
    if not alert.is_open:
        raise AlreadyAcknowledged(alert)
    alert.acknowledged_by = actor.user
    alert.acknowledged_at = actor.now()
    alert.acknowledgement_note = note
    alert.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"])
    record(
        actor,
        Action.UPDATE,
        obj=alert,
        object_type="safety_alert",
        patient=alert.patient,
        changes=field_changes({"acknowledged": False}, {"acknowledged": True, "note": note}),
    )
    return alert


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


@transaction.atomic
def send_reminder(actor: Actor, link: PatientLink) -> contact.Refusal | None:
    """Send an unanswered link again, once. Without a current consent to contact the patient
    this way the reminder is not sent, and why is kept on the link (audited); the refusal is
    returned."""
    link = PatientLink.objects.select_for_update().select_related("patient__clinic").get(pk=link.pk)
    if link.reminded_at or link.reminder_not_sent or link.used_at:
        return None
    now = actor.now()
    if link.expires_at <= now or link.channel == PatientLink.Channel.IN_CLINIC:
        return None
    if refused := contact.refusal_for(link.patient, link.channel):
        change = {"reminder_not_sent": {"old": None, "new": refused.code}}
        _save_link(actor, link, "reminder_not_sent", refused.code, change)
        return refused
    hours_left = max(1, int((link.expires_at - now).total_seconds() // 3600))
    url = links.absolute_url(links.token_for(link.public_id))
    body = "Reminder: " + links.message_text(link.patient.clinic.name, url, hours_left)
    if link.channel == PatientLink.Channel.EMAIL:
        actor.outbox.email(link.patient.email, links.subject(link.patient.clinic.name), body)
    else:
        actor.outbox.sms(link.patient.phone, body)
    change = {"reminder_sent": {"old": False, "new": True}}
    _save_link(actor, link, "reminded_at", now, change)
    return None


def _save_link(
    actor: Actor, link: PatientLink, field: str, value: object, changes: dict[str, Any]
) -> None:
    setattr(link, field, value)
    link.save(update_fields=[field])
    record(
        actor,
        Action.UPDATE,
        obj=link,
        object_type="patient_link",
        patient=link.patient,
        clinic=link.patient.clinic,
        changes=changes,
    )


def export_fhir(actor: Actor, patient: Patient) -> dict[str, Any]:
    """The patient's measures as a FHIR Bundle; every export is audited."""
    responses = QuestionnaireResponse.objects.filter(patient=patient).order_by("completed_at", "id")
    bundle = measures_bundle(patient, responses)
    with transaction.atomic():
        record(
            actor,
            Action.EXPORT,
            obj=patient,
            patient=patient,
            clinic=patient.clinic,
            changes={"format": "fhir-r4-bundle", "entries": len(bundle["entry"])},
        )
    return bundle
