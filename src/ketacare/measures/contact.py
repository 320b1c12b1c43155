"""May a questionnaire link, or its reminder, go to this patient by text or email?

One decision for every path that sends a message: the send form and a direct POST (both
through ``actions.create_link``), the reminder (``actions.send_reminder``) and the scheduled
dispatch (``dispatch.py``, ``ketacare send_questionnaires``). A message goes out only while the
patient's latest consent to questionnaires by text/email link (latest by signing time) is
granted, and only to an address on record. A link opened on a clinic device sends nothing and
needs neither."""

from dataclasses import dataclass

from ketacare.measures.models import PatientLink
from ketacare.patients.consent import latest_consent
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.refusals import ActionRefused


@dataclass(frozen=True)
class Refusal:
    """Why nothing may be sent, and where the missing thing is recorded."""

    code: str
    """Kept on the assignment or link and in the audit trail; never shown on a page."""
    message: str
    """What staff read: a sentence without its full stop."""
    fix_url_name: str
    """The form that records what is missing (its URL takes the patient's pk)."""
    fix_label: str
    fix_query: str = ""
    """Added to that URL: the consent form opens on the kind of consent that is missing."""


NO_CONSENT = Refusal(
    "no_contact_consent",
    "No consent to send questionnaires by text or email is on record",
    "consent-new",
    "Record the consent",
    "?kind=" + ConsentRecord.Kind.MEASUREMENT_LINKS,
)
CONSENT_WITHDRAWN = Refusal(
    "contact_consent_withdrawn",
    "The patient has withdrawn consent to questionnaires by text or email",
    "consent-new",
    "Record a new consent",
    "?kind=" + ConsentRecord.Kind.MEASUREMENT_LINKS,
)
NO_PHONE = Refusal("no_phone", "No phone number is on record", "patient-edit", "Add a phone number")
NO_EMAIL = Refusal(
    "no_email", "No email address is on record", "patient-edit", "Add an email address"
)
NO_ADDRESS = Refusal(
    "no_phone_or_email",
    "No phone number or email address is on record",
    "patient-edit",
    "Add a phone number or email address",
)
REFUSALS = {r.code: r for r in (NO_CONSENT, CONSENT_WITHDRAWN, NO_PHONE, NO_EMAIL, NO_ADDRESS)}


class ContactRefused(ActionRefused):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def refusal(channel: str | None, consent: str | None, phone: str, email: str) -> Refusal | None:
    """Why a message may not go out by ``channel`` (None when the patient has no channel),
    given the decision of the latest contact consent (None if none was ever recorded) and the
    phone and email on record; None if it may."""
    if channel in PatientLink.SILENT:
        return None
    if consent is None:
        return NO_CONSENT
    if consent != ConsentRecord.Decision.GRANTED:
        return CONSENT_WITHDRAWN
    if channel == PatientLink.Channel.SMS and not phone:
        return NO_PHONE
    if channel == PatientLink.Channel.EMAIL and not email:
        return NO_EMAIL
    if channel is None:
        return NO_ADDRESS
    return None


def refusal_for(patient: Patient, channel: str | None) -> Refusal | None:
    """``refusal`` for this patient as the database has them now."""
    consent = latest_consent(patient, ConsentRecord.Kind.MEASUREMENT_LINKS)
    return refusal(channel, consent.decision if consent else None, patient.phone, patient.email)


def check(patient: Patient, channel: str | None) -> None:
    """Raise ContactRefused unless a message may go to ``patient`` by ``channel``."""
    if refused := refusal_for(patient, channel):
        raise ContactRefused(refused)
