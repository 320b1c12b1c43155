"""Whether a patient has a current consent: the latest record of its kind (by the time it was
signed) decides, so a withdrawal after a grant takes it back and a new grant restores it.

Planning asks it before a plan is signed, the dosing day at check-in: one answer for both."""

from django.utils import timezone

from ketacare.patients.models import ConsentRecord, Patient

# The consent a treatment with each drug needs (drug as the protocol library names it).
TREATMENT_CONSENT = {
    "racemic_ketamine": ConsentRecord.Kind.TREATMENT_KETAMINE,
    "esketamine": ConsentRecord.Kind.TREATMENT_ESKETAMINE,
}


def latest_consent(patient: Patient, kind: str) -> ConsentRecord | None:
    """The latest record of ``kind``. Read from ``patient.consents``, so that a page listing
    many patients answers from one prefetch (``prefetch_related("patient__consents")``)
    instead of a query each; a patient keeps a handful of consent records."""
    records = [c for c in patient.consents.all() if c.kind == kind]
    return max(records, key=lambda c: (c.signed_at, c.pk), default=None)


def consent_problem(patient: Patient, kind: str) -> str | None:
    """Why the patient has no current consent of ``kind`` (a sentence), or None if they have."""
    label = str(ConsentRecord.Kind(kind).label)
    what = label[:1].lower() + label[1:]  # "Esketamine REMS …" → "esketamine REMS …"
    consent = latest_consent(patient, kind)
    if consent is None:
        return f"No consent to {what} is recorded."
    if consent.decision != ConsentRecord.Decision.GRANTED:
        withdrawn = timezone.localtime(consent.signed_at)
        return f"Consent to {what} was withdrawn on {withdrawn:%Y-%m-%d}."
    return None


def treatment_consent_problem(patient: Patient, drug: str) -> str | None:
    """Why the patient may not yet be treated with ``drug`` for want of consent, or None."""
    return consent_problem(patient, TREATMENT_CONSENT[drug])
