"""The demo's portal patient: one of the demo clinic's patients with an appointment coming
and an email address, given a questionnaire due today so the portal has something to do.
``ketacare demo`` prints how to sign in as them (the code arrives in the demo's outbox)."""

from django.conf import settings
from django.utils import timezone

from ketacare.accounts.models import Clinic, Membership
from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
from ketacare.measures.actions import assign_instrument
from ketacare.outbox import DISCARD
from ketacare.patients.models import Patient
from ketacare.portal import messaging
from ketacare.portal.overview import OPEN_STATES
from ketacare.scheduling.models import Appointment

# Due today in the portal (the intake questionnaires' kind: once).
DUE = "gad7"


def portal_patient(clinic: Clinic) -> Patient | None:
    """The demo's portal patient: the first with an email and an appointment to come."""
    upcoming = (
        Appointment.objects.filter(
            clinic=clinic, state__in=OPEN_STATES, start__gt=timezone.now(), patient__email__gt=""
        )
        .select_related("patient__clinic")
        .order_by("patient_id")
        .first()
    )
    return upcoming.patient if upcoming is not None else None


def seed(clinic: Clinic) -> Patient | None:
    """Give the portal patient a GAD-7 due today (once) and a conversation with the clinic:
    a question answered by the coordinator, and a request to change an appointment waiting
    in the staff inbox. Nothing if already given."""
    patient = portal_patient(clinic)
    if patient is None or patient.assignments.filter(instrument_id=DUE, active=True).exists():
        return patient
    membership = Membership.objects.filter(
        clinic=clinic, role=Role.COORDINATOR, active=True
    ).first()
    assert membership is not None, "the demo clinic has a coordinator"
    # The demo's messages go nowhere: the people are fictional.
    coordinator = Actor(user=membership.user, role=membership.role, clinic=clinic, outbox=DISCARD)
    assign_instrument(coordinator, patient, DUE, "once", coordinator.today())
    as_patient = Actor(user=None, role="patient", clinic=clinic, outbox=DISCARD)
    messaging.send_message(
        as_patient, patient, "Can I drive myself home after the next session, or do I need a lift?"
    )
    messaging.reply(
        coordinator,
        patient.pk,
        "Please arrange a lift: no driving until the next day after a night's sleep. "
        "We can help find transport if that is hard.",
    )
    upcoming = (
        Appointment.objects.filter(patient=patient, state__in=OPEN_STATES, start__gt=timezone.now())
        .order_by("-start")
        .first()
    )
    if upcoming is not None:
        messaging.ask_to_change(
            as_patient, patient, upcoming.pk, "Could this be in the afternoon? I work mornings."
        )
    return patient


def sign_in_hint(patient: Patient, base_url: str) -> str:
    """What ``ketacare demo`` prints: where to sign in, as whom, and where the code arrives."""
    return (
        f"  {base_url}/portal/clinic/{patient.clinic_id}/ — type {patient.email}; the one-time "
        f"code arrives as an email in {settings.DATA_DIR / 'outbox'} (the demo's mail)."
    )
