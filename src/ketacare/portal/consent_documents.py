"""The consent documents a patient reads and signs in the portal (``data/consents.toml``), and
which of them a patient has still to sign.

A document is "to sign" when the patient's latest consent record of its kind (the one every
gate reads, ``patients.consent.latest_consent``) is missing, withdrawn, or of another version
than the document's current one (a record made on paper by staff carries the clinic's paper
form's version, so the patient is asked to sign the portal's text too).

The esketamine documents (treatment and REMS enrolment) are shown only to a patient for whom
esketamine is in question: a draft or signed treatment plan under an esketamine protocol, or a
record of either kind already on the chart. Everything else is shown to every patient.
"""

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db.models import prefetch_related_objects
from django.utils import translation

from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.library import get_protocol
from ketacare.patients.consent import latest_consent
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.planning.models import TreatmentPlan

DEFAULT_LANGUAGE = "en"
ESKETAMINE_KINDS = frozenset(
    {ConsentRecord.Kind.TREATMENT_ESKETAMINE, ConsentRecord.Kind.REMS_ENROLLMENT}
)


@dataclass(frozen=True)
class Document:
    """One consent document as shown in one language."""

    kind: str
    version: str
    language: str
    title: str
    text: str

    @property
    def sha256(self) -> str:
        return text_digest(self.text)

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.text.split("\n\n") if p.strip()]


@dataclass(frozen=True)
class Status:
    """A document and where the patient stands with it."""

    document: Document
    latest: ConsentRecord | None
    state: str
    """"missing", "withdrawn", "older" (another version) or "signed" (the current one)."""

    @property
    def to_sign(self) -> bool:
        return self.state != "signed"


def text_digest(text: str) -> str:
    """The SHA-256 of the exact text (UTF-8), as kept with what was signed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _data() -> dict[str, Any]:
    data = load("consents", "ketacare.portal")
    documents: dict[str, Any] = data["documents"]
    unknown = set(documents) - set(ConsentRecord.Kind.values)
    if unknown:
        raise ValueError(f"consents.toml names no consent kind: {sorted(unknown)}")
    return documents


def kinds() -> list[str]:
    """Every kind that has a document, in the data file's order."""
    return list(_data())


def language_of(requested: str | None = None) -> str:
    """``requested`` (else the active language) if the documents are written in it, else
    English."""
    code = (requested or translation.get_language() or DEFAULT_LANGUAGE).split("-")[0]
    return code if code in languages() else DEFAULT_LANGUAGE


def languages() -> list[str]:
    return [key for key, value in next(iter(_data().values())).items() if isinstance(value, dict)]


def document(kind: str, language: str | None = None) -> Document | None:
    """The current document of ``kind`` in ``language`` (the active one by default), or
    None if there is no document of that kind or in that language."""
    entry = _data().get(kind)
    if entry is None:
        return None
    code = language if language is not None else language_of()
    text = entry.get(code)
    if not isinstance(text, dict):
        return None
    return Document(kind, str(entry["version"]), code, text["title"], text["text"].strip())


def state_of(latest: ConsentRecord | None, version: str) -> str:
    """Where a patient whose latest record of a kind is ``latest`` stands with the document
    of that kind at ``version``."""
    if latest is None:
        return "missing"
    if latest.decision != ConsentRecord.Decision.GRANTED:
        return "withdrawn"
    return "signed" if latest.version == version else "older"


def esketamine_in_question(patient: Patient) -> bool:
    """Whether the patient has a draft or signed plan under an esketamine protocol, or a
    record of an esketamine consent already. One query for the plans (the consents are read
    from ``patient.consents``, as the gates read them)."""
    if any(c.kind in ESKETAMINE_KINDS for c in patient.consents.all()):
        return True
    protocols = (
        TreatmentPlan.objects.filter(patient=patient)
        .exclude(state=TreatmentPlan.State.DISCARDED)
        .values_list("protocol_id", flat=True)
        .distinct()
    )
    return any(get_protocol(protocol_id).drug == "esketamine" for protocol_id in protocols)


def shown_kinds(patient: Patient) -> list[str]:
    """The kinds of document the patient is shown, in the data file's order."""
    esketamine = esketamine_in_question(patient)
    return [kind for kind in kinds() if esketamine or kind not in ESKETAMINE_KINDS]


def statuses(patient: Patient, language: str | None = None) -> list[Status]:
    """Every document the patient is shown, with where they stand."""
    # The consents once, not a query per kind (``latest_consent`` reads the prefetch).
    prefetch_related_objects([patient], "consents")
    code = language_of(language)
    found = []
    for kind in shown_kinds(patient):
        current = document(kind, code)
        assert current is not None  # every document is written in every language (tests)
        latest = latest_consent(patient, kind)
        found.append(Status(current, latest, state_of(latest, current.version)))
    return found


def to_sign(patient: Patient, language: str | None = None) -> list[Document]:
    """The documents the patient has still to sign."""
    return [status.document for status in statuses(patient, language) if status.to_sign]
