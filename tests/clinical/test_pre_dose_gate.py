"""The pre-dose gate over repeat readings (clinical.session.gate): a passing repeat reading
reopens a stopped gate only after the rest interval; a severe reading waits for a prescriber,
who may open it only after a repeat reading; heart rate is judged as well as blood pressure."""

from datetime import datetime, timedelta

from ketacare.clinical.datafiles import load
from ketacare.clinical.session import Reading, VitalSigns, gate_state, rest_minutes

T0 = datetime(2026, 12, 6, 9, 0)
NORMAL = VitalSigns(systolic=124, diastolic=78, heart_rate=72, spo2=98)
HIGH = VitalSigns(systolic=152, diastolic=94, heart_rate=72, spo2=98)
SEVERE = VitalSigns(systolic=184, diastolic=106, heart_rate=80, spo2=98)
IV = "iv_ketamine"


def at(minutes: float, vitals: VitalSigns) -> Reading:
    return Reading(T0 + timedelta(minutes=minutes), vitals)


def test_the_rest_interval_is_clinic_policy_in_the_data_file():
    policy = load("session_thresholds")["gate_repeat"]
    assert policy["policy"] is True and "clinic policy" in policy["source"]
    assert rest_minutes() == policy["rest_minutes"] == 5


def test_a_passing_first_reading_opens_the_gate():
    state = gate_state(IV, [at(0, NORMAL)])
    assert state.holding == () and state.stopped_at is None and state.cleared_at is None


def test_a_repeat_reading_before_the_rest_interval_changes_nothing():
    state = gate_state(IV, [at(0, HIGH), at(4.99, NORMAL)])
    assert [f.check.id for f in state.holding] == ["ketamine_bp_above_140_90"]
    assert state.readings[1].counted is False
    assert "a repeat reading counts after 5 min rest" in state.readings[1].note
    assert state.cleared_at is None


def test_a_repeat_reading_after_the_rest_interval_reopens_the_gate():
    state = gate_state(IV, [at(0, HIGH), at(5, NORMAL)])
    assert state.holding == ()
    assert state.stopped_at == T0 and state.cleared_at == T0 + timedelta(minutes=5)
    assert state.readings[1].counted is True
    assert state.readings[1].note == "repeat reading after 5 min rest: passes"


def test_the_rest_counts_from_the_last_reading_that_stopped_dosing():
    state = gate_state(IV, [at(0, HIGH), at(4, HIGH), at(7, NORMAL)])
    assert state.holding and state.readings[2].counted is False
    state = gate_state(IV, [at(0, HIGH), at(4, HIGH), at(9, NORMAL)])
    assert state.holding == ()


def test_a_worse_reading_always_counts():
    state = gate_state(IV, [at(0, NORMAL), at(1, HIGH)])
    assert state.holding and state.readings[1].counted is True


def test_a_severe_reading_is_never_cleared_by_a_repeat_reading():
    state = gate_state(IV, [at(0, SEVERE), at(20, NORMAL)])
    assert state.severe is True
    assert [f.check.id for f in state.holding] == ["severe_hypertension_before_dose"]
    assert state.cleared_at is None and state.override_allowed is True


def test_a_prescriber_opens_a_severe_gate_only_after_a_repeat_reading_after_rest():
    alone = gate_state(IV, [at(0, SEVERE)])
    assert alone.override_allowed is False
    assert "repeat reading after at least 5 minutes" in (alone.refusal_to_override or "")
    too_soon = gate_state(IV, [at(0, SEVERE), at(4, NORMAL)])
    assert too_soon.override_allowed is False
    after_rest = gate_state(IV, [at(0, SEVERE), at(5, SEVERE)])
    assert after_rest.override_allowed is True and after_rest.refusal_to_override is None


def test_the_severe_tier_is_above_180_110_on_every_route():
    for route in ("iv_ketamine", "im_ketamine", "intranasal_esketamine"):
        assert not gate_state(route, [at(0, VitalSigns(180, 110, 80, 98))]).severe
        assert gate_state(route, [at(0, VitalSigns(181, 100, 80, 98))]).severe
        assert gate_state(route, [at(0, VitalSigns(170, 111, 80, 98))]).severe


def test_heart_rate_is_checked_at_the_gate_with_its_own_severe_tier():
    fast = gate_state(IV, [at(0, VitalSigns(124, 78, 111, 98))])
    assert [f.check.id for f in fast.holding] == ["heart_rate_above_110"] and not fast.severe
    very_fast = gate_state(IV, [at(0, VitalSigns(124, 78, 121, 98))])
    assert very_fast.severe and "severe_tachycardia_before_dose" in {
        f.check.id for f in very_fast.holding
    }


def test_a_nothing_to_override_gate_says_so():
    assert "nothing to override" in (gate_state(IV, [at(0, NORMAL)]).refusal_to_override or "")
