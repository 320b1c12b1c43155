import itertools
from datetime import date, timedelta

import pytest

from ketacare.clinical.protocols import get_protocol
from ketacare.clinical.protocols.schedule import (
    ScheduleError,
    induction_schedule,
    maintenance_phases,
    maintenance_schedule,
    reschedule,
)

IV = get_protocol("iv_ketamine")
ESKETAMINE = get_protocol("esketamine_trd")
MONDAY = date(2026, 11, 30)


def test_iv_induction_is_six_sessions_three_a_week():
    days = induction_schedule(IV, MONDAY)
    assert [d.strftime("%a %d") for d in days] == [
        "Mon 30",
        "Wed 02",
        "Fri 04",
        "Mon 07",
        "Wed 09",
        "Fri 11",
    ]
    assert (days[-1] - days[0]).days == 11  # about 12 days (Murrough 2013)


def test_esketamine_twice_weekly_for_four_weeks():
    days = induction_schedule(ESKETAMINE, MONDAY)
    assert len(days) == 8
    weeks = {d.isocalendar().week for d in days}
    assert len(weeks) == 4


def test_only_clinic_days_are_used():
    days = induction_schedule(IV, MONDAY, clinic_days={1, 3})  # Tuesdays and Thursdays
    assert {d.weekday() for d in days} == {1, 3}
    assert all((b - a).days >= 2 for a, b in itertools.pairwise(days))


def test_start_on_a_weekend_begins_on_the_next_clinic_day():
    assert induction_schedule(IV, MONDAY - timedelta(days=2))[0] == MONDAY


def test_moving_a_session_reflows_the_rest():
    days = induction_schedule(IV, MONDAY)
    moved = reschedule(days, 2, date(2026, 12, 7), IV)  # Friday's session to Monday
    assert moved[:2] == days[:2]
    assert [d.strftime("%a %d") for d in moved[2:]] == ["Mon 07", "Wed 09", "Fri 11", "Mon 14"]
    assert len(moved) == len(days)


@pytest.mark.parametrize(
    ("new_date", "message"),
    [
        (date(2026, 12, 5), "not a clinic day"),
        (date(2026, 12, 3), "less than 2 days after the previous session"),
    ],
)
def test_a_move_that_breaks_a_rule_is_refused_with_the_rule(new_date, message):
    days = induction_schedule(IV, MONDAY)
    with pytest.raises(ScheduleError, match=message):
        reschedule(days, 2, new_date, IV)


def test_a_week_cannot_take_more_sessions_than_the_protocol_allows():
    days = induction_schedule(ESKETAMINE, MONDAY)  # Mon 30, Wed 02, Mon 07, ...
    with pytest.raises(ScheduleError, match="already has 2 sessions"):
        reschedule(days, 2, date(2026, 12, 4), ESKETAMINE)


def test_moving_an_earlier_session_does_not_undo_a_later_move():
    protocol = get_protocol("iv_ketamine")
    schedule = induction_schedule(protocol, date(2026, 12, 7))  # Mon Wed Fri Mon Wed Fri
    moved = reschedule(schedule, 4, date(2026, 12, 18), protocol)  # session 5 to Friday
    assert moved[4:] == [date(2026, 12, 18), date(2026, 12, 21)]
    # Session 2 one day later: sessions 3-4 are pushed to keep the spacing; 5 stays moved.
    again = reschedule(moved, 1, date(2026, 12, 10), protocol)
    assert again[1:4] == [date(2026, 12, 10), date(2026, 12, 14), date(2026, 12, 16)]
    assert again[4] == date(2026, 12, 18)


def test_esketamine_maintenance_follows_the_label():
    # Weeks 5-8 weekly, then every 2 weeks by default (the least frequent the label allows).
    days = maintenance_schedule(ESKETAMINE, MONDAY, through_week=12)
    assert [d.isoformat() for d in days] == [
        "2026-12-28",  # week 5
        "2027-01-04",
        "2027-01-11",
        "2027-01-18",  # week 8
        "2027-01-25",  # week 9
        "2027-02-08",  # week 11
    ]
    assert days[0] > induction_schedule(ESKETAMINE, MONDAY)[-1]


def test_weekly_maintenance_from_week_9_is_the_prescribers_choice():
    weekly = maintenance_schedule(ESKETAMINE, MONDAY, through_week=12, every_weeks=1)
    assert len(weekly) == 8
    assert all((b - a).days == 7 for a, b in itertools.pairwise(weekly))
    with pytest.raises(
        ScheduleError, match="from week 9 the protocol allows every 2 weeks or weekly"
    ):
        maintenance_schedule(ESKETAMINE, MONDAY, through_week=12, every_weeks=3)


@pytest.mark.parametrize(("through_week", "sessions"), [(4, 0), (5, 1), (8, 4), (9, 5), (10, 5)])
def test_maintenance_stops_at_the_horizon(through_week, sessions):
    assert len(maintenance_schedule(ESKETAMINE, MONDAY, through_week=through_week)) == sessions


def test_maintenance_uses_only_clinic_days():
    days = maintenance_schedule(ESKETAMINE, MONDAY, through_week=9, clinic_days={1, 3})
    assert {d.weekday() for d in days} == {1}  # the Tuesday of each week due


def test_the_suicidal_ideation_protocol_is_84_mg_twice_weekly_for_4_weeks_only():
    protocol = get_protocol("esketamine_mdd_si")
    days = induction_schedule(protocol, MONDAY)
    assert len(days) == 8
    assert len({d.isocalendar().week for d in days}) == 4
    assert protocol.starting_dose == 84
    assert maintenance_phases(protocol) == ()
    with pytest.raises(ScheduleError, match="has no maintenance phase"):
        maintenance_schedule(protocol, MONDAY, through_week=12)


def test_racemic_protocols_claim_no_maintenance():
    for protocol_id in ("iv_ketamine", "im_ketamine"):
        assert maintenance_phases(get_protocol(protocol_id)) == ()
