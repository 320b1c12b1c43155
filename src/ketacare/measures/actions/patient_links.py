"""Single-use links to a questionnaire: made and sent, answered by the patient, reminded."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from ketacare.actor import Actor, Clock, FixedClock, system_now
from ketacare.audit.record import Action, field_changes
from ketacare.clinical.instruments import Instrument, get
from ketacare.measures import contact, links
from ketacare.measures.actions.responses import write_response
from ketacare.measures.actions.safety import tell_alerts
from ketacare.measures.models import PatientLink, QuestionnaireResponse, SafetyAlert
from ketacare.outbox import DELIVER, Outbox
from ketacare.patients.models import Patient
from ketacare.refusals import ActionRefused
from ketacare.writes import DATABASE, Writes


class LinkError(ActionRefused):
    """A patient link that cannot be used; the message is safe to show the patient."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def patient_can_answer(instrument: Instrument) -> bool:
    """Only self-report questionnaires whose wording ketacare may show go out by link."""
    return instrument.respondent == "patient" and instrument.item_text_licensed


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
    # Written (and audited) first: a message must never carry a link whose record could
    # still roll back.
    link = write_link(DATABASE, actor, patient, instrument.id, channel)
    hours = settings.KETACARE_LINK_EXPIRY_HOURS
    url = links.absolute_url(links.token_for(link.public_id))
    body = links.message_text(patient.clinic.name, url, hours)
    if channel == PatientLink.Channel.EMAIL:
        actor.outbox.email(patient.email, links.subject(patient.clinic.name), body)
    elif channel == PatientLink.Channel.SMS:
        actor.outbox.sms(patient.phone, body)
    return link, url


def write_link(
    writes: Writes, actor: Actor, patient: Patient, instrument_id: str, channel: str
) -> PatientLink:
    """What making a link writes (its sending is the action's): the link, valid for the
    configured hours from now."""
    now = actor.now()
    link = writes.add(
        PatientLink(
            patient=patient,
            instrument_id=instrument_id,
            channel=channel,
            created_by=actor.user,
            created_at=now,
            expires_at=now + timedelta(hours=settings.KETACARE_LINK_EXPIRY_HOURS),
        )
    )
    writes.record(
        actor,
        Action.CREATE,
        obj=link,
        object_type="patient_link",
        patient=patient,
        changes=field_changes({}, {"instrument": instrument_id, "channel": channel}),
    )
    return link


def open_link(token: str, now: datetime) -> PatientLink:
    """The link behind ``token`` if it can still be answered at ``now``; else LinkError."""
    public_id = links.public_id_from(token)
    link = (
        PatientLink.objects.select_related("patient__clinic").filter(public_id=public_id).first()
        if public_id
        else None
    )
    if link is None:
        raise LinkError(
            _("This link is not valid. Please use the latest link your clinic sent."), 404
        )
    if link.used_at is not None:
        raise LinkError(_("This questionnaire has already been answered. Thank you."), 410)
    if link.expires_at <= now:
        raise LinkError(
            _("This link has expired. Please ask your clinic to send you a new one."), 410
        )
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
        raise LinkError(_("This questionnaire has already been answered. Thank you."), 410)
    response, alerts = write_answer_link(DATABASE, link, answers, clock(), ip=ip, sex=sex)
    tell_alerts(alerts, clock, outbox)
    return response


def write_answer_link(
    writes: Writes,
    link: PatientLink,
    answers: Sequence[int],
    now: datetime,
    *,
    ip: str | None = None,
    sex: str | None = None,
) -> tuple[QuestionnaireResponse, list[SafetyAlert]]:
    """What the patient's answers through an open link write, at ``now``: the link used up,
    and the response with its alerts (``write_response``), the patient as the actor."""
    link.used_at = now
    writes.save(link, "used_at")
    patient = link.patient
    actor = Actor(user=None, role="patient", clinic=patient.clinic, ip=ip, clock=FixedClock(now))
    return write_response(
        writes,
        actor,
        patient,
        link.instrument_id,
        answers,
        now,
        QuestionnaireResponse.Source.PATIENT_LINK,
        sex=sex,
        link=link,
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
    if link.expires_at <= now or link.channel in PatientLink.SILENT:
        return None
    if refused := contact.refusal_for(link.patient, link.channel):
        change = {"reminder_not_sent": {"old": None, "new": refused.code}}
        _save_link(DATABASE, actor, link, "reminder_not_sent", refused.code, change)
        return refused
    hours_left = max(1, int((link.expires_at - now).total_seconds() // 3600))
    url = links.absolute_url(links.token_for(link.public_id))
    body = "Reminder: " + links.message_text(link.patient.clinic.name, url, hours_left)
    if link.channel == PatientLink.Channel.EMAIL:
        actor.outbox.email(link.patient.email, links.subject(link.patient.clinic.name), body)
    else:
        actor.outbox.sms(link.patient.phone, body)
    write_reminded(DATABASE, actor, link)
    return None


def write_reminded(writes: Writes, actor: Actor, link: PatientLink) -> None:
    """What a reminder sent writes (its sending is the action's): when, on the link."""
    change = {"reminder_sent": {"old": False, "new": True}}
    _save_link(writes, actor, link, "reminded_at", actor.now(), change)


def _save_link(
    writes: Writes,
    actor: Actor,
    link: PatientLink,
    field: str,
    value: object,
    changes: dict[str, Any],
) -> None:
    setattr(link, field, value)
    writes.save(link, field)
    writes.record(
        actor,
        Action.UPDATE,
        obj=link,
        object_type="patient_link",
        patient=link.patient,
        clinic=link.patient.clinic,
        changes=changes,
    )
