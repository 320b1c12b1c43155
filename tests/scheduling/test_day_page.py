"""The day of the appointment book: a column per chair, times in the clinic's zone, only the
clinic's own appointments, in a bounded number of queries."""

from datetime import timedelta

from django.urls import reverse

from tests.conftest import client_for, make_patient
from tests.scheduling.conftest import MONDAY, at, book


def page(user, day=MONDAY):
    return client_for(user).get(reverse("schedule-day"), {"day": day.isoformat()})


def test_the_day_shows_each_chairs_appointments(booker, chairs, patient, prescriber):
    book(booker, patient, chairs[1], at(MONDAY, 9))
    book(booker, patient, None, at(MONDAY, 16), hours=1, kind="telehealth")
    response = page(prescriber)
    assert response.status_code == 200
    columns = response.context["columns"]
    assert [(name, len(rows)) for name, rows in columns] == [
        ("Chair 1", 0),
        ("Chair 2", 1),
        ("Telehealth", 1),
    ]
    html = response.content.decode()
    assert "09:00–11:00" in html and patient.full_name in html and "Nothing booked." in html


def test_another_clinics_staff_see_their_own_empty_book(booker, chair, patient, outsider):
    book(booker, patient, chair, at(MONDAY, 9))
    response = page(outsider)
    assert response.status_code == 200
    assert response.context["columns"] == []
    assert patient.full_name not in response.content.decode()


def test_researchers_may_not_see_the_book(researcher):
    assert page(researcher).status_code == 403


def test_a_day_that_is_not_a_date_shows_today_with_a_message(coordinator, chairs):
    response = client_for(coordinator).get(reverse("schedule-day"), {"day": "9999-99-99"})
    assert response.status_code == 200
    assert "Showing today." in response.content.decode()


def test_the_query_count_does_not_grow_with_appointments(
    booker, chairs, clinic, nurse, django_assert_max_num_queries
):
    client = client_for(nurse)
    client.get(reverse("schedule-day"))  # the session's first page writes what it keeps

    def queries_for_the_day():
        with django_assert_max_num_queries(12) as counted:
            response = client.get(reverse("schedule-day"), {"day": MONDAY.isoformat()})
            assert response.status_code == 200
        return len(counted.captured_queries)

    book(booker, make_patient(nurse, clinic, given_name="First"), chairs[0], at(MONDAY, 8))
    few = queries_for_the_day()
    for n in range(4):
        patient = make_patient(nurse, clinic, given_name=f"P{n}")
        start = at(MONDAY, 8) + timedelta(hours=2 * n)
        book(booker, patient, chairs[1], start, hours=1, staff_id=nurse.pk)
    assert queries_for_the_day() == few


def test_what_a_closure_took_away_is_shown_on_every_day_until_rebooked(
    admin, booker, chair, patient, coordinator
):
    from ketacare.scheduling import actions

    taken = book(booker, patient, chair, at(MONDAY, 9))
    actions.add_closure(
        admin, start=at(MONDAY, 8), end=at(MONDAY, 12), reason="Pump service", chair_id=chair.pk
    )
    for day in (MONDAY, MONDAY + timedelta(days=3)):
        response = page(coordinator, day)
        assert [a.pk for a in response.context["rebooking"]] == [taken.pk]
        assert "Needs rebooking (1)" in response.content.decode()
    actions.reschedule(
        booker, taken.pk, start=at(MONDAY, 13), end=at(MONDAY, 15), chair_id=chair.pk
    )
    assert "Needs rebooking" not in page(coordinator).content.decode()
