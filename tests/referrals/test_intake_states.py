"""The queue's pure rules: transitions and the response target."""

from datetime import datetime
from zoneinfo import ZoneInfo

from ketacare.clinical.datafiles import load
from ketacare.referrals import states

POLICY = load("intake", "ketacare.referrals")["response"]
NY = ZoneInfo("America/New_York")


def test_an_urgent_referral_is_due_by_the_end_of_its_day():
    arrived = datetime(2026, 12, 7, 15, 30, tzinfo=NY)  # a Monday
    assert states.due_by(arrived, True, POLICY) == datetime(2026, 12, 8, tzinfo=NY)


def test_a_routine_referral_is_due_one_business_day_later_skipping_the_weekend():
    friday = datetime(2026, 12, 11, 15, 30, tzinfo=NY)
    assert states.due_by(friday, False, POLICY) == datetime(2026, 12, 14, 15, 30, tzinfo=NY)
    saturday = datetime(2026, 12, 12, 10, 0, tzinfo=NY)
    assert states.due_by(saturday, False, POLICY) == datetime(2026, 12, 15, tzinfo=NY)


def test_transitions_refused_say_why():
    assert states.transition_problems("new", "contacted") == []
    assert states.transition_problems("withdrawn", "new") == [
        "The referral is withdrawn; it can no longer change."
    ]
    assert states.transition_problems("new", "evaluation_booked") == [
        "A new referral can only become: contacted, not a fit, withdrawn."
    ]
    assert states.transition_problems("contacted", "evaluation_booked") == [
        "An evaluation is booked by accepting the referral with a time."
    ]
    assert states.transition_problems("new", "not_a_fit") == [
        "Choose why the referral is not a fit.",
        "Say where the person was referred (or 'nowhere' and why).",
    ]
    assert states.transition_problems("new", "bogus") == ["Unknown state: 'bogus'."]


def test_waits_read_as_staff_say_them():
    from datetime import timedelta

    from ketacare.referrals.queue import span

    assert span(timedelta(minutes=12)) == "12 min"
    assert span(timedelta(hours=3, minutes=20)) == "3 h 20 min"
    assert span(timedelta(days=2, hours=3, minutes=5)) == "2 d 3 h"
