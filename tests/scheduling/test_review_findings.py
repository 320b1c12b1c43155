"""What a review of the appointment book found, each now refused or counted: doses outside the
plan's sessions watched and spaced like the others, a session on the chair board not booked
twice, an authorisation not overbooked by booking earlier, a series after a moved session, a
clinic closure and a telehealth booking serialized by the book's lock."""

from datetime import timedelta

import pytest

from ketacare.scheduling import actions, context
from ketacare.scheduling.gates import authorisation_problem
from tests.conftest import make_patient
from tests.scheduling.conftest import MONDAY, at, book, refused
from tests.scheduling.plans import signed_plan_from

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)


def dose(booker, patient, chair, start, **more):
    return book(booker, patient, chair, start, hours=2, kind="dosing", **more)


def test_a_maintenance_dose_counts_for_the_nurse_ratio(booker, admin, chairs, prescriber, clinic):
    patients = [make_patient(booker.user, clinic, given_name=f"P{n}") for n in range(4)]
    for patient in patients:
        signed_plan_from(prescriber, clinic, patient, MONDAY)
    pumps = [chairs[0]] + [actions.add_chair(admin, f"Chair {n}", ["iv_pump"]) for n in (3, 4, 5)]
    # Three doses outside the plans' sessions, one nurse on shift.
    for patient, chair in zip(patients[:3], pumps, strict=False):
        dose(booker, patient, chair, at(MONDAY, 9))
    protocols = [bk.protocol_id for bk in context.bookings(clinic, at(MONDAY, 8), at(MONDAY, 18))]
    assert protocols == ["iv_ketamine"] * 3
    message = refused(dose, booker, patients[3], pumps[3], at(MONDAY, 9))
    assert "4 patients for 1 nurse" in message


def test_every_dose_keeps_the_cadence_whichever_plan_or_session(
    booker, chairs, prescriber, clinic, patient
):
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY)
    first = plan.sessions.get(number=1)
    dose(booker, patient, chairs[0], at(MONDAY, 9), planned_id=first.pk)
    message = refused(dose, booker, patient, chairs[0], at(TUESDAY, 9))
    assert "is less than 2 days after the session on" in message
    dose(booker, patient, chairs[0], at(WEDNESDAY, 9))  # two days later: fine


def test_a_session_on_the_chair_board_is_not_booked_again(
    booker, chairs, prescriber, nurse, clinic, patient
):
    from ketacare.treatments.models import TreatmentSession

    plan = signed_plan_from(prescriber, clinic, patient, MONDAY)
    first = plan.sessions.get(number=1)
    TreatmentSession.objects.create(
        clinic=clinic, patient=patient, plan=plan, planned=first, date=first.date, chair="A"
    )
    message = refused(dose, booker, patient, chairs[0], at(WEDNESDAY, 9), planned_id=first.pk)
    assert "Session 1 of the plan is already on the chair board." in message


def test_booking_earlier_does_not_overbook_an_authorisation(
    booker, chairs, prescriber, clinic, patient
):
    signed_plan_from(prescriber, clinic, patient, MONDAY)
    actions.record_authorisation(
        booker,
        patient_id=patient.pk,
        payer="Acme",
        reference="PA-9",
        approved_sessions=1,
        valid_from=MONDAY,
        valid_to=MONDAY + timedelta(days=30),
    )
    dose(booker, patient, chairs[0], at(MONDAY + timedelta(days=4), 9))
    problem = authorisation_problem(clinic, patient, at(MONDAY, 9), booking=True)
    assert problem is not None and "all are booked or given." in problem


def test_the_rest_of_an_induction_is_booked_after_a_session_was_moved(
    booker, chairs, prescriber, clinic, patient
):
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY, esketamine=True)
    first = plan.sessions.get(number=1)
    dose(booker, patient, chairs[0], at(TUESDAY, 9), planned_id=first.pk)
    result = actions.book_series(booker, plan.pk)
    assert len(result.booked) == 7
    days = sorted(a.start.date() for a in result.booked)
    assert days[0] >= TUESDAY + timedelta(days=2)


def test_the_checklist_looks_up_the_plans_of_maintenance_doses_at_once(
    booker, coordinator, chairs, prescriber, clinic, time_machine
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from tests.conftest import client_for
    from tests.scheduling.conftest import NOW

    time_machine.move_to(NOW - timedelta(days=3), tick=False)
    client = client_for(coordinator)
    url = reverse("schedule-checklist")
    client.get(url, {"day": MONDAY.isoformat()})

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"day": MONDAY.isoformat()}).status_code == 200
        return len(captured.captured_queries)

    hours = iter(range(8, 18, 3))
    for n in range(3):
        patient = make_patient(booker.user, clinic, given_name=f"M{n}")
        signed_plan_from(prescriber, clinic, patient, MONDAY)
        dose(booker, patient, chairs[0], at(MONDAY, next(hours)))
        if n == 0:
            one = queries()
    assert queries() == one


def test_the_plan_does_not_move_a_booked_session_under_its_appointment(
    booker, chairs, prescriber, clinic, patient
):
    from ketacare.planning.actions import PlanningError, reschedule_session
    from tests.planning.conftest import as_prescriber

    plan = signed_plan_from(prescriber, clinic, patient, MONDAY)
    actions.book_series(booker, plan.pk)
    later = WEDNESDAY + timedelta(days=7)
    with pytest.raises(PlanningError, match=r"^Session 2 is booked in the appointment book"):
        reschedule_session(as_prescriber(prescriber, clinic), plan.pk, 2, later)


def test_the_chair_board_shows_a_booked_time_on_the_clinics_clock(
    booker, chairs, prescriber, nurse, clinic, patient
):
    from django.urls import reverse

    from tests.conftest import client_for

    clinic.time_zone = "America/New_York"  # 08:00 there is 13:00 UTC in December
    clinic.save(update_fields=["time_zone"])
    booker.clinic.time_zone = clinic.time_zone
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY)
    first = actions.book_series(booker, plan.pk).booked[0]
    assert first.start.astimezone(clinic.zone).hour == 8
    page = client_for(nurse).get(reverse("chair-board"), {"date": MONDAY.isoformat()})
    waiting = page.content.decode().split('id="waiting"')[1]
    assert ">08:00</a>" in waiting
