"""Booking a signed plan's induction in one step: every session in a free chair at the plan's
cadence, what could not be placed said in words, and the gates asked as for one booking."""

from datetime import time, timedelta

import pytest

from ketacare.audit.models import AuditEvent
from ketacare.clinical.protocols.library import get_protocol
from ketacare.scheduling import actions, rules
from ketacare.scheduling.gates import gates_of
from ketacare.scheduling.models import Appointment
from tests.conftest import make_patient
from tests.scheduling.conftest import MONDAY, at, book, counts, refused
from tests.scheduling.plans import signed_plan_from


def local_days(appointments):
    return [a.start.date() for a in appointments]


@pytest.fixture
def iv_plan(prescriber, clinic, patient):
    return signed_plan_from(prescriber, clinic, patient, MONDAY)


def test_the_induction_is_booked_at_the_plans_cadence_in_a_chair_with_a_pump(
    booker, chairs, iv_plan
):
    planned_days = list(iv_plan.sessions.values_list("date", flat=True))
    result = actions.book_series(booker, iv_plan.pk)
    assert result.unplaced == ()
    assert len(result.booked) == len(planned_days) == 6
    assert local_days(result.booked) == planned_days
    # Chair 2 has no infusion pump; the clinic opens at 08:00; 90 minutes of care.
    assert {a.chair for a in result.booked} == {chairs[0]}
    assert {a.start.time() for a in result.booked} == {time(8)}
    assert {a.end - a.start for a in result.booked} == {timedelta(minutes=90)}
    assert [a.planned.number for a in result.booked] == [1, 2, 3, 4, 5, 6]
    assert AuditEvent.objects.filter(object_type="appointment", action="create").count() == 6
    # Booked: nothing left to book.
    assert refused(actions.book_series, booker, iv_plan.pk) == (
        "Every session of the plan from today on is booked or given."
    )


def test_a_full_day_slides_the_session_and_its_planned_day_follows(
    booker, chairs, iv_plan, clinic, nurse
):
    other = make_patient(nurse, clinic, given_name="Grace")
    book(booker, other, chairs[0], at(MONDAY, 8), hours=10)
    result = actions.book_series(booker, iv_plan.pk)
    first = result.booked[0]
    assert first.start == at(MONDAY + timedelta(days=1), 8)
    first.planned.refresh_from_db()
    assert first.planned.date == MONDAY + timedelta(days=1)
    days = local_days(result.booked)
    # The cadence still holds: two days apart at least, three a week at most.
    assert rules.check_cadence(days, get_protocol("iv_ketamine")) == []


def test_what_cannot_be_placed_is_said_and_the_rest_is_booked(admin, booker, chairs, iv_plan):
    second_week = MONDAY + timedelta(days=7)
    actions.add_closure(
        admin,
        start=at(second_week, 0),
        end=at(second_week + timedelta(days=7), 0),
        reason="Clinic refurbishment",
    )
    result = actions.book_series(booker, iv_plan.pk)
    assert result.booked and result.unplaced
    closed = {second_week + timedelta(days=n) for n in range(7)}
    assert not closed & set(local_days(result.booked))
    message = result.unplaced[0].message
    assert message.startswith(f"Session {result.unplaced[0].session} (planned for ")
    assert "Clinic refurbishment" in message


def test_a_first_esketamine_dose_without_rems_enrolment_is_refused_on_every_path(
    booker, chairs, prescriber, clinic, patient
):
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY, esketamine=True, rems=False)
    before = counts()
    with pytest.raises(actions.SchedulingError) as refusal:
        actions.book_series(booker, plan.pk)
    assert counts() == before
    assert "not enrolled in the esketamine REMS" in str(refusal.value)
    assert "Rule: Spravato REMS" in str(refusal.value)
    # One booking of the plan's first session: the same gate, the same words.
    planned = plan.sessions.get(number=1)
    one = refused(
        book, booker, patient, chairs[0], at(MONDAY, 9), kind="dosing", planned_id=planned.pk
    )
    assert "not enrolled in the esketamine REMS" in one
    # A dose outside the plan's sessions (maintenance) is gated under the latest signed plan.
    maintenance = refused(book, booker, patient, chairs[0], at(MONDAY, 9), kind="dosing")
    assert "not enrolled in the esketamine REMS" in maintenance

    from tests.planning.conftest import give_consent

    give_consent(prescriber, clinic, patient, "rems_enrollment")
    result = actions.book_series(booker, plan.pk)
    assert len(result.booked) == 8 and result.unplaced == ()
    assert {a.end - a.start for a in result.booked} == {timedelta(hours=2)}


def test_the_patients_preferred_times_are_kept(booker, chairs, prescriber, clinic, patient):
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY, esketamine=True)
    tuesdays_and_thursdays = rules.Preference(frozenset({1, 3}), time(10), time(12))
    result = actions.book_series(booker, plan.pk, preference=tuesdays_and_thursdays)
    assert result.booked
    assert {a.start.weekday() for a in result.booked} <= {1, 3}
    assert {a.start.time() for a in result.booked} == {time(10)}


def test_moving_one_session_keeps_the_rest_of_the_series_valid(booker, chairs, iv_plan):
    booked = actions.book_series(booker, iv_plan.pk).booked
    second, third = booked[1], booked[2]
    # Onto the third session's day: too close to it.
    message = refused(
        actions.reschedule,
        booker,
        second.pk,
        start=third.start + timedelta(hours=3),
        end=third.end + timedelta(hours=3),
        chair_id=chairs[0].pk,
    )
    assert "is less than 2 days after the session on" in message
    # Into the chair without a pump.
    message = refused(
        actions.reschedule,
        booker,
        second.pk,
        start=second.start,
        end=second.end,
        chair_id=chairs[1].pk,
    )
    assert message == "Chair 2 does not have an infusion pump."
    # Later the same day, in its own chair: fine, and the rest stays as booked.
    actions.reschedule(
        booker,
        second.pk,
        start=second.start + timedelta(hours=4),
        end=second.end + timedelta(hours=4),
        chair_id=chairs[0].pk,
        reason="Patient's request",
    )
    assert Appointment.objects.filter(planned__plan=iv_plan, state="booked").count() == 6


def test_transport_and_a_used_up_authorisation_are_flags_not_refusals(
    booker, chairs, iv_plan, patient
):
    actions.record_authorisation(
        booker,
        patient_id=patient.pk,
        payer="Acme Health",
        reference="PA-1",
        approved_sessions=2,
        valid_from=MONDAY,
        valid_to=MONDAY + timedelta(days=60),
    )
    booked = actions.book_series(booker, iv_plan.pk, transport_arranged=False).booked
    assert len(booked) == 6
    first, third = gates_of(booked[0]), gates_of(booked[2])
    assert [g.rule for g in first] == ["transport_home"]
    assert not any(g.blocks for g in first + third)
    assert first[0].message == "No responsible adult arranged to take the patient home."
    assert [g.rule for g in third] == ["transport_home", "authorisation"]
    assert "approved 2 sessions" in third[1].message
    actions.set_transport(booker, booked[0].pk, True)
    booked[0].refresh_from_db()
    assert gates_of(booked[0]) == []
