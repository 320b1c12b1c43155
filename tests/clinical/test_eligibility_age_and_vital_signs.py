"""Eligibility by age and by the vital signs taken at evaluation: under 18 excludes esketamine
(label) and needs clearance for racemic ketamine (clinic policy); a severe blood-pressure or
heart-rate tier needs clearance on every route, at its boundaries."""

import pytest

from ketacare.clinical.eligibility import ROUTES, load_rules
from tests.clinical.test_eligibility_rules import (
    ESKETAMINE,
    RACEMIC,
    changed,
    fired_ids,
    judge,
)

SEVERE = {"severe_hypertension_at_evaluation", "severe_tachycardia_at_evaluation"}


# --- age -------------------------------------------------------------------------------------


@pytest.mark.parametrize("age", [0, 12, 17])
def test_under_18_excludes_esketamine_by_its_label(age):
    esketamine = judge(changed({"age_years": age}))[ESKETAMINE]
    assert esketamine.verdict == "exclude"
    (fired,) = esketamine.fired
    assert fired.id == "esketamine_under_18"
    assert fired.policy is False
    assert fired.values == {"age_years": age}
    assert fired.source.startswith("Spravato (esketamine) prescribing information, Indications")
    assert "[confirmed, label]" in fired.source


@pytest.mark.parametrize("age", [0, 17])
def test_under_18_needs_clearance_for_racemic_ketamine_as_clinic_policy(age):
    verdicts = judge(changed({"age_years": age}))
    for route in RACEMIC:
        assert verdicts[route].verdict == "needs_clearance"
        (fired,) = verdicts[route].fired
        assert fired.id == "ketamine_under_18"
        assert fired.policy is True
        assert fired.source.startswith("clinic policy")
        assert "off-label" in fired.source


@pytest.mark.parametrize("age", [18, 19, 65])
def test_18_and_over_fire_no_age_rule(age):
    assert {v.verdict for v in judge(changed({"age_years": age})).values()} == {"eligible"}


def test_a_clinic_may_change_the_racemic_age_but_not_the_label_s():
    rules = load_rules({"ketamine_under_18": {"thresholds": {"age_years": 16}}})
    verdicts = judge(changed({"age_years": 16}), rules)
    assert [verdicts[r].verdict for r in RACEMIC] == ["eligible"] * 2
    assert verdicts[ESKETAMINE].verdict == "exclude"
    (fired,) = judge(changed({"age_years": 15}), rules)["iv_ketamine"].fired
    assert fired.clinic_changes == ("age_years < 16 (rules file: < 18)",)


# --- blood pressure ----------------------------------------------------------------------------


def test_the_issue_s_230_130_with_heart_rate_150_needs_clearance_on_every_route():
    verdicts = judge(
        changed({"vitals.systolic": 230, "vitals.diastolic": 130, "vitals.heart_rate": 150})
    )
    for route in ROUTES:
        assert verdicts[route].verdict == "needs_clearance", route
        assert fired_ids(verdicts[route]) >= SEVERE
        severe_bp = next(
            f for f in verdicts[route].fired if f.id == "severe_hypertension_at_evaluation"
        )
        assert severe_bp.values == {"vitals.systolic": 230, "vitals.diastolic": 130}
        assert severe_bp.policy is True
        assert severe_bp.source.startswith("clinic policy [unverified]")
        assert "clinical-reference §3" in severe_bp.source


@pytest.mark.parametrize(
    ("systolic", "diastolic", "severe"),
    [
        (180, 90, False),
        (181, 90, True),
        (160, 110, False),
        (160, 111, True),
    ],
)
def test_severe_blood_pressure_tier_at_its_boundary(systolic, diastolic, severe):
    verdicts = judge(changed({"vitals.systolic": systolic, "vitals.diastolic": diastolic}))
    for route in ROUTES:
        fired = "severe_hypertension_at_evaluation" in fired_ids(verdicts[route])
        assert fired is severe
        # Below the severe tier the raised-baseline caution still applies.
        assert verdicts[route].verdict == ("needs_clearance" if severe else "caution")


def test_a_clinic_may_move_the_severe_blood_pressure_tier():
    rules = load_rules(
        {"severe_hypertension_at_evaluation": {"thresholds": {"vitals.systolic": 170}}}
    )
    verdicts = judge(changed({"vitals.systolic": 171}), rules)
    assert {v.verdict for v in verdicts.values()} == {"needs_clearance"}


# --- heart rate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heart_rate", "rule_ids", "verdict"),
    [
        (110, set(), "eligible"),
        (111, {"tachycardia_at_evaluation"}, "caution"),
        (120, {"tachycardia_at_evaluation"}, "caution"),
        (121, {"tachycardia_at_evaluation", "severe_tachycardia_at_evaluation"}, "needs_clearance"),
    ],
)
def test_heart_rate_tiers_at_their_boundaries(heart_rate, rule_ids, verdict):
    for route_verdict in judge(changed({"vitals.heart_rate": heart_rate})).values():
        assert fired_ids(route_verdict) == rule_ids
        assert route_verdict.verdict == verdict


def test_heart_rate_rules_are_clinic_policy_with_their_basis():
    rules = {r.id: r for r in load_rules().rules}
    for rule_id in ("tachycardia_at_evaluation", "severe_tachycardia_at_evaluation"):
        rule = rules[rule_id]
        assert rule.policy is True
        assert rule.routes == ROUTES
        assert rule.source.startswith("clinic policy [unverified]")
        assert "clinical-reference §3" in rule.source
