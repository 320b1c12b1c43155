"""Messages between a patient and their clinic: the patient writes from the portal (a
question, or a request to change an appointment), staff answer from the chart.

Messages are for non-urgent matters: the pages that take them say so and give the crisis
lines. They are never edited or deleted (the database refuses, migration 0002); a correction
is another message. A patient's message is unanswered until the clinic writes after it (by
id: the order they were written in, whatever clock wrote them).

On a reply the patient is told that a message waits, without its content (phones show texts
and email subjects on the lock screen), and only where a questionnaire link could go
(``measures.contact``: the patient's consent to messages by text or email). The reply is
stored first; a failed notification is logged and loses nothing.
"""

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

from ketacare.accounts.permissions import allowed
from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.clinical.datafiles import load
from ketacare.measures import contact
from ketacare.measures.actions.assignments import preferred_channel
from ketacare.outbox import send_or_log
from ketacare.patients.models import Patient
from ketacare.portal.models import PortalMessage
from ketacare.refusals import ActionRefused
from ketacare.reminders.actions import closed_because
from ketacare.scheduling.models import Appointment

Direction = PortalMessage.Direction
# How much of the latest waiting message the staff inbox shows.
PREVIEW_CHARACTERS = 120


class MessageRefused(ActionRefused):
    """A message that was not written (empty, too long, over the day's number, ...)."""


def policy() -> dict[str, Any]:
    return dict(load("portal", "ketacare.portal")["messages"])


def _clean(text: str) -> str:
    """The text as typed, its line breaks kept, without control characters (a NUL would be
    refused by PostgreSQL) and surrounding blank space."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch.isprintable() or ch in "\n\t").strip()


def _checked(text: str, rules: dict[str, Any]) -> str:
    body = _clean(text)
    if not body:
        raise MessageRefused(_("Please write your message."))
    if len(body) > rules["max_characters"]:
        raise MessageRefused(
            _("Please keep your message under %(limit)s characters (it has %(count)s).")
            % {"limit": rules["max_characters"], "count": len(body)}
        )
    return body


def _start_of_day(actor: Actor) -> datetime:
    zone = actor.clinic.zone if actor.clinic is not None else None
    return timezone.make_aware(datetime.combine(actor.today(), time()), zone)


def _write_from_patient(
    actor: Actor,
    patient: Patient,
    body: str,
    appointment: Appointment | None,
    rules: dict[str, Any],
) -> PortalMessage:
    # The patient's row is locked so that two messages sent at once count against the day's
    # number one after the other.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    sent_today = PortalMessage.objects.filter(
        patient=patient, direction=Direction.FROM_PATIENT, sent_at__gte=_start_of_day(actor)
    ).count()
    if sent_today >= rules["per_patient_per_day"]:
        raise MessageRefused(
            _(
                "You have sent %(count)s messages today, as many as the clinic takes in a day. "
                "Please call the clinic, or write again tomorrow."
            )
            % {"count": sent_today}
        )
    message = PortalMessage.objects.create(
        clinic=patient.clinic,
        patient=patient,
        direction=Direction.FROM_PATIENT,
        body=body,
        appointment=appointment,
        sent_at=actor.now(),
    )
    # The audit event says that a message was written, not what it says: the message itself
    # is kept unchanged.
    record(
        actor,
        Action.CREATE,
        obj=message,
        object_type="portal_message",
        patient=patient,
        changes={
            "direction": message.direction,
            "characters": len(body),
            "appointment": appointment.pk if appointment else None,
        },
    )
    return message


@transaction.atomic
def send_message(actor: Actor, patient: Patient, text: str) -> PortalMessage:
    """The patient writes to the clinic."""
    rules = policy()
    return _write_from_patient(actor, patient, _checked(text, rules), None, rules)


@transaction.atomic
def ask_to_change(actor: Actor, patient: Patient, appointment_id: int, text: str) -> PortalMessage:
    """The patient asks to change one of their own appointments that is still to come: a
    message naming it. Another patient's appointment is not found (Appointment.DoesNotExist);
    a past or cancelled one is refused with why."""
    appointment = (
        Appointment.objects.select_related("clinic").filter(pk=appointment_id, patient=patient)
    ).first()
    if appointment is None:
        raise Appointment.DoesNotExist
    if why := closed_because(appointment, actor.now()):
        raise MessageRefused(
            _(why) + " " + _("Please call the clinic if you need to change anything.")
        )
    rules = policy()
    words = _checked(text, rules)
    when = dateformat.format(
        timezone.localtime(appointment.start, appointment.clinic.zone), "l j F Y, H:i"
    )
    body = _("Please change my appointment on %(when)s: %(words)s") % {
        "when": when,
        "words": words,
    }
    return _write_from_patient(actor, patient, body, appointment, rules)


@dataclass(frozen=True)
class Replied:
    """A reply written, and whether the patient is told that it waits: by ``channel``, or
    not, for the reason ``not_told`` (a sentence for staff)."""

    message: PortalMessage
    channel: str | None
    not_told: str


def _write_reply(actor: Actor, patient_id: int, text: str) -> Replied:
    # The permission table decides here too, not only the page: every path to a reply.
    if actor.user is None or not allowed(actor.role, "messages.reply"):
        raise MessageRefused(_("Only the clinic's care team answers patients' messages."))
    assert actor.clinic is not None
    rules = policy()
    body = _checked(text, rules)
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient_id, clinic=actor.clinic)
        message = PortalMessage.objects.create(
            clinic=actor.clinic,
            patient=patient,
            direction=Direction.FROM_CLINIC,
            body=body,
            author=actor.user,
            sent_at=actor.now(),
        )
        channel = preferred_channel(patient)
        refused = contact.refusal_for(patient, channel)
        record(
            actor,
            Action.CREATE,
            obj=message,
            object_type="portal_message",
            patient=patient,
            changes={
                "direction": message.direction,
                "characters": len(body),
                # Whether the patient is told a message waits, or why not.
                "notify_by": channel if refused is None else None,
                "not_notified": refused.code if refused else None,
            },
        )
    if refused is not None:
        return Replied(message, None, refused.message)
    return Replied(message, channel, "")


def reply(actor: Actor, patient_id: int, text: str) -> Replied:
    """A staff member answers the patient (of ``actor``'s clinic; another clinic's is
    Patient.DoesNotExist). The reply is committed before the patient is told."""
    replied = _write_reply(actor, patient_id, text)
    if replied.channel is not None:
        _notify(actor, replied.message.patient, replied.channel)
    return replied


def _notify(actor: Actor, patient: Patient, channel: str) -> None:
    # No name, clinic or content: the lock screen shows it to whoever holds the phone.
    link = settings.KETACARE_BASE_URL.rstrip("/") + reverse(
        "portal-sign-in", args=[patient.clinic_id]
    )
    body = _("A new message is waiting for you in your patient portal: %(link)s") % {"link": link}
    to = patient.email if channel == "email" else patient.phone
    subject = _("A new message in your patient portal")
    # Unsent, the reply is still stored and shows when the patient next signs in.
    send_or_log(actor.outbox, channel, to, subject, body, "A portal message's notice")


def thread(patient: Patient, last: int | None = None) -> list[PortalMessage]:
    """The patient's messages, oldest first (``last``: only the latest so many). One query."""
    messages = PortalMessage.objects.filter(patient=patient).select_related("author", "appointment")
    if last is None:
        return list(messages.order_by("sent_at", "id"))
    return list(reversed(messages.order_by("-sent_at", "-id")[:last]))


def replies_since_last_written(patient: Patient) -> int:
    """How many times the clinic has written since the patient last did. One query."""
    last_own = (
        PortalMessage.objects.filter(patient=OuterRef("patient"), direction=Direction.FROM_PATIENT)
        .order_by("-id")
        .values("id")[:1]
    )
    return (
        PortalMessage.objects.filter(patient=patient, direction=Direction.FROM_CLINIC)
        .annotate(last_own=Subquery(last_own))
        .filter(Q(last_own__isnull=True) | Q(id__gt=F("last_own")))
        .count()
    )


def waiting(clinic_id: int) -> QuerySet[Patient]:
    """The clinic's patients with unanswered messages, longest waiting first: each with
    ``waiting_since`` (their first unanswered message), ``waiting_count`` and ``preview`` (the
    start of the latest). One query."""
    from_patient = Q(portal_messages__direction=Direction.FROM_PATIENT)
    last_reply = (
        PortalMessage.objects.filter(patient=OuterRef("pk"), direction=Direction.FROM_CLINIC)
        .order_by("-id")
        .values("id")[:1]
    )
    latest = (
        PortalMessage.objects.filter(patient=OuterRef("pk"), direction=Direction.FROM_PATIENT)
        .order_by("-id")
        .annotate(preview=Substr("body", 1, PREVIEW_CHARACTERS))
        .values("preview")[:1]
    )
    unanswered = from_patient & (
        Q(last_reply__isnull=True) | Q(portal_messages__id__gt=F("last_reply"))
    )
    return (
        Patient.objects.filter(clinic_id=clinic_id)
        .annotate(last_reply=Subquery(last_reply))
        .annotate(
            waiting_since=Min("portal_messages__sent_at", filter=unanswered),
            waiting_count=Count("portal_messages", filter=unanswered),
        )
        .filter(waiting_count__gt=0)
        .annotate(preview=Subquery(latest))
        .only("id", "mrn", "given_name", "family_name", "date_of_birth")
        .order_by("waiting_since", "id")
    )
