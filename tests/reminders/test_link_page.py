"""The patient's page behind the reminder's link: on a phone, without signing in, it shows
the clinic and the time, and confirms, cancels (with the patient's words) or stops reminders;
a bad link, a past or a cancelled appointment is said plainly and changes nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.reminders.actions import CANCELLED_BY_LINK
from ketacare.reminders.dispatch import send_due
from ketacare.reminders.models import OptOut
from ketacare.scheduling import actions as scheduling
from ketacare.scheduling.models import Appointment, AppointmentChange
from tests.reminders.conftest import START, link_path

pytestmark = pytest.mark.django_db

DAY_BEFORE = START - timedelta(days=1)


@pytest.fixture
def at_day_before():
    with time_machine.travel(DAY_BEFORE, tick=False):
        yield


def written():
    return (
        AppointmentChange.objects.count(),
        AuditEvent.objects.count(),
        OptOut.objects.count(),
        list(Appointment.objects.values_list("state", flat=True)),
    )


def test_the_page_shows_the_clinic_and_the_local_time(appointment, at_day_before):
    page = Client().get(link_path(appointment))
    assert page.status_code == 200
    html = page.content.decode()
    assert appointment.clinic.name in html
    assert "Wednesday 2 December at 09:00 (CST)" in html
    assert 'value="confirm"' in html and 'value="cancel"' in html and 'value="stop"' in html
    assert 'name="viewport"' in html  # phone-sized
    # Nothing about the visit: its kind, the chair, the patient's name.
    assert "Follow-up" not in html and "Chair 1" not in html
    assert appointment.patient.family_name not in html
    assert page.headers["Cache-Control"].startswith("max-age=0")


def test_confirm_by_link(appointment, at_day_before):
    page = Client().post(link_path(appointment), {"choice": "confirm"})
    assert page.status_code == 200
    assert "your appointment is confirmed" in page.content.decode()
    appointment.refresh_from_db()
    assert appointment.state == "confirmed"
    change = appointment.changes.last()
    assert (change.changed_by, change.old_state, change.new_state) == (None, "booked", "confirmed")
    event = AuditEvent.objects.filter(object_type="appointment").last()
    assert (event.role, event.actor_id, event.patient_id) == (
        "patient",
        None,
        appointment.patient_id,
    )
    assert event.changes["state"] == {"old": "booked", "new": "confirmed"}
    # Confirming again changes nothing.
    before = written()
    Client().post(link_path(appointment), {"choice": "confirm"})
    assert written() == before


def test_cancel_by_link_keeps_the_patients_words(appointment, at_day_before):
    page = Client().post(
        link_path(appointment), {"choice": "cancel", "reason": "  My ride fell\nthrough "}
    )
    assert "Your appointment is cancelled" in page.content.decode()
    appointment.refresh_from_db()
    assert appointment.state == "cancelled"
    assert appointment.changes.last().reason == f"{CANCELLED_BY_LINK}: My ride fell through"
    event = AuditEvent.objects.filter(object_type="appointment").last()
    assert event.changes["reason"] == f"{CANCELLED_BY_LINK}: My ride fell through"
    # The link now says so, and refuses a confirmation.
    html = Client().get(link_path(appointment)).content.decode()
    assert "This appointment was cancelled." in html and 'value="confirm"' not in html
    before = written()
    refused = Client().post(link_path(appointment), {"choice": "confirm"})
    assert refused.status_code == 410
    assert "This appointment was cancelled." in refused.content.decode()
    assert written() == before


def test_cancel_without_a_reason(appointment, at_day_before):
    Client().post(link_path(appointment), {"choice": "cancel"})
    appointment.refresh_from_db()
    assert appointment.changes.last().reason == CANCELLED_BY_LINK


def test_a_too_long_reason_is_refused_with_a_message(appointment, at_day_before):
    before = written()
    page = Client().post(link_path(appointment), {"choice": "cancel", "reason": "x" * 501})
    assert page.status_code == 200
    assert "at most 500 characters" in page.content.decode()
    assert written() == before


def test_stop_reminders_by_link_stops_texts_and_emails(appointment, at_day_before, recorded_texts):
    page = Client().post(link_path(appointment), {"choice": "stop"})
    assert "no more appointment reminders" in page.content.decode()
    assert sorted(OptOut.objects.values_list("channel", "stopped", "source")) == [
        ("email", True, "link"),
        ("sms", True, "link"),
    ]
    html = page.content.decode()
    assert "Reminders are stopped." in html and 'value="stop"' not in html
    assert send_due().counts == {"skipped": 2}
    assert recorded_texts == []


def test_a_past_appointment_says_so(booker, appointment):
    with time_machine.travel(START + timedelta(hours=3), tick=False):
        html = Client().get(link_path(appointment)).content.decode()
        assert "This appointment has passed." in html
        assert 'value="confirm"' not in html and 'value="cancel"' not in html
        before = written()
        for choice in ("confirm", "cancel"):
            assert Client().post(link_path(appointment), {"choice": choice}).status_code == 410
        assert written() == before


@pytest.mark.parametrize(
    "token",
    ["nonsense", "1:forged", "999999:abc", "%00", "x" * 300],
)
def test_a_bad_or_tampered_link_is_not_found(token, appointment):
    for response in (
        Client().get(reverse("appointment-link", args=[token])),
        Client().post(reverse("appointment-link", args=[token]), {"choice": "cancel"}),
    ):
        assert response.status_code == 404
        assert "This link is not valid" in response.content.decode()
    assert Appointment.objects.get().state == "booked"


def test_a_link_signed_for_another_appointment_cannot_be_edited_into_this_one(appointment):
    path = link_path(appointment)
    token = path.rstrip("/").rsplit("/", 1)[1]
    number, signature = token.split(":", 1)
    tampered = reverse("appointment-link", args=[f"{int(number) + 1}:{signature}"])
    assert Client().get(tampered).status_code == 404


def test_staff_changes_after_the_link_are_respected(booker, appointment, at_day_before):
    scheduling.confirm(booker.at(DAY_BEFORE), appointment.pk)
    html = Client().get(link_path(appointment)).content.decode()
    assert "You have confirmed this appointment." in html


def test_an_appointment_waiting_to_be_rebooked_says_so(clinic_admin, appointment, at_day_before):
    from ketacare.accounts.permissions import Role
    from tests.conftest import actor

    admin = actor(clinic_admin, appointment.clinic, Role.CLINIC_ADMIN).at(DAY_BEFORE)
    scheduling.add_closure(
        admin,
        chair_id=appointment.chair_id,
        start=START - timedelta(hours=1),
        end=START + timedelta(hours=4),
        reason="Recliner repair",
    )
    appointment.refresh_from_db()
    assert appointment.state == "needs_rebooking"
    html = Client().get(link_path(appointment)).content.decode()
    assert "the clinic will contact you" in html and 'value="confirm"' not in html
    before = written()
    assert Client().post(link_path(appointment), {"choice": "cancel"}).status_code == 410
    assert written() == before
