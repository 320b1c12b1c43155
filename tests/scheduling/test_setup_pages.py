"""The appointment book's setup pages: chairs, opening hours and closures; the rota and
absences; a patient's payers' authorisations. Each form writes through its action (audited);
bad or hostile input gets a message and changes nothing; each page is a fixed number of
queries however many chairs, closures or shifts the clinic has."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketacare.accounts.permissions import Role
from ketacare.audit.models import AuditEvent
from ketacare.scheduling import actions
from ketacare.scheduling.models import (
    Appointment,
    Authorisation,
    Chair,
    Closure,
    OpeningHours,
    Shift,
)
from tests.conftest import actor, client_for, make_patient
from tests.scheduling.conftest import MONDAY, NOW, at, book
from tests.scheduling.plans import signed_plan_from


@pytest.fixture
def now_is_monday_morning(time_machine):
    time_machine.move_to(NOW, tick=False)


pytestmark = pytest.mark.usefixtures("now_is_monday_morning")

SETUP = "/schedule/setup/"
ROTA = "/schedule/rota/"
HOSTILE_DATES = ["9999-99-99", "0000-00-00", "2024-02-30", "'; drop table", ""]


def changes() -> tuple[int, ...]:
    """What refused input must leave as it was (viewing a page is audited; no change)."""
    return (
        Chair.objects.count(),
        OpeningHours.objects.count(),
        Closure.objects.count(),
        Shift.objects.count(),
        Authorisation.objects.count(),
        Appointment.objects.exclude(state="needs_rebooking").count(),
        AuditEvent.objects.exclude(action="view").count(),
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def said(response, text: str) -> bool:
    return any(text in m for m in messages_of(response))


def refused(client, url, data, text):
    """POST ``data``: the page answers (no 500), says ``text``, and nothing changed."""
    before = changes()
    response = client.post(url, data, follow=True)
    assert response.status_code == 200, response.status_code
    assert said(response, text), messages_of(response)
    assert changes() == before
    return response


def audited(action: str, object_type: str) -> int:
    return AuditEvent.objects.filter(action=action, object_type=object_type).count()


def chair_data(chair, **values):
    data = {"do": "edit_chair", "chair": str(chair.pk)}
    fields = {"name": chair.name, "capabilities": chair.capabilities, "active": "on"} | values
    data |= {f"chair{chair.pk}-{k}": v for k, v in fields.items() if v is not None}
    return data


def test_the_setup_page_adds_a_chair_and_edits_one(clinic_admin, chairs):
    client = client_for(clinic_admin)
    page = client.get(SETUP)
    assert page.status_code == 200
    assert "Chair 1" in page.content.decode() and "IV pump" in page.content.decode()
    added = client.post(
        SETUP,
        {"do": "add_chair", "new-name": "Room 3", "new-capabilities": ["nasal_spray"]},
        follow=True,
    )
    assert said(added, "Room 3 added.")
    room = Chair.objects.get(name="Room 3")
    assert room.capabilities == ["nasal_spray"] and room.active
    assert AuditEvent.objects.filter(action="create", object_id=str(room.pk)).exists()
    edited = client.post(
        SETUP,
        chair_data(room, name="Room 3a", capabilities=["iv_pump", "nasal_spray"]),
        follow=True,
    )
    assert said(edited, "Room 3a saved.")
    room.refresh_from_db()
    assert (room.name, room.capabilities) == ("Room 3a", ["iv_pump", "nasal_spray"])
    retired = client.post(SETUP, chair_data(room, active=None), follow=True)
    assert said(retired, "Room 3a saved.")
    room.refresh_from_db()
    assert not room.active
    assert audited("update", "chair") == 2


def test_chair_refusals_are_shown_and_change_nothing(
    clinic_admin, chairs, booker, patient, other_clinic, outsider
):
    client = client_for(clinic_admin)
    book(booker, patient, chairs[0], at(MONDAY, 9))
    refused(client, SETUP, {"do": "add_chair", "new-name": "Chair 2"}, "already a chair named")
    refused(client, SETUP, {"do": "add_chair", "new-name": "  "}, "Name")
    refused(
        client,
        SETUP,
        {"do": "add_chair", "new-name": "X", "new-capabilities": ["ketamine_cannon"]},
        "Select a valid choice",
    )
    refused(client, SETUP, {"do": "add_chair", "new-name": "x" * 41}, "at most 40")
    refused(client, SETUP, chair_data(chairs[0], active=None), "holds 1 upcoming appointment")
    # Unknown, garbled and another clinic's chair ids.
    theirs = actions.add_chair(
        actor(_admin_of(other_clinic), other_clinic, Role.CLINIC_ADMIN), "Chair 1", []
    )
    for chair_id in ["999999", "abc", "-1", "", str(theirs.pk)]:
        data = chair_data(chairs[0], name="Renamed") | {"chair": chair_id}
        refused(client, SETUP, data, "Unknown chair.")
    assert Chair.objects.get(pk=theirs.pk).name == "Chair 1"
    refused(client, SETUP, {"do": "drop_everything"}, "Unknown change")


def _admin_of(clinic):
    from tests.conftest import _staff

    return _staff(clinic, Role.CLINIC_ADMIN, username=f"admin-{clinic.pk}")


def hours_data(**days):
    data = {"do": "hours"}
    for weekday, (opens, closes) in days.items():
        n = int(weekday[1:])
        data |= {f"open_{n}": "on", f"opens_{n}": opens, f"closes_{n}": closes}
    return data


def test_the_opening_hours_are_set_from_the_page(clinic_admin, chairs):
    client = client_for(clinic_admin)
    page = client.get(SETUP).content.decode()
    assert 'name="opens_0" value="08:00"' in page
    response = client.post(
        SETUP, hours_data(d1=("09:30", "17:00"), d5=("10:00", "14:00")), follow=True
    )
    assert said(response, "Opening hours saved.")
    hours = {h.weekday: (h.opens, h.closes) for h in OpeningHours.objects.all()}
    assert hours == {1: (time(9, 30), time(17)), 5: (time(10), time(14))}
    assert audited("update", "openinghours") == 2  # the fixture's and the page's


def test_bad_opening_hours_change_nothing(clinic_admin, chairs):
    client = client_for(clinic_admin)
    refused(client, SETUP, hours_data(d0=("17:00", "09:00")), "must close after it opens")
    refused(client, SETUP, hours_data(d0=("09:00", "")), "Say when the clinic opens")
    refused(client, SETUP, hours_data(d0=("25:61", "26:00")), "Enter a valid time")
    # A weekday beyond the week is not a field: ignored, and Monday's hours stand.
    response = client.post(SETUP, hours_data(d0=("08:00", "18:00"), d9=("01:00", "02:00")))
    assert response.status_code == 302
    assert set(OpeningHours.objects.values_list("weekday", flat=True)) == {0}


def test_a_closure_moves_what_it_covers_and_says_so(clinic_admin, chairs, booker, patient):
    kept = book(booker, patient, chairs[1], at(MONDAY, 9))
    covered = book(booker, patient, chairs[0], at(MONDAY, 12))
    client = client_for(clinic_admin)
    data = {
        "do": "closure",
        "chair": str(chairs[0].pk),
        "start": f"{MONDAY}T08:00",
        "end": f"{MONDAY}T18:00",
        "reason": "Pump serviced",
    }
    response = client.post(SETUP, data, follow=True)
    assert said(response, "Closure added. 1 appointment moved to needs rebooking")
    page = response.content.decode()
    assert f'<a href="/schedule/?day={MONDAY}">rebook them from the day page</a>' in page
    assert "Pump serviced" in page  # listed among the closures to come
    covered.refresh_from_db()
    kept.refresh_from_db()
    assert (covered.state, kept.state) == ("needs_rebooking", "booked")
    closure = Closure.objects.get()
    assert (closure.chair, closure.start) == (chairs[0], at(MONDAY, 8))
    assert audited("create", "closure") == 1
    # The whole clinic, another day: nothing booked, and it says so.
    whole = data | {"chair": "", "start": f"{MONDAY}T19:00", "end": f"{MONDAY}T21:00"}
    response = client.post(SETUP, whole, follow=True)
    assert said(response, "No appointment needed rebooking.")
    assert Closure.objects.filter(chair=None).count() == 1


def test_closure_times_are_the_clinics_wall_clock(clinic_admin, clinic, chairs):
    clinic.time_zone = "America/New_York"
    clinic.save()
    client = client_for(clinic_admin)
    data = {"do": "closure", "chair": "", "reason": "Training"}
    client.post(SETUP, data | {"start": f"{MONDAY}T09:00", "end": f"{MONDAY}T12:00"})
    closure = Closure.objects.get()
    assert closure.start.astimezone(clinic.zone).time() == time(9)
    assert closure.start.astimezone(UTC).time() in (time(14), time(13))
    # 02:30 on the night the clocks go forward never happens there, and 01:30 on the night
    # they go back happens twice: refused rather than guessed.
    for moment in ("2027-03-14T02:30", "2027-11-07T01:30"):
        refused(
            client,
            SETUP,
            data | {"start": moment, "end": "2027-11-08T09:00"},
            "couldn’t be interpreted in time zone America/New_York",
        )


def test_bad_closures_change_nothing(clinic_admin, chairs, other_clinic):
    client = client_for(clinic_admin)
    good = {
        "do": "closure",
        "chair": "",
        "start": f"{MONDAY}T08:00",
        "end": f"{MONDAY}T18:00",
        "reason": "Training",
    }
    refused(client, SETUP, good | {"end": f"{MONDAY}T07:00"}, "must end after it starts")
    refused(client, SETUP, good | {"reason": " "}, "This field is required")
    for chair in ["999999", "abc", "-1"]:
        refused(client, SETUP, good | {"chair": chair}, "Select a valid choice")
    for day in HOSTILE_DATES:
        refused(client, SETUP, good | {"start": f"{day}T08:00"}, "Not saved.")
        refused(client, SETUP, good | {"end": day}, "Not saved.")
    refused(client, SETUP, good | {"start": "1000-01-01T08:00"}, "Not saved.")


def test_the_rota_shows_the_week_and_adds_a_shift(clinic_admin, chairs, nurse, coordinator):
    client = client_for(clinic_admin)
    page = client.get(ROTA, {"week": MONDAY.isoformat()})
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count("data-shift") == 10  # the nurse's and the prescriber's weekdays
    saturday = MONDAY + timedelta(days=5)
    data = {
        "do": "shift",
        "staff": str(coordinator.pk),
        "day": saturday.isoformat(),
        "start": "09:00",
        "end": "13:00",
    }
    response = client.post(f"{ROTA}?week={MONDAY}", data, follow=True)
    assert said(response, "Shift added.")
    shift = Shift.objects.get(staff=coordinator)
    assert (shift.start, shift.end, shift.role) == (
        at(saturday, 9),
        at(saturday, 13),
        "coordinator",
    )
    assert audited("create", "shift") == 1
    assert response.content.decode().count("data-shift") == 11


def test_bad_shifts_change_nothing(clinic_admin, chairs, nurse, researcher, outsider):
    client = client_for(clinic_admin)
    good = {
        "do": "shift",
        "staff": str(nurse.pk),
        "day": (MONDAY + timedelta(days=5)).isoformat(),
        "start": "09:00",
        "end": "13:00",
    }
    refused(client, ROTA, good | {"day": MONDAY.isoformat()}, "already has a shift then")
    refused(client, ROTA, good | {"end": "08:00"}, "must end after it starts")
    # Another clinic's staff member, a researcher (not on the book's rota), no one.
    for staff in [str(outsider.pk), str(researcher.pk), "999999", "abc", ""]:
        refused(client, ROTA, good | {"staff": staff}, "Staff member: ")
    for day in HOSTILE_DATES:
        refused(client, ROTA, good | {"day": day}, "Not saved.")
    refused(client, ROTA, good | {"do": "nothing"}, "Unknown change")


def test_an_absence_moves_what_it_must_and_reports_it(clinic_admin, chairs, booker, nurse, patient):
    watched = book(booker, patient, chairs[0], at(MONDAY, 10), staff_id=nurse.pk)
    client = client_for(clinic_admin)
    data = {
        "do": "absence",
        "staff": str(nurse.pk),
        "start": f"{MONDAY}T08:00",
        "end": f"{MONDAY}T23:00",
        "reason": "Off sick",
    }
    response = client.post(ROTA, data, follow=True)
    assert said(response, "Absence recorded; their shifts then are cut. 1 appointment moved")
    watched.refresh_from_db()
    assert watched.state == "needs_rebooking"
    assert not Shift.objects.filter(staff=nurse, start__lt=at(MONDAY, 23), end__gt=at(MONDAY, 8))
    assert audited("update", "absence") == 1


def test_bad_absences_change_nothing(clinic_admin, chairs, nurse, outsider):
    client = client_for(clinic_admin)
    good = {
        "do": "absence",
        "staff": str(nurse.pk),
        "start": f"{MONDAY}T08:00",
        "end": f"{MONDAY}T18:00",
        "reason": "Off sick",
    }
    refused(client, ROTA, good | {"end": f"{MONDAY}T07:00"}, "must end after it starts")
    refused(client, ROTA, good | {"staff": str(outsider.pk)}, "Select a valid choice")
    refused(client, ROTA, good | {"reason": ""}, "This field is required")
    for day in HOSTILE_DATES:
        refused(client, ROTA, good | {"start": day}, "Not saved.")


def test_a_bad_week_shows_this_week(clinic_admin, chairs):
    response = client_for(clinic_admin).get(ROTA, {"week": "9999-99-99"})
    assert response.status_code == 200 and response.context["monday"] <= MONDAY


def test_authorisations_are_recorded_from_the_patients_page(coordinator, nurse, patient):
    url = reverse("patient-authorisations", args=[patient.pk])
    chart = client_for(coordinator).get(reverse("patient-chart", args=[patient.pk]))
    assert url in chart.content.decode()
    client = client_for(nurse)
    assert "None recorded." in client.get(url).content.decode()
    data = {
        "payer": "Blue Shield",
        "reference": "PA-123",
        "approved_sessions": "6",
        "valid_from": MONDAY.isoformat(),
        "valid_to": (MONDAY + timedelta(days=60)).isoformat(),
    }
    response = client.post(url, data, follow=True)
    assert said(response, "Authorisation recorded.")
    assert "PA-123" in response.content.decode()
    authorisation = Authorisation.objects.get()
    assert (authorisation.patient, authorisation.approved_sessions) == (patient, 6)
    assert AuditEvent.objects.filter(
        action="create", object_type="authorisation", patient=patient
    ).exists()
    # Bad input: a message, nothing written.
    later = (MONDAY - timedelta(days=1)).isoformat()
    refused(client, url, data | {"valid_to": later}, "must end on or after the day it starts")
    for sessions in ["0", "-3", "1000", "six", "1e9"]:
        refused(client, url, data | {"approved_sessions": sessions}, "Sessions approved")
    for day in HOSTILE_DATES:
        refused(client, url, data | {"valid_from": day}, "Not saved.")
    refused(client, url, data | {"payer": "x" * 121}, "at most 120")


def test_the_authorisation_gate_points_to_the_page(
    coordinator, booker, chairs, prescriber, clinic, patient
):
    # An authorisation that ran out before the induction: the gate says so, and its link
    # opens the page that records a new one.
    actions.record_authorisation(
        booker,
        patient_id=patient.pk,
        payer="Acme Health",
        reference="PA-1",
        approved_sessions=2,
        valid_from=MONDAY - timedelta(days=60),
        valid_to=MONDAY - timedelta(days=30),
    )
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY)
    page = client_for(coordinator).get(reverse("plan-book", args=[plan.pk])).content.decode()
    assert 'data-gate="authorisation"' in page
    url = reverse("patient-authorisations", args=[patient.pk])
    assert f'<a href="{url}">Record an authorisation</a>' in page


def test_who_may_open_the_setup_pages(staff, outsider, patient):
    authorisations = reverse("patient-authorisations", args=[patient.pk])
    for role, user in staff.items():
        client = client_for(user)
        expected = 200 if role == Role.CLINIC_ADMIN else 403
        assert client.get(SETUP).status_code == expected, role
        assert client.get(ROTA).status_code == expected, role
        expected = 200 if role in (Role.NURSE, Role.COORDINATOR) else 403
        assert client.get(authorisations).status_code == expected, role
    assert client_for(outsider).get(authorisations).status_code == 404
    before = Authorisation.objects.count()
    client_for(outsider).post(authorisations, {"payer": "X"})
    assert Authorisation.objects.count() == before


def queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_the_setup_and_rota_pages_read_a_fixed_number_of_queries(
    clinic_admin, admin, clinic, booker, patient, staff
):
    client = client_for(clinic_admin)
    actions.add_chair(admin, "Chair 0", ["iv_pump"])
    actions.add_closure(admin, start=at(MONDAY, 19), end=at(MONDAY, 20), reason="Clean")
    actions.add_shift(admin, staff_id=staff["nurse"].pk, start=at(MONDAY, 8), end=at(MONDAY, 9))
    client.get(SETUP)  # the session's first request reads more (the sign-in's bookkeeping)
    one = (queries(client, SETUP), queries(client, ROTA, week=MONDAY.isoformat()))
    for n in range(1, 8):
        actions.add_chair(admin, f"Chair {n}", ["nasal_spray"])
        actions.add_closure(
            admin,
            start=at(MONDAY, 20) + timedelta(days=n),
            end=at(MONDAY, 21) + timedelta(days=n),
            reason="Clean",
            chair_id=None,
        )
    for user in staff.values():
        for n in range(5):
            day = MONDAY + timedelta(days=n)
            start = datetime.combine(day, time(10), tzinfo=UTC)
            actions.add_shift(admin, staff_id=user.pk, start=start, end=start + timedelta(hours=4))
    make_patient(staff["nurse"], clinic, given_name="Other", family_name="Patient")
    many = (queries(client, SETUP), queries(client, ROTA, week=MONDAY.isoformat()))
    assert many == one
    assert one[0] <= 10 and one[1] <= 10
