"""What a signed-in patient does in the portal, through the owners' own actions: a
questionnaire is answered through a questionnaire link (``measures``), an appointment is
confirmed as by the reminder's link (``reminders.actions.patient_confirms``)."""

from django.db import transaction

from ketacare.actor import Actor
from ketacare.clinical.instruments import get
from ketacare.measures import links
from ketacare.measures.actions import patient_can_answer, write_link
from ketacare.measures.models import PatientLink
from ketacare.patients.models import Patient
from ketacare.portal.overview import due_questionnaires
from ketacare.refusals import ActionRefused
from ketacare.reminders.actions import locked_open, patient_confirms
from ketacare.scheduling.models import Appointment
from ketacare.writes import DATABASE


@transaction.atomic
def open_questionnaire(actor: Actor, patient: Patient, instrument_id: str) -> str:
    """The token of the link the patient answers ``instrument_id`` by: the open one already
    sent, else a new portal link (nothing sent). Only what is due may be opened."""
    due = {d.instrument_id: d for d in due_questionnaires(patient, actor.now())}
    if instrument_id not in due:
        raise ActionRefused("This questionnaire is not due. Thank you.")
    assert patient_can_answer(get(instrument_id))  # due_questionnaires lists only those
    public_id = due[instrument_id].link_public_id
    if public_id is None:
        link = write_link(DATABASE, actor, patient, instrument_id, PatientLink.Channel.PORTAL)
        public_id = link.public_id
    return links.token_for(public_id)


@transaction.atomic
def confirm_appointment(actor: Actor, patient: Patient, appointment_id: int) -> Appointment:
    """The patient confirms one of their own appointments (another's is not found)."""
    if not Appointment.objects.filter(pk=appointment_id, patient=patient).exists():
        raise Appointment.DoesNotExist
    appointment = locked_open(appointment_id, actor.clock)
    return patient_confirms(appointment, actor.ip, actor.clock, "in the portal")
