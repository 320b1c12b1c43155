"""Booking one appointment from a page (``/schedule/new/``): the page calls ``actions.book``,
shows its refusal next to the form and writes nothing then; for a dose it shows the day's free
slots and the patient's gates. Bad input of every kind gets a message, never a 500."""

from datetime import timedelta

import pytest
from django.urls import reverse

from ketacare.accounts.permissions import Role
from ketacare.audit.models import AuditEvent
from ketacare.clinical.protocols.library import get_protocol
from ketacare.scheduling import actions, rules
from ketacare.scheduling.book_one_views import SHOWN_SLOTS
from ketacare.scheduling.models import Appointment, AppointmentChange
from tests.conftest import _staff, actor, client_for, make_patient
from tests.scheduling.conftest import MONDAY, NOW, at, book, refused
from tests.scheduling.plans import signed_plan_from

URL = reverse("appointment-new")


@pytest.fixture
def now_is_monday_morning(time_machine):
    time_machine.move_to(NOW, tick=False)


pytestmark = pytest.mark.usefixtures("now_is_monday_morning")


def counts():
    """What a refused booking leaves as it was (signing in, showing a page and a search are
    audited; none of them is a change)."""
    return (
        Appointment.objects.count(),
        AppointmentChange.objects.count(),
        AuditEvent.objects.exclude(action__in=["login", "view", "search"]).count(),
    )


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def form_data(patient, **changes):
    return {
        "patient": patient.pk,
        "kind": "follow_up",
        "day": MONDAY.isoformat(),
        "start": "10:00",
        "length": "60",
        **changes,
    }


def test_a_follow_up_is_booked_and_the_page_goes_to_it(coordinator, chairs, patient):
    client = client_for(coordinator)
    page = client.get(URL, {"patient": patient.pk, "day": MONDAY.isoformat()})
    assert page.status_code == 200
    assert patient.mrn in page.content.decode()
    response = client.post(URL, form_data(patient, chair=chairs[1].pk))
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("appointment-detail", args=[appointment.pk])
    assert (appointment.kind, appointment.chair, appointment.created_by) == (
        "follow_up",
        chairs[1],
        coordinator,
    )
    assert (appointment.start, appointment.end) == (at(MONDAY, 10), at(MONDAY, 11))
    assert AuditEvent.objects.filter(action="create", object_type="appointment").count() == 1


def test_times_are_wall_clock_in_the_clinics_zone(coordinator, admin, clinic, chairs, patient):
    clinic.time_zone = "America/Chicago"
    clinic.save(update_fields=["time_zone"])
    # Shifts and hours do not matter to a follow-up; the hours are wall-clock, so 10:00 local.
    client_for(coordinator).post(URL, form_data(patient, chair=chairs[0].pk, start="10:00"))
    appointment = Appointment.objects.get()
    assert appointment.start.astimezone(clinic.zone).strftime("%H:%M") == "10:00"


def test_a_dose_defaults_to_the_protocols_care_time_with_free_slots_and_gates(
    coordinator, chairs, prescriber, clinic, patient
):
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY)
    care = rules.care_minutes(get_protocol(plan.protocol_id))
    client = client_for(coordinator)
    page = client.get(URL, {"patient": patient.pk, "day": MONDAY.isoformat()})
    form = page.context["form"]
    assert form.initial["kind"] == "dosing" and form.initial["length"] == care
    first = plan.sessions.order_by("number").first()
    assert form.initial["planned"] == str(first.pk)
    html = page.content.decode()
    assert 0 < html.count("data-slot") <= SHOWN_SLOTS
    assert 'data-gate="transport_home"' in html  # no ride home yet: a flag, not a block
    # Spread over the day: the last pick is the day's last free start, not the twelfth.
    slots = page.context["slots"]
    assert page.context["free_count"] > len(slots) > SHOWN_SLOTS // 2
    assert slots[-1]["start"].hour >= 14
    saturday = MONDAY + timedelta(days=5)
    closed = client.get(URL, {"patient": patient.pk, "day": saturday.isoformat()})
    assert "No free slot for this patient" in closed.content.decode()
    # A quick pick fills the start and the chair.
    slot = page.context["slots"][0]
    picked = client.get(
        URL,
        {
            "patient": patient.pk,
            "day": MONDAY.isoformat(),
            "kind": "dosing",
            "start": slot["start"].strftime("%H:%M"),
            "chair": slot["chair_id"],
        },
    )
    assert picked.context["form"].initial["chair"] == str(slot["chair_id"])
    response = client.post(
        URL,
        form_data(
            patient,
            kind="dosing",
            length="",
            start=slot["start"].strftime("%H:%M"),
            chair=slot["chair_id"],
            planned=first.pk,
            transport_arranged="on",
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    dose = Appointment.objects.get()
    assert dose.end - dose.start == timedelta(minutes=care)
    assert (dose.planned, dose.transport_arranged) == (first, True)
    # The booked session is no longer offered.
    again = client.get(URL, {"patient": patient.pk, "day": MONDAY.isoformat()})
    assert str(first.pk) not in dict(again.context["form"].fields["planned"].choices)


def test_a_dose_without_a_signed_plan_says_so(coordinator, chairs, patient):
    client = client_for(coordinator)
    page = client.get(URL, {"patient": patient.pk, "kind": "dosing"}).content.decode()
    assert "has none" in page
    before = counts()
    response = client.post(URL, form_data(patient, kind="dosing", length=""))
    assert "Length: Give the appointment" not in response.content.decode()
    assert any("length in minutes" in e for e in response.context["form"].errors["length"])
    assert counts() == before


def test_the_page_and_the_action_refuse_in_the_same_words(coordinator, booker, chairs, patient):
    """Past closing: the page shows the action's own refusal next to the form."""
    client = client_for(coordinator)
    before = counts()
    response = client.post(URL, form_data(patient, start="17:30", chair=chairs[0].pk))
    assert response.status_code == 200
    shown = response.context["form"].non_field_errors()
    assert counts() == before
    said = refused(
        actions.book,
        booker,
        patient_id=patient.pk,
        kind="follow_up",
        start=at(MONDAY, 17, 30),
        end=at(MONDAY, 18, 30),
        chair_id=chairs[0].pk,
    )
    assert list(shown) == [said]
    assert "the clinic is open 08:00–18:00" in said


def test_telehealth_takes_no_chair(coordinator, chairs, patient):
    client = client_for(coordinator)
    refusal = client.post(URL, form_data(patient, kind="telehealth", chair=chairs[0].pk))
    assert "A telehealth appointment takes no chair." in refusal.context["form"].non_field_errors()
    assert client.post(URL, form_data(patient, kind="telehealth")).status_code == 302
    assert Appointment.objects.get().chair is None


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"day": "9999-99-99"}, "day", "valid date"),
        ({"day": "9999-12-31"}, "day", ""),
        ({"start": "25:00"}, "start", "valid time"),
        ({"length": "99999999999999999999"}, "length", ""),
        ({"length": "0"}, "length", ""),
        ({"length": "721"}, "length", "720"),
        ({"kind": "surgery"}, "kind", "valid choice"),
        ({"chair": "999999999999999999999"}, "chair", "valid choice"),
        ({"staff": "abc"}, "staff", "valid choice"),
        ({"planned": "1"}, "planned", "valid choice"),
    ],
)
def test_bad_input_is_said_on_the_form_and_writes_nothing(
    coordinator, chairs, patient, changes, field, says
):
    before = counts()
    response = client_for(coordinator).post(URL, form_data(patient, **changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and says in " ".join(errors[field]), errors
    assert counts() == before


def test_another_clinics_chair_staff_or_patient_is_unknown(
    coordinator, chairs, patient, other_clinic, outsider, outsider_patient
):
    admin = _staff(other_clinic, Role.CLINIC_ADMIN, "other-admin")
    their_admin = actor(admin, other_clinic, Role.CLINIC_ADMIN).at(NOW)
    their_chair = actions.add_chair(their_admin, "Their chair", ["iv_pump"])
    client = client_for(coordinator)
    before = counts()
    for changes, field in (({"chair": their_chair.pk}, "chair"), ({"staff": outsider.pk}, "staff")):
        response = client.post(URL, form_data(patient, **changes))
        assert field in response.context["form"].errors
    for raw in (outsider_patient.pk, 10**30, "x", -1):
        page = client.post(URL, {**form_data(patient), "patient": raw})
        assert page.status_code == 200
        assert "Unknown patient: no patient with that id at this clinic." in messages_of(page)
        assert "Hopper" not in page.content.decode()
        got = client.get(URL, {"patient": raw})
        assert got.status_code == 200 and "Hopper" not in got.content.decode()
    assert counts() == before


def test_another_clinics_staff_cannot_book_for_this_clinics_patient(outsider, patient, chairs):
    # The outsider is a nurse (who books) at another clinic: this clinic's patient is unknown.
    client = client_for(outsider)
    response = client.get(URL, {"patient": patient.pk})
    assert response.status_code == 200
    assert patient.mrn not in response.content.decode()
    before = counts()
    client.post(URL, form_data(patient))
    assert counts() == before


def test_a_bad_day_in_the_link_says_so_and_shows_today(coordinator, chairs, patient):
    response = client_for(coordinator).get(URL, {"patient": patient.pk, "day": "9999-99-99"})
    assert response.status_code == 200
    assert any("Showing today." in m for m in messages_of(response))
    assert response.context["day"] == NOW.date()


def test_the_patient_is_found_by_name_or_mrn_within_the_clinic(
    coordinator, patient, outsider_patient
):
    client = client_for(coordinator)
    for query in ("Lovelace", patient.mrn):
        response = client.get(URL, {"q": query, "day": MONDAY.isoformat()})
        assert response.context["found"] == [patient]
    assert client.get(URL, {"q": "Hopper"}).context["found"] == []
    assert client.get(URL).status_code == 200


def test_the_page_reads_in_the_same_queries_however_full_the_day(
    coordinator, booker, chairs, prescriber, nurse, clinic, patient, django_assert_max_num_queries
):
    signed_plan_from(prescriber, clinic, patient, MONDAY)
    client = client_for(coordinator)
    params = {"patient": patient.pk, "day": MONDAY.isoformat()}
    client.get(URL, params)  # the session's first page writes what it keeps

    def queries():
        with django_assert_max_num_queries(40) as counted:
            response = client.get(URL, params)
            assert response.status_code == 200
        return len(counted.captured_queries)

    others = [make_patient(nurse, clinic, given_name=f"P{n}") for n in range(6)]
    book(booker, others[0], chairs[0], at(MONDAY, 8))
    few = queries()
    for n, other in enumerate(others[1:], start=1):
        book(booker, other, chairs[n % 2], at(MONDAY, 8 + 3 * (n // 2)))
    assert Appointment.objects.count() == 6
    assert queries() == few


def test_the_links_to_the_page(coordinator, prescriber, booker, admin, chairs, patient):
    chart = reverse("patient-chart", args=[patient.pk])
    booking = f"{URL}?patient={patient.pk}"
    assert booking in client_for(coordinator).get(chart).content.decode()
    assert booking not in client_for(prescriber).get(chart).content.decode()
    day = client_for(coordinator).get(reverse("schedule-day"), {"day": MONDAY.isoformat()})
    assert f"{URL}?day={MONDAY.isoformat()}" in day.content.decode()
    week = client_for(coordinator).get(reverse("schedule-week"), {"week": MONDAY.isoformat()})
    assert f"{URL}?day=" in week.content.decode()
    assert URL not in client_for(prescriber).get(reverse("schedule-week")).content.decode()
    # A closure's casualty links to its page, where the move form rebooks it.
    taken = book(booker, patient, chairs[0], at(MONDAY, 9))
    actions.add_closure(admin, start=at(MONDAY, 8), end=at(MONDAY, 12), reason="Leak")
    rebooking = client_for(coordinator).get(reverse("schedule-day")).content.decode()
    assert reverse("appointment-detail", args=[taken.pk]) in rebooking
    assert client_for(prescriber).get(URL).status_code == 403


def test_a_dose_outside_the_plans_sessions_passes_the_gates_too(
    coordinator, chairs, prescriber, clinic, patient
):
    signed_plan_from(prescriber, clinic, patient, MONDAY, esketamine=True, rems=False)
    before = counts()
    response = client_for(coordinator).post(
        URL,
        form_data(patient, kind="dosing", length="", chair=chairs[0].pk, transport_arranged="on"),
    )
    assert response.status_code == 200
    assert "not enrolled in the esketamine REMS" in str(response.context["form"].errors)
    assert counts() == before
