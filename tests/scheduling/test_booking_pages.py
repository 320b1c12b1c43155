"""The booking pages: book the induction, an appointment's page and its changes, and the
day-before checklist. Each page calls the action; bad input gets a message and changes
nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.scheduling import actions
from ketacare.scheduling.models import Appointment, AppointmentChange
from tests.conftest import client_for, make_patient
from tests.scheduling.conftest import MONDAY, NOW, at, book
from tests.scheduling.plans import signed_plan_from


@pytest.fixture
def now_is_monday_morning(time_machine):
    time_machine.move_to(NOW, tick=False)


pytestmark = pytest.mark.usefixtures("now_is_monday_morning")


def counts():
    """What a refused change leaves as it was (a page's view is audited; that is no change)."""
    return (
        Appointment.objects.count(),
        AppointmentChange.objects.count(),
        AuditEvent.objects.exclude(action="view").count(),
    )


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_book_the_induction_shows_the_proposal_then_books_it(
    coordinator, booker, chairs, prescriber, clinic, patient
):
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY)
    client = client_for(coordinator)
    url = reverse("plan-book", args=[plan.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.content.decode().count("data-session=") == 6
    assert Appointment.objects.count() == 0
    # "Show the proposal" with preferred times books nothing.
    preview = client.post(url, {"weekdays": ["2"], "earliest": "10:00", "preview": "1"})
    assert preview.status_code == 200 and Appointment.objects.count() == 0
    assert "data-unplaced" in preview.content.decode()  # Wednesdays only: too few for six
    booked = client.post(url, {"transport_arranged": "on"}, follow=True)
    assert "Booked 6 sessions." in messages_of(booked)
    assert Appointment.objects.filter(planned__plan=plan, transport_arranged=True).count() == 6
    assert "No session of this plan from today on is left to book." not in booked.content.decode()


def test_a_refused_series_says_why_on_the_page_and_books_nothing(
    coordinator, chairs, prescriber, clinic, patient
):
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY, esketamine=True, rems=False)
    client = client_for(coordinator)
    url = reverse("plan-book", args=[plan.pk])
    page = client.get(url).content.decode()
    assert 'data-gate="rems_enrolment"' in page and "Record the REMS enrolment" in page
    before = counts()
    response = client.post(url, {}, follow=True)
    assert any("not enrolled in the esketamine REMS" in m for m in messages_of(response))
    assert counts() == before
    bad = client.post(url, {"earliest": "12:00", "latest": "09:00"}, follow=True)
    assert any("latest start must not be before" in m for m in messages_of(bad))
    assert counts() == before


def test_the_appointment_page_moves_confirms_and_cancels(coordinator, booker, chairs, patient):
    appointment = book(booker, patient, chairs[0], at(MONDAY, 9))
    client = client_for(coordinator)
    url = reverse("appointment-detail", args=[appointment.pk])
    assert client.get(url).status_code == 200
    move = reverse("appointment-move", args=[appointment.pk])
    tuesday = MONDAY + timedelta(days=1)
    response = client.post(
        move,
        {"day": tuesday.isoformat(), "start": "13:00", "chair": chairs[1].pk, "reason": "Asked"},
        follow=True,
    )
    assert "Moved." in messages_of(response)
    appointment.refresh_from_db()
    assert (appointment.start, appointment.chair) == (at(tuesday, 13), chairs[1])
    assert "Asked" in response.content.decode()  # the history keeps why
    for bad, says in (
        ({"day": "9999-99-99", "start": "13:00"}, "Day:"),
        ({"day": tuesday.isoformat(), "start": "19:00"}, "the clinic is open 08:00–18:00"),
    ):
        before = counts()
        response = client.post(move, bad, follow=True)
        assert any(says in m for m in messages_of(response)), messages_of(response)
        assert counts() == before
    state = reverse("appointment-state", args=[appointment.pk])
    assert "Confirmed." in messages_of(client.post(state, {"to": "confirm"}, follow=True))
    unsaid = messages_of(client.post(state, {"to": "cancel"}, follow=True))
    assert any("Why is it cancelled?" in m for m in unsaid)
    assert Appointment.objects.get().state == "confirmed"
    client.post(state, {"to": "cancel", "reason": "Unwell"})
    assert Appointment.objects.get().state == "cancelled"
    assert "Unknown change of state." in messages_of(client.post(state, {"to": "x"}, follow=True))


def test_the_checklist_shows_what_each_appointment_still_needs_in_bounded_queries(
    coordinator, booker, chairs, prescriber, nurse, clinic, patient, django_assert_max_num_queries
):
    client = client_for(coordinator)
    url = reverse("schedule-checklist")
    client.get(url)  # the session's first page writes what it keeps

    def queries_for_monday():
        with django_assert_max_num_queries(20) as counted:
            response = client.get(url, {"day": MONDAY.isoformat()})
            assert response.status_code == 200
        return response, len(counted.captured_queries)

    plan = signed_plan_from(prescriber, clinic, patient, MONDAY)
    actions.book_series(booker, plan.pk)
    response, few = queries_for_monday()
    page = response.content.decode()
    assert 'data-gate="transport_home"' in page and "Not confirmed by the patient yet." in page
    for n in range(3):
        other = make_patient(nurse, clinic, given_name=f"P{n}")
        actions.book_series(booker, signed_plan_from(prescriber, clinic, other, MONDAY).pk)
    response, many = queries_for_monday()
    assert response.content.decode().count("data-appointment=") == 4
    assert many == few
