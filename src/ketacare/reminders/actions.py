"""Every change the reminders make: a clinic's reminder policy, one reminder sent (or
skipped, or failed) and its delivery row, a patient's answer by the reminder's link (confirm,
cancel, stop reminders), and a STOP or START texted back. Each in one transaction with its
audit event; a refusal writes nothing."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from ketacare.actor import Actor, Clock, system_now
from ketacare.audit.record import Action, field_changes
from ketacare.patients.models import Patient
from ketacare.patients.phones import digits, with_phone
from ketacare.refusals import ActionRefused
from ketacare.reminders import links
from ketacare.reminders.models import Channel, Delivery, OptOut, ReminderSettings
from ketacare.reminders.queries import stopped
from ketacare.reminders.rules import Policy
from ketacare.scheduling.actions.appointments import write_change
from ketacare.scheduling.actions.common import may
from ketacare.scheduling.models import Appointment
from ketacare.writes import DATABASE

State = Appointment.State
# The states in which an appointment is still to come and may be reminded of.
REMINDED = (State.BOOKED, State.CONFIRMED)
CANCELLED_BY_LINK = "Cancelled by the patient by the reminder link"


class ReminderError(ActionRefused):
    """A refused reminder action; the message says why. Nothing was written."""


class LinkError(ActionRefused):
    """A reminder link that cannot be used; the message is safe to show the patient."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@transaction.atomic
def save_settings(
    actor: Actor, *, lead_hours: list[int], channels: list[str], late_cancel_hours: int
) -> ReminderSettings:
    """Set the clinic's reminder policy (its change to the defaults), audited."""
    try:
        may(actor, "reminders.setup")
    except ActionRefused as refusal:
        raise ReminderError(str(refusal)) from None
    try:
        policy = Policy(
            tuple(sorted(set(lead_hours), reverse=True)), tuple(channels), late_cancel_hours
        )
    except ValueError as problem:
        raise ReminderError(str(problem)) from None
    assert actor.clinic is not None and actor.user is not None
    row = ReminderSettings.objects.select_for_update().filter(clinic=actor.clinic).first()
    before = (
        {}
        if row is None
        else {
            "lead_hours": row.lead_hours,
            "channels": row.channels,
            "late_cancel_hours": row.late_cancel_hours,
        }
    )
    after = {
        "lead_hours": list(policy.lead_hours),
        "channels": list(policy.channels),
        "late_cancel_hours": policy.late_cancel_hours,
    }
    if row is None:
        row = ReminderSettings(clinic=actor.clinic)
    for field, value in after.items():
        setattr(row, field, value)
    row.updated_by, row.updated_at = actor.user, actor.now()
    row.save()
    DATABASE.record(
        actor,
        Action.UPDATE if before else Action.CREATE,
        obj=row,
        object_type="reminder_settings",
        changes=field_changes(before, after),
    )
    return row


@dataclass(frozen=True)
class Outcome:
    status: str
    detail: str = ""


@transaction.atomic
def send_reminder(actor: Actor, appointment_id: int, lead_hours: int, channel: str) -> Outcome:
    """Send the reminder of ``appointment_id`` at ``lead_hours`` by ``channel`` through the
    actor's outbox, and write its delivery row (and audit event) in the same transaction:
    the row is what stops it being sent twice. Nothing is done if it was sent or skipped
    already, or the appointment is no longer to come. A patient who stopped this channel, or
    has no address for it, is skipped. A provider's error is caught and the row marked
    failed with it (the caller decides whether the job fails)."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("clinic", "patient")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None or appointment.state not in REMINDED:
        return Outcome("none")
    if appointment.start <= actor.now():
        return Outcome("none")
    row = (
        Delivery.objects.select_for_update()
        .filter(
            appointment=appointment,
            start=appointment.start,
            lead_hours=lead_hours,
            channel=channel,
        )
        .first()
    )
    if row is not None and row.status != Delivery.Status.FAILED:
        return Outcome("none")
    patient = appointment.patient
    address = patient.phone if channel == Channel.SMS else patient.email
    status, detail = Delivery.Status.SENT, ""
    if (patient.pk, channel) in stopped([patient.pk]):
        status, detail = Delivery.Status.SKIPPED, "The patient stopped these reminders."
    elif not address:
        what = "phone number" if channel == Channel.SMS else "email address"
        status, detail = Delivery.Status.SKIPPED, f"No {what} on record."
    else:
        clinic = appointment.clinic
        body = links.message_text(
            clinic.name,
            appointment.start,
            clinic.zone,
            links.absolute_url(appointment.pk),
            sms=channel == Channel.SMS,
        )
        try:
            if channel == Channel.SMS:
                actor.outbox.sms(address, body)
            else:
                actor.outbox.email(address, links.subject(clinic.name), body)
        except Exception as error:  # any provider's failure is recorded
            status = Delivery.Status.FAILED
            detail = f"{type(error).__name__}: {error}"[:200]
    now = actor.now()
    if row is None:
        row = Delivery(
            clinic=appointment.clinic,
            appointment=appointment,
            start=appointment.start,
            lead_hours=lead_hours,
            channel=channel,
            created_at=now,
        )
    before = {} if row.pk is None else {"status": row.status, "detail": row.detail}
    row.status, row.detail, row.updated_at = status, detail, now
    row.attempts += status != Delivery.Status.SKIPPED
    row.save()
    DATABASE.record(
        actor,
        Action.UPDATE if before else Action.CREATE,
        obj=row,
        object_type="reminder_delivery",
        patient=patient,
        clinic=appointment.clinic,
        changes=field_changes(
            before,
            {"appointment": appointment.pk, "lead_hours": lead_hours, "channel": channel}
            | {"status": status, "detail": detail},
        ),
    )
    return Outcome(status, detail)


# The patient's answers by the reminder's link. The patient acts, with no user: as a
# questionnaire link's answers do (measures.actions.patient_links).


def patient_actor(appointment: Appointment, ip: str | None, clock: Clock) -> Actor:
    return Actor(user=None, role="patient", clinic=appointment.clinic, ip=ip, clock=clock)


def open_link(token: str) -> Appointment:
    """The appointment behind ``token``; LinkError (404) if the token is not ours."""
    appointment_id = links.appointment_id_from(token)
    appointment = (
        Appointment.objects.select_related("clinic", "patient").filter(pk=appointment_id).first()
        if appointment_id is not None
        else None
    )
    if appointment is None:
        raise LinkError(
            _("This link is not valid. Please use the latest link your clinic sent."), 404
        )
    return appointment


def closed_because(appointment: Appointment, now: datetime) -> str:
    """Why the patient can no longer confirm or cancel by link, or ""."""
    if appointment.state == State.CANCELLED:
        return _("This appointment was cancelled.")
    if appointment.state == State.NEEDS_REBOOKING:
        return _("This appointment has to move to another time; the clinic will contact you.")
    if appointment.state not in REMINDED or appointment.start <= now:
        return _("This appointment has passed.")
    return ""


def _locked(token: str, clock: Clock) -> Appointment:
    return locked_open(open_link(token).pk, clock)


def locked_open(appointment_id: int, clock: Clock) -> Appointment:
    """The appointment, row-locked, if the patient may still confirm or cancel it; else
    LinkError with why."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("clinic", "patient", "chair")
        .get(pk=appointment_id)
    )
    if why := closed_because(appointment, clock()):
        raise LinkError(
            why + " " + _("Please call the clinic if you need to change anything."), 410
        )
    return appointment


@transaction.atomic
def confirm_by_link(token: str, ip: str | None, *, clock: Clock = system_now) -> Appointment:
    """The patient confirms they will come: booked → confirmed (already confirmed: nothing)."""
    return patient_confirms(_locked(token, clock), ip, clock, "by the reminder link")


def patient_confirms(
    appointment: Appointment, ip: str | None, clock: Clock, how: str
) -> Appointment:
    """The one way a patient confirms (by the reminder's link or in the portal, ``how``):
    the appointment, locked by ``locked_open``, booked → confirmed; already confirmed: nothing."""
    if appointment.state == State.CONFIRMED:
        return appointment
    write_change(
        DATABASE,
        patient_actor(appointment, ip, clock),
        appointment,
        state=State.CONFIRMED,
        start=appointment.start,
        end=appointment.end,
        chair=appointment.chair,
        reason=f"Confirmed by the patient {how}",
    )
    return appointment


@transaction.atomic
def cancel_by_link(
    token: str, reason: str, ip: str | None, *, clock: Clock = system_now
) -> Appointment:
    """The patient cancels, in their words if they gave any; the chair is free again."""
    words = " ".join((reason or "").split())[:500]
    appointment = _locked(token, clock)
    write_change(
        DATABASE,
        patient_actor(appointment, ip, clock),
        appointment,
        state=State.CANCELLED,
        start=appointment.start,
        end=appointment.end,
        chair=appointment.chair,
        reason=f"{CANCELLED_BY_LINK}: {words}" if words else CANCELLED_BY_LINK,
    )
    return appointment


def _write_opt_out(
    actor: Actor, patient: Patient, channel: str, is_stopped: bool, source: str
) -> OptOut:
    row = OptOut.objects.create(
        patient=patient,
        channel=channel,
        stopped=is_stopped,
        source=source,
        recorded_at=actor.now(),
    )
    DATABASE.record(
        actor,
        Action.CREATE,
        obj=row,
        object_type="reminder_opt_out",
        patient=patient,
        clinic=patient.clinic,
        changes=field_changes({}, {"channel": channel, "stopped": is_stopped, "source": source}),
    )
    return row


@transaction.atomic
def stop_by_link(token: str, ip: str | None, *, clock: Clock = system_now) -> Patient:
    """The patient stops every reminder, text and email (works for a past appointment's
    link too: stopping must never be refused)."""
    appointment = open_link(token)
    actor = patient_actor(appointment, ip, clock)
    for channel in Channel.values:
        _write_opt_out(actor, appointment.patient, channel, True, OptOut.Source.LINK)
    return appointment.patient


@transaction.atomic
def record_sms_keyword(phone: str, keyword: str, *, clock: Clock = system_now) -> list[Patient]:
    """STOP (or START) texted from ``phone``: text reminders stop (or start again) for every
    patient with that number, in any clinic. Returns those patients."""
    number = digits(phone)
    if len(number) < 7:
        return []
    patients = with_phone(Patient.objects.select_related("clinic"), number)
    for patient in patients:
        actor = Actor(user=None, role="patient", clinic=patient.clinic, clock=clock)
        _write_opt_out(actor, patient, Channel.SMS, keyword == "stop", OptOut.Source.SMS_KEYWORD)
    return patients


def local_when(appointment: Appointment) -> str:
    return links.when(appointment.start, appointment.clinic.zone)
