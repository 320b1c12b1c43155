"""What the portal's home page shows a patient: their coming appointments, the
questionnaires they have to answer and the consents they have to sign. Reads only; each list
is one or two queries."""

from dataclasses import dataclass
from datetime import datetime

from ketacare.clinical.instruments import get
from ketacare.measures.actions import patient_can_answer
from ketacare.measures.dispatch import due_assignments
from ketacare.measures.models import PatientLink
from ketacare.patients.models import Patient
from ketacare.portal.consent_documents import Document, to_sign
from ketacare.scheduling.models import Appointment

# The states in which a patient may still confirm or ask to change an appointment.
OPEN_STATES = (Appointment.State.BOOKED, Appointment.State.CONFIRMED)


@dataclass(frozen=True)
class Due:
    """A questionnaire the patient has to answer: its id and name, and the open link already
    sent for it, if any (the portal answers through the same link)."""

    instrument_id: str
    name: str
    sent_at: datetime | None
    link_public_id: str | None


@dataclass(frozen=True)
class Overview:
    appointments: list[Appointment]
    due: list[Due]
    consents: list[Document]


def upcoming(patient: Patient, now: datetime) -> list[Appointment]:
    return list(
        Appointment.objects.filter(patient=patient, state__in=OPEN_STATES, start__gt=now)
        .select_related("clinic")
        .order_by("start")
    )


def due_questionnaires(patient: Patient, now: datetime) -> list[Due]:
    """Open links first (already sent; the newest of an instrument), then what is due and not
    sent yet: one entry per questionnaire."""
    found: dict[str, Due] = {}
    for link in PatientLink.objects.filter(
        patient=patient, used_at__isnull=True, expires_at__gt=now
    ).order_by("-created_at"):  # the newest open link, where several are
        instrument = get(link.instrument_id)
        if patient_can_answer(instrument) and link.instrument_id not in found:
            found[link.instrument_id] = Due(
                link.instrument_id, instrument.name, link.created_at, link.public_id
            )
    for assignment in due_assignments(now, patient):
        if assignment.instrument_id not in found:
            name = get(assignment.instrument_id).name
            found[assignment.instrument_id] = Due(assignment.instrument_id, name, None, None)
    return list(found.values())


def overview(patient: Patient, now: datetime) -> Overview:
    return Overview(upcoming(patient, now), due_questionnaires(patient, now), to_sign(patient))
