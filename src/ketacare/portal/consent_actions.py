"""A patient signs a consent document in the portal.

The consent itself is a ``ConsentRecord`` written through ``patients.actions.write_consent``
(the one write path, which audits its creation), so every gate that reads consents sees it;
beside it, ``SignedConsent`` keeps the exact text the patient read, its SHA-256 and the name
they typed, and a SIGN event records the signing."""

from django.db import transaction
from django.utils.translation import gettext as _

from ketacare.actor import Actor
from ketacare.audit.record import Action
from ketacare.patients.actions import write_consent
from ketacare.patients.consent import latest_consent
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.portal import consent_documents
from ketacare.portal.models import SignedConsent
from ketacare.refusals import ActionRefused
from ketacare.writes import DATABASE

PORTAL_SIGNATURE = " (signed in the patient portal)"
# ConsentRecord.signed_by holds the typed name and the note above in 200 characters.
LONGEST_NAME = 150


class SignRefused(ActionRefused):
    """Nothing was signed; the message says why."""


def clean_name(typed_name: str) -> str:
    """The typed name with runs of spaces made one, and nothing unprintable."""
    return " ".join("".join(ch for ch in typed_name if ch.isprintable()).split())


@transaction.atomic
def sign_consent(
    actor: Actor,
    patient: Patient,
    kind: str,
    version: str,
    sha256: str,
    language: str,
    typed_name: str,
    *,
    agreed: bool,
) -> ConsentRecord:
    """Record that ``patient`` signed the document of ``kind`` they were shown (``version``
    and ``sha256`` as shown, in ``language``). Refused, with nothing written, if that is no
    longer the current text, the agreement box was not ticked or no name was typed. Signing
    the current version again (a second submit) returns the record already made."""
    # The patient's row, locked: two submits of one form queue here, and the second finds
    # the first's record below.
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if kind not in consent_documents.shown_kinds(patient):
        raise SignRefused(_("There is no such consent to sign."))
    current = consent_documents.document(kind, language)
    if current is None or current.version != version or current.sha256 != sha256:
        raise SignRefused(_("The text changed while you were reading; please read it again."))
    if not agreed:
        raise SignRefused(_('Please tick "I have read this and agree" to sign.'))
    name = clean_name(typed_name)
    if not name:
        raise SignRefused(_("Please type your full name to sign."))
    if len(name) > LONGEST_NAME:
        raise SignRefused(
            _("Please type your name in at most %(count)d characters.") % {"count": LONGEST_NAME}
        )
    latest = latest_consent(patient, kind)
    if consent_documents.state_of(latest, current.version) == "signed":
        assert latest is not None
        return latest
    now = actor.now()
    consent = write_consent(
        DATABASE,
        actor,
        patient,
        {
            "kind": kind,
            "version": current.version,
            "decision": ConsentRecord.Decision.GRANTED,
            "signed_at": now,
            "signed_by": name + PORTAL_SIGNATURE,
        },
    )
    signature = DATABASE.add(
        SignedConsent(
            consent=consent,
            document=kind,
            version=current.version,
            language=current.language,
            title=current.title,
            text=current.text,
            text_sha256=current.sha256,
            typed_name=name,
            signed_at=now,
        )
    )
    DATABASE.record(
        actor,
        Action.SIGN,
        obj=consent,
        patient=patient,
        changes={
            "document": kind,
            "version": current.version,
            "language": current.language,
            "text_sha256": current.sha256,
            "typed_name": name,
            "signature": signature.pk,
        },
    )
    return consent
