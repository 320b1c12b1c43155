"""The week of the appointment book: a row per chair and a column per day, and one staff
member's week; times in the clinic's zone (right across a daylight-saving change), only the
clinic's own appointments, and a number of queries that does not grow with the book."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse

from ketacare.accounts.models import Clinic
from ketacare.accounts.permissions import Role
from ketacare.scheduling import actions
from tests.conftest import actor, client_for, make_patient
from tests.scheduling.conftest import MONDAY, at, book


def week(user, monday=MONDAY, **params):
    return client_for(user).get(reverse("schedule-week"), {"week": monday.isoformat(), **params})


def staff_week(user, member, monday=MONDAY):
    url = reverse("schedule-staff-week", args=[member.pk])
    return client_for(user).get(url, {"week": monday.isoformat()})


def test_the_week_shows_each_chairs_appointments_on_their_day(
    booker, chairs, patient, prescriber, nurse
):
    wednesday = MONDAY + timedelta(days=2)
    visit = book(booker, patient, chairs[1], at(wednesday, 9), kind="follow_up", staff_id=nurse.pk)
    book(booker, patient, None, at(MONDAY + timedelta(days=4), 16), hours=1, kind="telehealth")
    response = week(prescriber)
    assert response.status_code == 200
    shape = [(row.name, [len(day) for day in row.days]) for row in response.context["rows"]]
    assert shape == [
        ("Chair 1", [0] * 7),
        ("Chair 2", [0, 0, 1, 0, 0, 0, 0]),
        ("Telehealth", [0, 0, 0, 0, 1, 0, 0]),
    ]
    html = response.content.decode()
    # Initials and MRN, kind and state: the week is scanned, not read.
    assert "09:00–11:00" in html and f'A.L. <span class="mono">{patient.mrn}</span>' in html
    assert "Follow-up" in html and "Booked" in html
    assert patient.family_name not in html
    # The neighbouring weeks, and each day's own page.
    previous, following = MONDAY - timedelta(days=7), MONDAY + timedelta(days=7)
    assert f"?week={previous.isoformat()}" in html and f"?week={following.isoformat()}" in html
    assert f"{reverse('schedule-day')}?day={wednesday.isoformat()}" in html
    # Each appointment opens its own page (to move, confirm or cancel it).
    assert reverse("appointment-detail", args=[visit.pk]) in html


def test_any_day_of_the_week_opens_its_monday(coordinator, chairs):
    response = week(coordinator, MONDAY + timedelta(days=5))
    assert response.context["monday"] == MONDAY


def test_a_week_that_is_not_a_date_shows_this_week_with_a_message(coordinator, chairs):
    response = client_for(coordinator).get(reverse("schedule-week"), {"week": "2026-02-30"})
    assert response.status_code == 200
    assert "Showing this week." in response.content.decode()
    assert response.context["monday"].weekday() == 0


def test_a_staff_members_week_lists_only_their_appointments(
    booker, chairs, patient, coordinator, nurse, prescriber
):
    other = make_patient(nurse, patient.clinic, given_name="Grace", family_name="Hopper")
    book(booker, patient, chairs[0], at(MONDAY, 9), staff_id=nurse.pk)
    book(booker, other, chairs[1], at(MONDAY + timedelta(days=1), 13), staff_id=prescriber.pk)
    response = staff_week(coordinator, nurse)
    assert response.status_code == 200
    assert [len(day) for _, day in response.context["by_day"]] == [1, 0, 0, 0, 0, 0, 0]
    html = response.content.decode()
    assert patient.mrn in html and "Chair 1" in html and other.mrn not in html
    # Every staff member's week is a link away.
    assert reverse("schedule-staff-week", args=[prescriber.pk]) in html


def test_another_clinics_staff_see_their_own_empty_week(booker, chair, patient, outsider):
    book(booker, patient, chair, at(MONDAY, 9))
    response = week(outsider)
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert patient.mrn not in response.content.decode()


def test_another_clinics_staff_member_is_not_found(booker, chair, patient, nurse, outsider):
    book(booker, patient, chair, at(MONDAY, 9), staff_id=nurse.pk)
    assert staff_week(outsider, nurse).status_code == 404
    assert staff_week(nurse, outsider).status_code == 404


def test_researchers_may_not_see_the_week(researcher, nurse):
    assert week(researcher).status_code == 403
    assert staff_week(researcher, nurse).status_code == 403


def test_a_week_across_the_autumn_clock_change_keeps_wall_clock_times(
    clinic, coordinator, clinic_admin, nurse
):
    """New York leaves daylight time at 02:00 on Sunday 1 November 2026: 10:00 is 14:00 UTC
    on the Friday before and 15:00 UTC on the Sunday, and both show at 10:00 on their day.
    The week ends at midnight New York time on the Sunday, 05:00 UTC, not 04:00."""
    Clinic.objects.filter(pk=clinic.pk).update(time_zone="America/New_York")
    clinic.refresh_from_db()
    new_york = ZoneInfo("America/New_York")
    october = datetime(2026, 10, 1, tzinfo=UTC)
    booker = actor(coordinator, clinic, Role.COORDINATOR).at(october)
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN).at(october)
    chair = actions.add_chair(admin, "Chair 1", ["iv_pump"])
    actions.set_opening_hours(admin, {day: (time(8), time(23, 45)) for day in range(7)})
    friday, sunday = date(2026, 10, 30), date(2026, 11, 1)
    patient = make_patient(nurse, clinic)

    def book_at(day, hour, hours=2):
        start = datetime.combine(day, time(hour), new_york)
        return book(booker, patient, chair, start, hours=hours, kind="follow_up")

    before, after, late = book_at(friday, 10), book_at(sunday, 10), book_at(sunday, 23, 0.5)
    assert before.start.astimezone(UTC).hour == 14 and after.start.astimezone(UTC).hour == 15
    assert late.start.astimezone(UTC) == datetime(2026, 11, 2, 4, tzinfo=UTC)

    response = week(coordinator, date(2026, 10, 28))
    assert response.context["monday"] == date(2026, 10, 26)
    (row,) = response.context["rows"]
    by_day = [[a.pk for a in day] for day in row.days]
    assert by_day == [[], [], [], [], [before.pk], [], [after.pk, late.pk]]
    html = response.content.decode()
    assert html.count("10:00–12:00") == 2 and "23:00–23:30" in html
    # The next week starts after it: nothing twice, nothing lost.
    next_week = week(coordinator, date(2026, 11, 2))
    assert all(day == [] for day in next_week.context["rows"][0].days)


def _queries(client, url, params, django_assert_max_num_queries):
    with django_assert_max_num_queries(10) as counted:
        response = client.get(url, params)
        assert response.status_code == 200
    return len(counted.captured_queries)


def test_the_query_count_does_not_grow_with_appointments(
    booker, chairs, clinic, nurse, django_assert_max_num_queries
):
    client = client_for(nurse)
    client.get(reverse("schedule-week"))  # the session's first page writes what it keeps
    pages = [
        (reverse("schedule-week"), {"week": MONDAY.isoformat()}),
        (reverse("schedule-staff-week", args=[nurse.pk]), {"week": MONDAY.isoformat()}),
    ]
    first = make_patient(nurse, clinic, given_name="First")
    book(booker, first, chairs[0], at(MONDAY, 8), hours=1, staff_id=nurse.pk)
    few = [_queries(client, *page, django_assert_max_num_queries) for page in pages]
    # Forty: two chairs, five days, four one-hour appointments a day (turnover between).
    for n in range(1, 40):
        day, place = divmod(n, 8)
        chair, slot = chairs[place // 4], place % 4
        patient = make_patient(nurse, clinic, given_name=f"P{n}")
        start = at(MONDAY + timedelta(days=day), 8 + 2 * slot)
        book(booker, patient, chair, start, hours=1, staff_id=nurse.pk)
    many = [_queries(client, *page, django_assert_max_num_queries) for page in pages]
    assert many == few
    response = client.get(*pages[0])
    assert sum(len(d) for row in response.context["rows"] for d in row.days) == 40
