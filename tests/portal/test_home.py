"""The portal's home page: what is due and coming, in a number of queries that does not grow
with them; a questionnaire is answered through a link, an appointment confirmed once."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.measures.actions import assign_instrument
from ketacare.measures.models import PatientLink
from ketacare.scheduling import actions as scheduling
from ketacare.scheduling.models import Appointment
from tests.conftest import actor

pytestmark = pytest.mark.django_db


def book(clinic, clinic_admin, coordinator, patient, days):
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    scheduling.set_opening_hours(admin, {day: (time(0), time(23, 59)) for day in range(7)})
    chair = scheduling.add_chair(admin, "Chair 1", [])
    booked = []
    for day in days:
        start = datetime.combine(timezone.localdate() + timedelta(days=day), time(15), tzinfo=UTC)
        booked.append(
            scheduling.book(
                actor(coordinator, clinic, Role.COORDINATOR),
                patient_id=patient.pk,
                kind="follow_up",
                start=start,
                end=start + timedelta(minutes=30),
                chair_id=chair.pk,
            )
        )
    return booked


def home_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("portal-home")).status_code == 200
    return len(queries)


def test_the_home_page_asks_the_same_number_of_queries_for_one_thing_or_many(
    clinic, clinic_admin, coordinator, nurse, portal_patient, portal_client
):
    book(clinic, clinic_admin, coordinator, portal_patient, [1])
    assign_instrument(actor(nurse, clinic), portal_patient, "phq9", "once", timezone.localdate())
    one = home_queries(portal_client)
    for day in (2, 3, 4):
        start = datetime.combine(timezone.localdate() + timedelta(days=day), time(15), tzinfo=UTC)
        scheduling.book(
            actor(coordinator, clinic, Role.COORDINATOR),
            patient_id=portal_patient.pk,
            kind="follow_up",
            start=start,
            end=start + timedelta(minutes=30),
            chair_id=None,
        )
    for instrument in ("gad7", "auditc", "dast10"):
        assign_instrument(
            actor(nurse, clinic), portal_patient, instrument, "once", timezone.localdate()
        )
    assert home_queries(portal_client) == one


def test_answering_opens_the_questionnaire_link_once(clinic, nurse, portal_patient, portal_client):
    assign_instrument(actor(nurse, clinic), portal_patient, "gad7", "once", timezone.localdate())
    first = portal_client.post(reverse("portal-answer", args=["gad7"]))
    second = portal_client.post(reverse("portal-answer", args=["gad7"]))
    assert first["Location"] == second["Location"]
    link = PatientLink.objects.get(patient=portal_patient)
    assert link.channel == "portal"
    assert portal_client.get(first["Location"]).status_code == 200


def test_what_is_not_due_cannot_be_opened(portal_client):
    response = portal_client.post(reverse("portal-answer", args=["phq9"]))
    assert response.status_code == 409
    assert not PatientLink.objects.exists()


def test_confirming_an_appointment_once(
    clinic, clinic_admin, coordinator, portal_patient, portal_client
):
    (appointment,) = book(clinic, clinic_admin, coordinator, portal_patient, [1])
    url = reverse("portal-confirm", args=[appointment.pk])
    assert portal_client.post(url)["Location"] == reverse("portal-home")
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.CONFIRMED
    change = appointment.changes.last()
    assert change.reason == "Confirmed by the patient in the portal"
    assert portal_client.post(url).status_code == 302  # again: nothing more
    assert appointment.changes.count() == 2  # booked, confirmed


def test_a_cancelled_appointment_cannot_be_confirmed(
    clinic, clinic_admin, coordinator, portal_patient, portal_client
):
    (appointment,) = book(clinic, clinic_admin, coordinator, portal_patient, [1])
    scheduling.cancel(actor(coordinator, clinic, Role.COORDINATOR), appointment.pk, "ill")
    response = portal_client.post(reverse("portal-confirm", args=[appointment.pk]))
    assert response.status_code == 409
    assert "cancelled" in response.content.decode()
