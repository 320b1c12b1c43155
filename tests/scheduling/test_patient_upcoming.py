"""A patient's upcoming appointments on their chart: booked or confirmed ones still ahead,
soonest first, in the clinic's time zone, in one query however many there are."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketacare.scheduling import actions
from tests.conftest import client_for, make_patient
from tests.scheduling.conftest import MONDAY, at, book


def chart(user, patient):
    return client_for(user).get(reverse("patient-chart", args=[patient.pk]))


def test_the_chart_lists_booked_and_confirmed_appointments_ahead(
    booker, chairs, patient, nurse, clinic
):
    later = book(booker, patient, chairs[1], at(MONDAY + timedelta(days=2), 13))
    first = book(booker, patient, chairs[0], at(MONDAY, 9), kind="evaluation")
    actions.confirm(booker, later.pk)
    gone = book(booker, patient, chairs[0], at(MONDAY + timedelta(days=1), 9))
    actions.cancel(booker, gone.pk, "Patient unwell")
    someone_else = make_patient(nurse, clinic, given_name="Grace", family_name="Hopper")
    book(booker, someone_else, chairs[1], at(MONDAY, 9))
    response = chart(nurse, patient)
    assert [a.pk for a in response.context["upcoming"]] == [first.pk, later.pk]
    html = response.content.decode()
    assert "Upcoming appointments" in html
    assert "09:00–11:00" in html and "Evaluation" in html and "Confirmed" in html
    assert f"{reverse('schedule-day')}?day={MONDAY.isoformat()}" in html
    assert reverse("appointment-detail", args=[first.pk]) in html


def test_a_chart_without_appointments_says_so(patient, nurse):
    assert "Nothing booked." in chart(nurse, patient).content.decode()


def test_the_upcoming_list_is_one_query(booker, chairs, patient, nurse):
    client = client_for(nurse)
    url = reverse("patient-chart", args=[patient.pk])
    client.get(url)
    book(booker, patient, chairs[0], at(MONDAY, 8))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        sql = [q["sql"] for q in captured.captured_queries]
        # The upcoming list's one query (the attendance line's reads the history too, and the
        # portal messages their appointments).
        upcoming = [
            q
            for q in sql
            if "scheduling_appointment" in q
            and "appointmentchange" not in q
            and "portal_portalmessage" not in q
        ]
        assert len(upcoming) == 1
        return len(sql)

    one = queries()
    for day in range(1, 5):
        for hour in (8, 12):
            book(booker, patient, chairs[day % 2], at(MONDAY + timedelta(days=day), hour))
    assert queries() == one
