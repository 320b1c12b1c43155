"""A clinic in Chicago with a chair and a patient with a phone and an email, booked for a
follow-up in the chair on Wednesday 2 December 2026 at 09:00 (local) by a coordinator acting the
Friday before; texts go to the recording backend, emails to Django's test outbox."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse

from ketacare.accounts.models import Clinic
from ketacare.accounts.permissions import Role
from ketacare.reminders import links
from ketacare.scheduling import actions as scheduling
from tests.conftest import actor, make_patient
from tests.reminders.sms import RecordingBackend

CHICAGO = ZoneInfo("America/Chicago")
BOOKED_AT = datetime(2026, 11, 27, 17, 0, tzinfo=CHICAGO)  # the Friday before
START = datetime(2026, 12, 2, 9, 0, tzinfo=CHICAGO)  # Wednesday 09:00 CST
PHONE, EMAIL = "+1 (312) 555-0142", "ada@example.org"


@pytest.fixture(autouse=True)
def recorded_texts(settings):
    settings.KETACARE_SMS_BACKEND = "tests.reminders.sms.RecordingBackend"
    RecordingBackend.sent.clear()
    return RecordingBackend.sent


@pytest.fixture
def chicago(clinic):
    Clinic.objects.filter(pk=clinic.pk).update(time_zone="America/Chicago")
    clinic.refresh_from_db()
    return clinic


@pytest.fixture
def booker(coordinator, chicago):
    return actor(coordinator, chicago, Role.COORDINATOR).at(BOOKED_AT)


@pytest.fixture
def chair(clinic_admin, chicago):
    admin = actor(clinic_admin, chicago, Role.CLINIC_ADMIN).at(BOOKED_AT)
    scheduling.set_opening_hours(admin, {day: (time(8), time(18)) for day in range(5)})
    return scheduling.add_chair(admin, "Chair 1", ["iv_pump", "nasal_spray"])


@pytest.fixture
def reachable(nurse, chicago):
    """A patient with a phone and an email."""
    return make_patient(nurse, chicago, phone=PHONE, email=EMAIL)


def book(booker, patient, chair, start=START, kind="follow_up"):
    return scheduling.book(
        booker,
        patient_id=patient.pk,
        kind=kind,
        start=start,
        end=start + timedelta(hours=2),
        chair_id=chair.pk if chair is not None else None,
    )


@pytest.fixture
def appointment(booker, reachable, chair):
    return book(booker, reachable, chair)


def link_path(appointment) -> str:
    return reverse("appointment-link", args=[links.token_for(appointment.pk)])


def emails():
    return [(m.to[0], m.subject, m.body) for m in mail.outbox]
