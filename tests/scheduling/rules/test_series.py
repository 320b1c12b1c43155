"""Free slots on a day and an induction series proposed at the plan's cadence: placed where
every rule allows, and where not, said why."""

from dataclasses import replace
from datetime import UTC, time, timedelta

from ketacare.clinical.protocols.library import get_protocol
from ketacare.clinical.protocols.schedule import induction_schedule
from ketacare.scheduling.rules import (
    Closure,
    Preference,
    SeriesProposal,
    check_cadence,
    check_slot,
    free_slots,
    propose_series,
)
from tests.scheduling.rules.clinic import (
    IV_CHAIR,
    MONDAY,
    NASAL_CHAIR,
    SNAKE_CASE,
    ZONE,
    at,
    booking,
    context,
    days,
    shifts,
)

ESKETAMINE = get_protocol("esketamine_trd")
IV = get_protocol("iv_ketamine")
PATIENT = 1


def plan(protocol=ESKETAMINE, first=MONDAY):
    return induction_schedule(protocol, first)


def test_free_slots_start_on_the_grid_and_skip_a_taken_chair():
    taken = (booking(1, at(MONDAY, 8), 105, patient_id=2),)  # chair 1 until 9:45 + turnover
    slots = free_slots(MONDAY, IV, PATIENT, context(taken))
    # Only chair 1 has a pump; 10:00 is its first start after 9:45 and the turnover.
    assert slots[0].chair_id == 1 and slots[0].start == at(MONDAY, 10)
    assert slots[0].end == at(MONDAY, 11, 30)  # 60 min infusion + 30 min observation
    assert slots[-1].start == at(MONDAY, 15, 30)  # the last that ends by 17:00
    assert {s.start.minute for s in slots} <= {0, 15, 30, 45}
    assert all(not check_slot(s, context(taken)) for s in slots)


def test_the_series_keeps_the_plans_days_and_cadence_in_a_free_clinic():
    planned = plan()
    proposal = propose_series(ESKETAMINE, planned, PATIENT, context())
    assert proposal.unplaced == ()
    assert [b.start.date() for b in proposal.placed] == planned
    assert check_cadence([b.start.date() for b in proposal.placed], ESKETAMINE) == []
    assert all(b.start.time() == time(8) and b.chair_id == 1 for b in proposal.placed)


def test_a_full_day_slides_the_session_and_the_cadence_follows():
    # Wednesday's chairs are taken all day: session 2 goes to Thursday, and session 3 keeps
    # its Monday since Thursday to Monday is more than 2 days.
    wednesday = MONDAY + timedelta(days=2)
    full = tuple(booking(c, at(wednesday, 8), 540, patient_id=50 + c) for c in (1, 2))
    proposal = propose_series(ESKETAMINE, plan(), PATIENT, context(full))
    placed = [b.start.date() for b in proposal.placed]
    assert placed[:3] == [MONDAY, wednesday + timedelta(days=1), MONDAY + timedelta(days=7)]
    assert proposal.unplaced == ()
    assert check_cadence(placed, ESKETAMINE) == []


def test_the_preferred_times_are_honoured():
    preference = Preference(frozenset({1, 3}), time(13), time(14))
    proposal = propose_series(ESKETAMINE, plan(), PATIENT, context(preference=preference))
    assert len(proposal.placed) == 8
    for placed in proposal.placed:
        assert placed.start.weekday() in {1, 3} and placed.start.time() == time(13)
    assert check_cadence([b.start.date() for b in proposal.placed], ESKETAMINE) == []


def test_a_daylight_saving_change_keeps_the_local_time():
    # 10:00 in New York is 14:00 UTC before 1 November 2026 and 15:00 UTC after it.
    preference = Preference(frozenset(range(5)), time(10), time(10))
    planned = plan(first=MONDAY + timedelta(days=7))  # 26 October, across the change
    proposal = propose_series(ESKETAMINE, planned, PATIENT, context(preference=preference))
    assert len(proposal.placed) == 8
    assert {b.start.astimezone(ZONE).time() for b in proposal.placed} == {time(10)}
    assert {b.start.astimezone(UTC).hour for b in proposal.placed} == {14, 15}
    assert all(b.end - b.start == timedelta(minutes=120) for b in proposal.placed)


def test_each_session_not_placed_says_why_in_words():
    week = Closure.days(MONDAY + timedelta(days=7), MONDAY + timedelta(days=13), ZONE, "holiday")
    proposal = propose_series(ESKETAMINE, plan(), PATIENT, context(closures=(week,)))
    assert [u.session for u in proposal.unplaced] == [3, 4]
    third = proposal.unplaced[0]
    assert third.planned_day == MONDAY + timedelta(days=7)
    assert third.message.startswith(
        "Session 3 (planned for Monday 26 October) could not be booked. "
        "Monday 26 October: The clinic is closed on Monday 26 October (holiday)."
    )
    assert len(third.days) == 4  # the planned day and up to 3 days later
    assert len(proposal.placed) == 6
    assert not SNAKE_CASE.search(" ".join(u.message for u in proposal.unplaced))


def test_no_chair_with_the_equipment_and_no_prescriber_are_explained():
    no_pump = propose_series(IV, plan(IV), PATIENT, context(chairs=(NASAL_CHAIR,)))
    assert no_pump.placed == ()
    assert no_pump.unplaced[0].days[0].message == (
        "Monday 19 October: No chair has an infusion pump."
    )
    nurses = shifts(days(MONDAY, 40), "nurse", 10)
    unstaffed = propose_series(ESKETAMINE, plan(), PATIENT, context(shift_list=nurses))
    assert unstaffed.placed == ()
    reasons = unstaffed.unplaced[0].days[0].reasons
    assert [r.rule for r in reasons] == ["prescriber_on_site"]


def test_the_nurse_ratio_is_explained_when_it_fills_the_day():
    # Three other dosed patients in chairs 8:00-17:00 with one nurse: no room for a fourth.
    chairs = (IV_CHAIR, NASAL_CHAIR, replace(NASAL_CHAIR, id=3), replace(NASAL_CHAIR, id=4))
    busy = tuple(
        booking(c, at(d, 8), 540, patient_id=90 + c, protocol_id="im_ketamine")
        for c in (1, 2, 3)
        for d in days(MONDAY, 40)
    )
    proposal = propose_series(ESKETAMINE, plan(), PATIENT, context(busy, chairs=chairs))
    assert proposal.placed == ()
    rules = {r.rule for u in proposal.unplaced for d in u.days for r in d.reasons}
    assert "nurse_ratio" in rules


def test_moving_one_appointment_keeps_the_rest_of_the_series_valid():
    proposal = propose_series(ESKETAMINE, plan(), PATIENT, context())
    series = [replace(b, id=n) for n, b in enumerate(proposal.placed, start=1)]
    moving = series[3]
    # Move session 4 to the afternoon of its day: a free slot with the others in place.
    others = tuple(b for b in series if b is not moving)
    options = free_slots(moving.start.date(), ESKETAMINE, PATIENT, context(others))
    moved = replace(next(s for s in options if s.start.hour >= 13), id=moving.id)
    assert check_slot(moved, context(tuple(series))) == []
    series[3] = moved
    for appointment in series:
        assert check_slot(appointment, context(tuple(series))) == []
    assert check_cadence([b.start.date() for b in series], ESKETAMINE) == []


def test_a_session_that_slid_can_crowd_the_next_out_and_the_reason_says_so():
    # Monday is full, so session 1 goes to Tuesday; session 2's Wednesday is then too soon,
    # and Thursday to Saturday are closed.
    full = tuple(booking(c, at(MONDAY, 8), 540, patient_id=50 + c) for c in (1, 2))
    closed = Closure.days(MONDAY + timedelta(days=3), MONDAY + timedelta(days=4), ZONE, "move")
    wednesday = MONDAY + timedelta(days=2)
    proposal = propose_series(
        ESKETAMINE, [MONDAY, wednesday], PATIENT, context(full, closures=(closed,))
    )
    assert [b.start.date() for b in proposal.placed] == [MONDAY + timedelta(days=1)]
    [second] = proposal.unplaced
    assert [d.day for d in second.days] == days(wednesday, 4)
    assert second.days[0].message == (
        "Wednesday 21 October: Wednesday 21 October is less than 2 days after the session on "
        "Tuesday 20 October."
    )
    assert second.days[3].message == "Saturday 24 October: The clinic is closed on Saturdays."


def test_a_clinic_without_chairs_says_so():
    proposal = propose_series(ESKETAMINE, [MONDAY], PATIENT, context(chairs=()))
    assert proposal.unplaced[0].days[0].message == "Monday 19 October: The clinic has no chairs."


def test_a_plan_without_sessions_proposes_nothing():
    assert propose_series(ESKETAMINE, [], PATIENT, context()) == SeriesProposal((), ())
