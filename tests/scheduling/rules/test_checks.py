"""Each booking rule refuses what it must, accepts the case one step away, and says why in
words staff read."""

from dataclasses import replace
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ketacare.clinical.protocols.library import get_protocol
from ketacare.scheduling.rules import (
    Booking,
    BookingContext,
    Closure,
    Preference,
    booking_policy,
    check_cadence,
    check_chair_equipment,
    check_chair_free,
    check_closures,
    check_nurse_ratio,
    check_opening_hours,
    check_patient_free,
    check_preferred_times,
    check_prescriber_on_site,
    check_slot,
    slot_minutes,
)
from tests.scheduling.rules.clinic import (
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

TUESDAY = MONDAY + timedelta(days=1)
SUNDAY = MONDAY - timedelta(days=1)


def test_the_minimum_slot_is_the_protocols_dose_and_observation_plus_turnover():
    policy = booking_policy()
    assert policy.turnover_minutes == 15
    # Esketamine: at least 2 hours' monitoring (label), then 15 minutes' turnover.
    assert slot_minutes(get_protocol("esketamine_trd"), policy) == 120 + 15
    # IV: the longest infusion (60 min), 30 min observation after it, then the turnover.
    assert slot_minutes(get_protocol("iv_ketamine"), policy) == 60 + 30 + 15
    assert slot_minutes(get_protocol("im_ketamine"), policy) == 60 + 15


def test_the_policy_file_says_what_is_label_and_what_is_clinic_policy():
    policy = booking_policy()
    assert policy.prescriber_drugs == {"esketamine"}
    assert policy.patients_per_nurse == 3
    assert policy.needs(get_protocol("iv_ketamine")) == {"iv_pump"}


def test_opening_hours_refuse_a_closed_weekday_and_a_session_past_closing():
    refusal = check_opening_hours(booking(1, at(SUNDAY, 10), 90), context())
    assert refusal is not None and refusal.message == "The clinic is closed on Sundays."
    late = check_opening_hours(booking(1, at(MONDAY, 15, 45), 90), context())
    assert late is not None
    assert late.message == (
        "On Monday 19 October the clinic is open 08:00–17:00; this appointment would run "
        "15:45–17:15."
    )
    assert check_opening_hours(booking(1, at(MONDAY, 15, 30), 90), context()) is None
    unset = replace(context().resources, hours=())
    refusal = check_opening_hours(booking(1, at(MONDAY, 10), 90), BookingContext(unset))
    assert refusal is not None and "no opening hours yet" in refusal.message


def test_a_clinic_closure_and_a_chairs_maintenance_refuse():
    holiday = Closure.days(MONDAY, MONDAY, ZONE, "staff training")
    refusal = check_closures(booking(1, at(MONDAY, 10), 90), context(closures=(holiday,)))
    assert refusal is not None
    assert refusal.message == "The clinic is closed on Monday 19 October (staff training)."
    assert check_closures(booking(1, at(TUESDAY, 10), 90), context(closures=(holiday,))) is None

    pump = Closure(at(MONDAY, 9), at(MONDAY, 12), "pump maintenance", chair_id=1)
    closed = context(closures=(pump,))
    refusal = check_closures(booking(1, at(MONDAY, 11), 90), closed)
    assert refusal is not None
    assert refusal.message == "Chair 1 is out of service 09:00–12:00 (pump maintenance)."
    assert check_closures(booking(2, at(MONDAY, 11), 90), closed) is None
    assert check_closures(booking(1, at(MONDAY, 12), 90), closed) is None


def test_a_chair_without_the_routes_equipment_refuses():
    refusal = check_chair_equipment(booking(2, at(MONDAY, 10), 90), context())
    assert refusal is not None and refusal.rule == "chair_equipment"
    assert refusal.message == "Chair 2 does not have an infusion pump."
    assert check_chair_equipment(booking(1, at(MONDAY, 10), 90), context()) is None
    nasal = booking(2, at(MONDAY, 10), 120, protocol_id="esketamine_trd")
    assert check_chair_equipment(nasal, context()) is None


def test_a_taken_chair_refuses_until_the_turnover_is_over():
    existing = (booking(1, at(MONDAY, 8), 120, patient_id=2),)  # leaves at 10:00
    refusal = check_chair_free(booking(1, at(MONDAY, 10, 10), 90), context(existing))
    assert refusal is not None
    assert refusal.message == (
        "Chair 1 is taken 08:00–10:15, with 15 minutes to turn the chair round."
    )
    assert check_chair_free(booking(1, at(MONDAY, 10, 15), 90), context(existing)) is None
    assert check_chair_free(booking(2, at(MONDAY, 9), 90), context(existing)) is None
    # The turnover counts before an existing booking too: ending at 7:50 leaves the chair
    # free at 8:05, after that one began.
    early = booking(1, at(MONDAY, 6, 20), 90)
    assert check_chair_free(early, context(existing)) is not None


def test_the_patient_cannot_be_in_two_places():
    telehealth = (booking(None, at(MONDAY, 11), 30, patient_id=1, protocol_id=None),)
    refusal = check_patient_free(booking(2, at(MONDAY, 10), 90), context(telehealth))
    assert refusal is not None
    assert refusal.message == "The patient already has an appointment 11:00–11:30."
    other_patient = booking(2, at(MONDAY, 10), 90, patient_id=3)
    assert check_patient_free(other_patient, context(telehealth)) is None


def test_esketamine_needs_a_prescriber_on_site_for_the_whole_session():
    nurses_only = shifts(days(MONDAY, 1), "nurse", 10)
    esketamine = booking(2, at(MONDAY, 10), 120, protocol_id="esketamine_trd")
    refusal = check_prescriber_on_site(esketamine, context(shift_list=nurses_only))
    assert refusal is not None and refusal.rule == "prescriber_on_site"
    assert "No prescriber is on site at 10:00" in refusal.message
    assert "Spravato REMS" in refusal.message
    # Racemic ketamine does not need one (clinic policy may still staff one).
    iv = booking(1, at(MONDAY, 10), 90)
    assert check_prescriber_on_site(iv, context(shift_list=nurses_only)) is None

    # Two shifts that meet cover the session; one that ends at 11:00 leaves a gap.
    morning = shifts([MONDAY], "prescriber", 20, 8, 11)
    afternoon = shifts([MONDAY], "prescriber", 21, 11, 17)
    assert check_prescriber_on_site(esketamine, context(shift_list=morning + afternoon)) is None
    refusal = check_prescriber_on_site(esketamine, context(shift_list=morning))
    assert refusal is not None and "at 11:00" in refusal.message


def test_the_nurse_ratio_allows_three_patients_a_nurse_and_refuses_a_fourth():
    nurse = shifts([MONDAY], "nurse", 10)
    seated = tuple(booking(c, at(MONDAY, 10), 90, patient_id=c + 100) for c in (1, 2, 3))
    fourth = booking(4, at(MONDAY, 11), 90, patient_id=9)
    refusal = check_nurse_ratio(fourth, context(seated, shift_list=nurse))
    assert refusal is not None
    assert refusal.message == (
        "At 11:00 there would be 4 patients for 1 nurse on shift; the clinic allows 3 per nurse."
    )
    # Once one of the three has left, the fourth fits.
    assert check_nurse_ratio(fourth, context(seated[:2], shift_list=nurse)) is None
    later = booking(4, at(MONDAY, 11, 30), 90, patient_id=9)
    assert check_nurse_ratio(later, context(seated, shift_list=nurse)) is None
    # A second nurse doubles the room; no nurse at all refuses even one patient.
    two = nurse + shifts([MONDAY], "nurse", 11, 10, 17)
    assert check_nurse_ratio(fourth, context(seated, shift_list=two)) is None
    alone = check_nurse_ratio(fourth, context(shift_list=()))
    assert alone is not None and alone.message == "No nurse is on shift at 11:00."
    # An evaluation in a room is not a monitored patient: it neither counts nor is counted.
    talks = tuple(replace(b, protocol_id=None) for b in seated)
    assert check_nurse_ratio(fourth, context(talks, shift_list=nurse)) is None
    assert check_nurse_ratio(replace(fourth, protocol_id=None), context(shift_list=())) is None


def test_the_nurse_ratio_is_checked_where_a_nurse_leaves_mid_session():
    nurses = shifts([MONDAY], "nurse", 10) + shifts([MONDAY], "nurse", 11, 8, 12)
    seated = tuple(booking(c, at(MONDAY, 10), 180, patient_id=c + 100) for c in (1, 2, 3))
    fourth = booking(4, at(MONDAY, 10), 180, patient_id=9)
    refusal = check_nurse_ratio(fourth, context(seated, shift_list=nurses))
    assert refusal is not None and refusal.message.startswith("At 12:00 there would be 4")


def test_preferred_times_refuse_another_weekday_or_hour():
    preference = Preference(frozenset({0, 3}), time(9), time(12))
    tuesday = check_preferred_times(booking(1, at(TUESDAY, 10), 90), context(preference=preference))
    assert tuesday is not None
    assert tuesday.message == (
        "Tuesday 20 October at 10:00 is outside the patient's preferred times "
        "(Mondays or Thursdays, starting 09:00–12:00)."
    )
    assert check_preferred_times(booking(1, at(MONDAY, 12, 15), 90), context(preference=preference))
    assert not check_preferred_times(booking(1, at(MONDAY, 12), 90), context(preference=preference))
    assert check_preferred_times(booking(1, at(TUESDAY, 10), 90), context()) is None


def test_check_slot_lists_every_broken_rule_and_ignores_the_booking_being_moved():
    existing = booking(2, at(MONDAY, 10), 90, patient_id=1, booking_id=7)
    moved = booking(2, at(MONDAY, 10, 30), 90, patient_id=1, booking_id=7)
    assert [r.rule for r in check_slot(moved, context((existing,)))] == ["chair_equipment"]
    # As a new booking it collides with the existing one twice, and its chair has no pump.
    new = booking(2, at(MONDAY, 10, 30), 90, patient_id=1)
    assert [r.rule for r in check_slot(new, context((existing,)))] == [
        "chair_equipment",
        "chair_free",
        "patient_free",
    ]


@pytest.mark.parametrize(
    "candidate",
    [
        booking(2, at(SUNDAY, 16), 120, protocol_id="esketamine_trd"),
        booking(2, at(MONDAY, 16), 120, protocol_id="iv_ketamine"),
    ],
)
def test_no_refusal_shows_staff_an_identifier(candidate):
    preference = Preference(frozenset({4}), time(9), time(10))
    refusals = check_slot(
        candidate,
        context(
            (booking(2, at(MONDAY, 15), 60, patient_id=1), booking(None, at(SUNDAY, 16), 30)),
            preference,
            shift_list=(),
            chairs=(NASAL_CHAIR,),
            closures=(Closure(at(SUNDAY, 8), at(MONDAY, 18), "flood", chair_id=2),),
        ),
    )
    assert len(refusals) >= 5
    for refusal in refusals:
        assert not SNAKE_CASE.search(refusal.message), refusal.message


def test_the_cadence_refuses_sessions_too_close_or_too_many_in_a_week():
    esketamine = get_protocol("esketamine_trd")  # twice a week, at least 2 days apart
    assert check_cadence([MONDAY, MONDAY + timedelta(days=2)], esketamine) == []
    [close] = check_cadence([MONDAY, TUESDAY], esketamine)
    assert close.message == (
        "Tuesday 20 October is less than 2 days after the session on Monday 19 October."
    )
    three = [MONDAY, MONDAY + timedelta(days=2), MONDAY + timedelta(days=4)]
    [crowded] = check_cadence(three, esketamine)
    assert crowded.message.startswith("The week of Monday 19 October has 3 sessions;")


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        Booking(1, at(MONDAY, 10).replace(tzinfo=None), at(MONDAY, 11), 1)
    with pytest.raises(ValueError, match="not after"):
        Booking(1, at(MONDAY, 10), at(MONDAY, 10), 1)


def test_times_in_another_zone_are_compared_as_moments():
    # The database hands back UTC; the clinic's zone is New York (UTC-4 in October).
    utc = ZoneInfo("UTC")
    existing = Booking(1, at(MONDAY, 14).astimezone(utc), at(MONDAY, 15).astimezone(utc), 2)
    assert check_chair_free(booking(1, at(MONDAY, 13), 60), context((existing,))) is not None
    assert check_chair_free(booking(1, at(MONDAY, 12), 30), context((existing,))) is None
