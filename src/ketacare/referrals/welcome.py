"""Telling a person accepted from the intake queue where their patient portal is, so that
they find the intake questionnaires waiting there: by the way they asked to be contacted,
and only if the referral says they agreed to be contacted.

Email where they gave one and did not ask for texts; else a text to the phone. The message
names the clinic and the portal's address, nothing else (a lock screen shows it). Sent after
the acceptance commits, so that no message announces a patient who was never registered;
what was sent, and how, is audited on the patient."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.outbox import send_or_log
from ketacare.patients.models import Patient
from ketacare.referrals.models import Referral


def channel_for(referral: Referral) -> str | None:
    """ "email", "sms" or None: how the person may be told, from what the referral says."""
    if not referral.consent_to_contact:
        return None
    wants_text = referral.preferred_contact == Referral.Contact.TEXT
    if referral.email and not (wants_text and referral.phone):
        return "email"
    if referral.phone:
        return "sms"
    return None


def invite_to_portal(actor: Actor, referral: Referral, patient: Patient) -> str | None:
    """Arrange the invitation (call inside the acceptance's transaction); returns the
    channel, or None when the person may not or cannot be told."""
    channel = channel_for(referral)
    if channel is None:
        return None
    url = settings.KETACARE_BASE_URL.rstrip("/") + reverse(
        "portal-sign-in", args=[patient.clinic_id]
    )
    body = (
        f"{patient.clinic.name} has opened your patient portal, with a few questions to answer "
        f"before your first visit: {url} (you sign in with a code sent to this "
        f"{'email address' if channel == 'email' else 'phone'})."
    )
    record(
        actor,
        Action.CREATE,
        object_type="portal_invitation",
        patient=patient,
        changes={"channel": channel, "referral": referral.pk},
    )
    outbox = actor.outbox
    to = referral.email if channel == "email" else referral.phone
    subject = f"A message from {patient.clinic.name}"

    # Unsent, the acceptance stands: the coordinator has the person on the phone anyway.
    transaction.on_commit(
        lambda: send_or_log(outbox, channel, to, subject, body, "A portal invitation")
    )
    return channel
