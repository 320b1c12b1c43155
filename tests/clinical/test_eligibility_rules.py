"""Eligibility rules: the data file, the evaluator, prescriber overrides, clinic changes to
policy rules, and strict validation of the evaluation."""

import copy
import json
import re
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from ketacare.clinical import eligibility
from ketacare.clinical.eligibility import (
    OVERRIDDEN,
    ROUTES,
    Evaluation,
    EvaluationError,
    OverrideError,
    RouteVerdict,
    RuleError,
    apply_override,
    evaluate,
    field_specs,
    load_rules,
    most_severe,
    parse_rules,
)
from ketacare.clinical.eligibility import evaluation as evaluation_module

EXAMPLE = Path(__file__).parent / "data" / "eligibility_example.json"
ESKETAMINE = "intranasal_esketamine"
RACEMIC = ("iv_ketamine", "im_ketamine")
SPRAVATO_CONTRAINDICATIONS = "Spravato (esketamine) prescribing information, Contraindications"
# The four label contraindications of clinical-reference §2, by evaluation field.
ESKETAMINE_CONTRAINDICATIONS = {
    "medical.aneurysmal_vascular_disease": "esketamine_aneurysmal_vascular_disease",
    "medical.arteriovenous_malformation": "esketamine_arteriovenous_malformation",
    "medical.intracerebral_haemorrhage_history": "esketamine_intracerebral_haemorrhage",
    "medical.hypersensitivity_to_ketamine_or_esketamine": "esketamine_hypersensitivity",
}


def clean() -> dict:
    """A hand-built evaluation on which no rule fires."""
    return {
        "indication": "trd",
        "adequate_antidepressant_trials": 3,
        "age_years": 40,
        "psychiatric": {
            "psychosis": False,
            "mania_or_bipolar": False,
            "substance_use_disorder": False,
            "substances": [],
            "prior_ketamine_or_pcp_misuse": False,
        },
        "medical": {
            "uncontrolled_hypertension": False,
            "aneurysmal_vascular_disease": False,
            "arteriovenous_malformation": False,
            "intracerebral_haemorrhage_history": False,
            "recent_mi_or_stroke": False,
            "severe_cardiac_disease": False,
            "severe_hepatic_disease": False,
            "raised_intracranial_or_intraocular_pressure": False,
            "pregnant_or_breastfeeding": False,
            "hypersensitivity_to_ketamine_or_esketamine": False,
        },
        "medications": {
            "benzodiazepines": False,
            "non_benzodiazepine_hypnotics": False,
            "psychostimulants": False,
            "maois": False,
            "opioids": False,
            "lamotrigine": False,
        },
        "vitals": {"systolic": 122, "diastolic": 78, "heart_rate": 70},
        "screening": {"auditc_positive": False, "dast10_score": 0, "urine_toxicology": "negative"},
    }


def changed(changes: dict, base: dict | None = None) -> dict:
    """``base`` (default: clean) with dotted paths set, e.g. {"vitals.systolic": 150}."""
    data = copy.deepcopy(base or clean())
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = data
        for name in parents:
            node = node[name]
        node[leaf] = value
    return data


def removed(path: str) -> dict:
    data = clean()
    *parents, leaf = path.split(".")
    node = data
    for name in parents:
        node = node[name]
    del node[leaf]
    return data


def judge(data: dict, rules=None) -> dict[str, RouteVerdict]:
    return evaluate(Evaluation.from_dict(data), rules or load_rules())


def fired_ids(route_verdict: RouteVerdict) -> set[str]:
    return {f.id for f in route_verdict.fired}


def raw_rules_file() -> dict:
    text = files("ketacare.clinical.eligibility").joinpath("data", "rules.toml").read_text("utf-8")
    return tomllib.loads(text)


# --- a clean evaluation -----------------------------------------------------------------------


def test_clean_evaluation_is_eligible_on_every_route():
    verdicts = judge(clean())
    assert list(verdicts) == list(ROUTES)
    for route, route_verdict in verdicts.items():
        assert route_verdict.route == route
        assert route_verdict.verdict == "eligible"
        assert route_verdict.fired == ()
        assert route_verdict.override is None


def test_screens_not_done_fire_nothing():
    data = changed(
        {
            "screening.auditc_positive": None,
            "screening.dast10_score": None,
            "screening.urine_toxicology": None,
        }
    )
    assert {v.verdict for v in judge(data).values()} == {"eligible"}


# --- esketamine label contraindications -----------------------------------------------------


@pytest.mark.parametrize(("field", "rule_id"), ESKETAMINE_CONTRAINDICATIONS.items())
def test_every_esketamine_contraindication_excludes_esketamine_only(field, rule_id):
    verdicts = judge(changed({field: True}))
    esketamine = verdicts[ESKETAMINE]
    assert esketamine.verdict == "exclude"
    fired = next(f for f in esketamine.fired if f.id == rule_id)
    assert fired.verdict == "exclude"
    assert fired.source.startswith(SPRAVATO_CONTRAINDICATIONS)
    assert fired.policy is False
    assert fired.values == {field: True}
    for route in RACEMIC:
        # The esketamine rule never reaches racemic ketamine; only hypersensitivity (its own
        # label rule) excludes racemic ketamine too.
        assert rule_id not in fired_ids(verdicts[route])
        if field != "medical.hypersensitivity_to_ketamine_or_esketamine":
            assert verdicts[route].verdict != "exclude"


def test_the_data_holds_exactly_the_four_label_contraindications_as_label_excludes():
    rules = [r for r in load_rules().rules if r.source.startswith(SPRAVATO_CONTRAINDICATIONS)]
    assert {r.fields[0] for r in rules} == set(ESKETAMINE_CONTRAINDICATIONS)
    for rule in rules:
        assert rule.id == ESKETAMINE_CONTRAINDICATIONS[rule.fields[0]]
        assert rule.verdict == "exclude"
        assert rule.applies_to == (ESKETAMINE,)
        assert rule.policy is False


@pytest.mark.parametrize(
    "field",
    [
        "medical.aneurysmal_vascular_disease",
        "medical.arteriovenous_malformation",
        "medical.intracerebral_haemorrhage_history",
    ],
)
def test_vascular_contraindications_need_clearance_for_racemic_ketamine(field):
    verdicts = judge(changed({field: True}))
    for route in RACEMIC:
        assert verdicts[route].verdict == "needs_clearance"
        assert fired_ids(verdicts[route]) == {"ketamine_aneurysm_avm_or_intracerebral_haemorrhage"}


def test_hypersensitivity_excludes_racemic_ketamine_by_its_own_label_rule():
    verdicts = judge(changed({"medical.hypersensitivity_to_ketamine_or_esketamine": True}))
    for route in RACEMIC:
        assert verdicts[route].verdict == "exclude"
        (fired,) = verdicts[route].fired
        assert fired.id == "ketamine_hypersensitivity"
        assert fired.policy is False
        assert "Ketalar" in fired.source


def test_all_four_contraindications_together_list_every_rule():
    verdicts = judge(changed(dict.fromkeys(ESKETAMINE_CONTRAINDICATIONS, True)))
    assert set(ESKETAMINE_CONTRAINDICATIONS.values()) <= fired_ids(verdicts[ESKETAMINE])
    assert verdicts[ESKETAMINE].verdict == "exclude"


# --- every other rule fires where it should, and only there ------------------------------------

ALL = dict.fromkeys(ROUTES)
# (changes to a clean evaluation, {route: fired rule ids}, {route: verdict})
CASES = [
    ({"psychiatric.mania_or_bipolar": True}, {"mania_or_bipolar"}, "caution"),
    (
        {"psychiatric.substance_use_disorder": True, "psychiatric.substances": ["alcohol"]},
        {"substance_use_disorder"},
        "needs_clearance",
    ),
    (
        {"psychiatric.prior_ketamine_or_pcp_misuse": True},
        {"prior_ketamine_or_pcp_misuse"},
        "needs_clearance",
    ),
    (
        {"medical.raised_intracranial_or_intraocular_pressure": True},
        {"raised_intracranial_or_intraocular_pressure"},
        "needs_clearance",
    ),
    ({"medications.benzodiazepines": True}, {"benzodiazepines"}, "caution"),
    ({"medications.opioids": True}, {"other_cns_depressants"}, "caution"),
    ({"medications.non_benzodiazepine_hypnotics": True}, {"other_cns_depressants"}, "caution"),
    (
        {"screening.urine_toxicology": "positive"},
        {"positive_urine_toxicology"},
        "needs_clearance",
    ),
    ({"screening.auditc_positive": True}, {"auditc_positive"}, "caution"),
    ({"screening.dast10_score": 3}, {"dast10_positive"}, "caution"),
    ({"screening.dast10_score": 10}, {"dast10_positive"}, "caution"),
    ({"adequate_antidepressant_trials": 1}, {"trd_fewer_adequate_trials"}, "caution"),
    ({"adequate_antidepressant_trials": 0}, {"trd_fewer_adequate_trials"}, "caution"),
    ({"vitals.heart_rate": 111}, {"tachycardia_at_evaluation"}, "caution"),
    (
        {"vitals.heart_rate": 121},
        {"tachycardia_at_evaluation", "severe_tachycardia_at_evaluation"},
        "needs_clearance",
    ),
]
# Rules that differ between esketamine (label) and racemic ketamine (the Ketalar label or
# clinic policy): (changes, esketamine ids and verdict, racemic ids and verdict).
SPLIT_CASES = [
    (
        {"medical.uncontrolled_hypertension": True},
        ({"esketamine_uncontrolled_hypertension"}, "caution"),
        ({"ketamine_uncontrolled_hypertension"}, "needs_clearance"),
    ),
    (
        {"vitals.systolic": 141},
        ({"esketamine_baseline_blood_pressure_raised"}, "caution"),
        ({"ketamine_baseline_blood_pressure_raised"}, "caution"),
    ),
    (
        {"vitals.diastolic": 91},
        ({"esketamine_baseline_blood_pressure_raised"}, "caution"),
        ({"ketamine_baseline_blood_pressure_raised"}, "caution"),
    ),
    (
        {"vitals.systolic": 180},
        ({"esketamine_baseline_blood_pressure_raised"}, "caution"),
        ({"ketamine_baseline_blood_pressure_raised"}, "caution"),
    ),
    (
        {"vitals.systolic": 181},
        (
            {"esketamine_baseline_blood_pressure_raised", "severe_hypertension_at_evaluation"},
            "needs_clearance",
        ),
        (
            {"ketamine_baseline_blood_pressure_raised", "severe_hypertension_at_evaluation"},
            "needs_clearance",
        ),
    ),
    (
        {"medical.recent_mi_or_stroke": True},
        ({"recent_mi_or_stroke"}, "needs_clearance"),
        ({"ketamine_recent_mi_or_stroke"}, "needs_clearance"),
    ),
    (
        {"medical.severe_cardiac_disease": True},
        ({"severe_cardiac_disease"}, "needs_clearance"),
        ({"ketamine_severe_cardiac_disease"}, "needs_clearance"),
    ),
    (
        {"medical.pregnant_or_breastfeeding": True},
        ({"esketamine_pregnancy_or_breastfeeding"}, "needs_clearance"),
        ({"pregnancy_or_breastfeeding"}, "needs_clearance"),
    ),
    (
        {"medical.severe_hepatic_disease": True},
        ({"esketamine_severe_hepatic_impairment"}, "needs_clearance"),
        ({"severe_hepatic_disease"}, "needs_clearance"),
    ),
    (
        {"psychiatric.psychosis": True},
        ({"esketamine_psychosis_history"}, "needs_clearance"),
        ({"psychosis_history"}, "needs_clearance"),
    ),
    (
        {"age_years": 17},
        ({"esketamine_under_18"}, "exclude"),
        ({"ketamine_under_18"}, "needs_clearance"),
    ),
    (
        {"medications.maois": True},
        ({"esketamine_with_maoi"}, "caution"),
        ({"ketamine_with_maoi_or_psychostimulant"}, "caution"),
    ),
    (
        {"medications.psychostimulants": True},
        ({"esketamine_with_psychostimulant"}, "caution"),
        ({"ketamine_with_maoi_or_psychostimulant"}, "caution"),
    ),
    (
        {"indication": "anxiety"},
        ({"esketamine_off_label_indication"}, "caution"),
        (set(), "eligible"),
    ),
    ({"indication": "ocd"}, ({"esketamine_off_label_indication"}, "caution"), (set(), "eligible")),
]


@pytest.mark.parametrize(("changes", "rule_ids", "verdict"), CASES)
def test_rule_fires_on_every_route(changes, rule_ids, verdict):
    for route_verdict in judge(changed(changes)).values():
        assert fired_ids(route_verdict) == rule_ids
        assert route_verdict.verdict == verdict


@pytest.mark.parametrize(("changes", "esketamine", "racemic"), SPLIT_CASES)
def test_rule_fires_per_route_family(changes, esketamine, racemic):
    verdicts = judge(changed(changes))
    assert (fired_ids(verdicts[ESKETAMINE]), verdicts[ESKETAMINE].verdict) == esketamine
    for route in RACEMIC:
        assert (fired_ids(verdicts[route]), verdicts[route].verdict) == racemic


def test_every_rule_in_the_data_file_is_exercised_by_a_test_case():
    exercised = set(ESKETAMINE_CONTRAINDICATIONS.values()) | {
        "ketamine_hypersensitivity",
        "ketamine_aneurysm_avm_or_intracerebral_haemorrhage",
    }
    for _, rule_ids, _ in CASES:
        exercised |= rule_ids
    for _, (esketamine_ids, _), (racemic_ids, _) in SPLIT_CASES:
        exercised |= esketamine_ids | racemic_ids
    assert {r.id for r in load_rules().rules} == exercised


@pytest.mark.parametrize(
    "changes",
    [
        {"vitals.systolic": 140, "vitals.diastolic": 90},  # thresholds are "above"
        {"screening.dast10_score": 2},
        {"adequate_antidepressant_trials": 2},
        {"indication": "mdd_with_suicidal_ideation", "adequate_antidepressant_trials": 0},
        {"screening.urine_toxicology": "not_indicated"},
        {"medications.lamotrigine": True},
        {"age_years": 90, "vitals.heart_rate": 110},  # thresholds are "above"
        {"age_years": 18},
    ],
)
def test_values_at_or_below_thresholds_stay_eligible(changes):
    assert {v.verdict for v in judge(changed(changes)).values()} == {"eligible"}


def test_fired_rule_shows_the_values_it_read():
    verdicts = judge(changed({"vitals.systolic": 152, "vitals.diastolic": 88}))
    (fired,) = verdicts["iv_ketamine"].fired
    assert fired.values == {"vitals.systolic": 152, "vitals.diastolic": 88}
    assert fired.source.startswith("clinic policy")


# --- severity ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], "eligible"),
        (["caution"], "caution"),
        (["caution", "needs_clearance"], "needs_clearance"),
        (["needs_clearance", "caution"], "needs_clearance"),
        (["caution", "exclude", "needs_clearance"], "exclude"),
        (["exclude", "caution"], "exclude"),
    ],
)
def test_most_severe_order(verdicts, expected):
    assert most_severe(verdicts) == expected


def test_most_severe_fired_rule_decides_each_route():
    caution = {"medications.benzodiazepines": True}
    clearance = {"psychiatric.psychosis": True}
    exclude = {"medical.arteriovenous_malformation": True}

    verdicts = judge(changed({**caution, **clearance, **exclude}))
    assert verdicts[ESKETAMINE].verdict == "exclude"
    assert [verdicts[r].verdict for r in RACEMIC] == ["needs_clearance"] * 2

    verdicts = judge(changed({**caution, **clearance}))
    assert {v.verdict for v in verdicts.values()} == {"needs_clearance"}

    verdicts = judge(changed(caution))
    assert {v.verdict for v in verdicts.values()} == {"caution"}


def test_fired_rules_are_listed_most_severe_first():
    data = changed(
        {
            "medications.benzodiazepines": True,
            "psychiatric.psychosis": True,
            "medical.aneurysmal_vascular_disease": True,
        }
    )
    fired = judge(data)[ESKETAMINE].fired
    assert [f.verdict for f in fired] == ["exclude", "needs_clearance", "caution"]


# --- prescriber overrides ---------------------------------------------------------------------


def excluded() -> RouteVerdict:
    return judge(changed({"medical.aneurysmal_vascular_disease": True}))[ESKETAMINE]


def needing_clearance() -> RouteVerdict:
    return judge(changed({"psychiatric.psychosis": True}))["iv_ketamine"]


def test_override_of_exclude_keeps_the_original_verdict_rules_and_reason():
    original = excluded()
    overridden = apply_override(
        original, "  Aneurysm repaired 2019; cleared by vascular surgery ", "Dr Vale"
    )
    assert overridden.verdict == OVERRIDDEN
    assert overridden.original_verdict == "exclude"
    assert overridden.override.reason == "Aneurysm repaired 2019; cleared by vascular surgery"
    assert overridden.override.prescriber == "Dr Vale"
    assert overridden.fired == original.fired
    assert original.verdict == "exclude" and original.override is None
    shown = overridden.as_dict()
    assert shown["verdict"] == OVERRIDDEN
    assert shown["override"]["original_verdict"] == "exclude"
    assert shown["override"]["reason"].startswith("Aneurysm repaired")


def test_override_of_needs_clearance():
    overridden = apply_override(
        needing_clearance(), "Psychiatrist cleared, letter on file", "Dr Vale"
    )
    assert overridden.verdict == OVERRIDDEN
    assert overridden.original_verdict == "needs_clearance"


@pytest.mark.parametrize("route_verdict", [excluded, needing_clearance])
@pytest.mark.parametrize("reason", ["", " ", "   \n\t ", None])
def test_every_override_path_needs_a_written_reason(route_verdict, reason):
    with pytest.raises(OverrideError, match="written reason"):
        apply_override(route_verdict(), reason, "Dr Vale")


@pytest.mark.parametrize("prescriber", ["", "  ", None])
def test_an_override_needs_the_prescriber(prescriber):
    with pytest.raises(OverrideError, match="prescriber"):
        apply_override(excluded(), "cleared by vascular surgery", prescriber)


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [({"medications.benzodiazepines": True}, "caution"), ({}, "eligible")],
)
def test_caution_and_eligible_cannot_be_overridden(changes, verdict):
    route_verdict = judge(changed(changes))["iv_ketamine"]
    assert route_verdict.verdict == verdict
    with pytest.raises(OverrideError, match="nothing to override"):
        apply_override(route_verdict, "a perfectly good reason", "Dr Vale")


def test_an_override_cannot_be_overridden_again():
    overridden = apply_override(excluded(), "cleared by vascular surgery", "Dr Vale")
    with pytest.raises(OverrideError, match="already overridden by Dr Vale"):
        apply_override(overridden, "another reason", "Dr Other")


# --- clinic changes to policy rules ------------------------------------------------------------


def test_no_overrides_is_the_data_file():
    assert load_rules(None) == load_rules() == load_rules({})


def test_a_clinic_may_disable_a_policy_rule():
    rules = load_rules({"psychosis_history": {"enabled": False}})
    assert rules.disabled == ("psychosis_history",)
    assert "psychosis_history" not in {r.id for r in rules.rules}
    verdicts = judge(changed({"psychiatric.psychosis": True}), rules)
    assert [verdicts[r].verdict for r in RACEMIC] == ["eligible"] * 2
    # The esketamine rule is a label fact (Spravato §5.2), untouched by the clinic.
    assert fired_ids(verdicts[ESKETAMINE]) == {"esketamine_psychosis_history"}


def test_a_changed_blood_pressure_threshold_takes_effect_for_racemic_ketamine_only():
    rules = load_rules(
        {"ketamine_baseline_blood_pressure_raised": {"thresholds": {"vitals.systolic": 150}}}
    )
    verdicts = judge(changed({"vitals.systolic": 145}), rules)
    assert [verdicts[r].verdict for r in RACEMIC] == ["eligible"] * 2
    assert verdicts[ESKETAMINE].verdict == "caution"  # the label's 140/90 still applies

    verdicts = judge(changed({"vitals.systolic": 151}), rules)
    (fired,) = verdicts["iv_ketamine"].fired
    assert fired.id == "ketamine_baseline_blood_pressure_raised"
    assert fired.clinic_changes == ("vitals.systolic > 150 (rules file: > 140)",)
    # The diastolic limb is untouched.
    assert judge(changed({"vitals.diastolic": 91}), rules)["im_ketamine"].verdict == "caution"


def test_a_changed_dast10_cut_point_takes_effect():
    rules = load_rules({"dast10_positive": {"thresholds": {"screening.dast10_score": 6}}})
    assert judge(changed({"screening.dast10_score": 5}), rules)[ESKETAMINE].verdict == "eligible"
    assert judge(changed({"screening.dast10_score": 6}), rules)[ESKETAMINE].verdict == "caution"


def test_a_changed_trd_definition_takes_effect():
    rules = load_rules(
        {"trd_fewer_adequate_trials": {"thresholds": {"adequate_antidepressant_trials": 3}}}
    )
    verdicts = judge(changed({"adequate_antidepressant_trials": 2}), rules)
    assert fired_ids(verdicts["iv_ketamine"]) == {"trd_fewer_adequate_trials"}


def test_a_clinic_change_does_not_leak_into_the_next_load():
    load_rules(
        {"ketamine_baseline_blood_pressure_raised": {"thresholds": {"vitals.systolic": 170}}}
    )
    verdicts = judge(changed({"vitals.systolic": 145}), load_rules())
    assert verdicts["iv_ketamine"].verdict == "caution"


LABEL_RULES = [r.id for r in load_rules().rules if not r.policy]
POLICY_RULES = [r.id for r in load_rules().rules if r.policy]


@pytest.mark.parametrize("rule_id", LABEL_RULES)
def test_label_rules_cannot_be_disabled(rule_id):
    with pytest.raises(RuleError, match="label fact"):
        load_rules({rule_id: {"enabled": False}})


def test_label_threshold_cannot_be_changed():
    with pytest.raises(RuleError, match="label fact"):
        load_rules(
            {"esketamine_baseline_blood_pressure_raised": {"thresholds": {"vitals.systolic": 160}}}
        )


@pytest.mark.parametrize("rule_id", POLICY_RULES)
def test_every_policy_rule_can_be_disabled(rule_id):
    assert rule_id not in {r.id for r in load_rules({rule_id: {"enabled": False}}).rules}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"no_such_rule": {"enabled": False}}, "no rule 'no_such_rule'"),
        ({"benzodiazepines": {"disabled": True}}, "unknown key 'disabled'"),
        ({"benzodiazepines": {}}, "expected enabled and/or thresholds"),
        ({"benzodiazepines": False}, "expected enabled and/or thresholds"),
        ({"benzodiazepines": {"enabled": "no"}}, "enabled must be true or false"),
        (
            {"psychosis_history": {"thresholds": {"psychiatric.psychosis": 1}}},
            "no threshold on 'psychiatric.psychosis'",
        ),
        (
            {"ketamine_baseline_blood_pressure_raised": {"thresholds": {"vitals.heart_rate": 110}}},
            "no threshold on 'vitals.heart_rate'",
        ),
        (
            {"ketamine_baseline_blood_pressure_raised": {"thresholds": {"vitals.systolic": "150"}}},
            "must be a number",
        ),
        (
            {"ketamine_baseline_blood_pressure_raised": {"thresholds": {"vitals.systolic": True}}},
            "must be a number",
        ),
        (
            {"ketamine_baseline_blood_pressure_raised": {"thresholds": {"vitals.systolic": 1500}}},
            "outside the plausible range",
        ),
        ({"dast10_positive": {"thresholds": {"screening.dast10_score": 11}}}, "plausible range"),
        (
            {"dast10_positive": {"enabled": False, "thresholds": {"screening.dast10_score": 6}}},
            "choose one",
        ),
        ({"dast10_positive": {"thresholds": [6]}}, "thresholds must map fields to numbers"),
    ],
)
def test_invalid_clinic_overrides_are_refused(overrides, message):
    with pytest.raises(RuleError, match=re.escape(message)):
        load_rules(overrides)


# --- the data file -----------------------------------------------------------------------------


def test_rules_file_has_version_and_source():
    data = raw_rules_file()
    assert data["version"]
    assert data["source"]


@pytest.mark.parametrize("rule", raw_rules_file()["rules"], ids=lambda r: r.get("id", "?"))
def test_every_rule_has_source_rationale_and_valid_applies_to_and_verdict(rule):
    assert isinstance(rule["id"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", rule["id"])
    assert isinstance(rule["source"], str) and rule["source"].strip()
    assert isinstance(rule["rationale"], str) and rule["rationale"].strip()
    assert rule["verdict"] in {"exclude", "needs_clearance", "caution"}
    assert rule["applies_to"], "applies_to is empty"
    assert set(rule["applies_to"]) <= {"all", "iv_ketamine", "im_ketamine", "intranasal_esketamine"}
    assert isinstance(rule["policy"], bool)
    assert isinstance(rule["condition"], dict)
    if rule["policy"]:
        assert rule["source"].startswith("clinic policy")
    else:
        assert "clinic policy" not in rule["source"]
        assert "prescribing information" in rule["source"]


def test_rule_ids_are_unique():
    ids = [r["id"] for r in raw_rules_file()["rules"]]
    assert len(ids) == len(set(ids))


def test_clinical_thresholds_live_only_in_the_data_file():
    package = Path(eligibility.__file__).parent
    for module in package.glob("*.py"):
        # Blood-pressure, heart-rate and age thresholds (the rules file's 140/90, 180/110,
        # 110 and 120/min, 18 years).
        thresholds = r"\b(140|90|141|91|180|110|120|18)\b"
        assert not re.search(thresholds, module.read_text("utf-8")), module.name


# --- malformed rules are refused when loaded -----------------------------------------------------

GOOD_RULE = {
    "id": "demo",
    "condition": {"field": "medical.severe_cardiac_disease", "equals": True},
    "applies_to": ["all"],
    "verdict": "caution",
    "rationale": "demo",
    "source": "clinic policy; basis: a test",
    "policy": True,
}


def rules_file(**changes) -> dict:
    return {"version": "t", "source": "t", "rules": [{**GOOD_RULE, **changes}]}


def test_the_good_rule_parses():
    (rule,) = parse_rules(rules_file()).rules
    assert rule.id == "demo"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"condition": {"field": "medical.severe_cardiak_disease", "equals": True}},
            "unknown evaluation field",
        ),
        ({"condition": "medical.severe_cardiac_disease == True"}, "must be a table"),
        (
            {"condition": {"field": "medical.severe_cardiac_disease", "equals": "yes"}},
            "expected true or false",
        ),
        ({"condition": {"field": "medical.severe_cardiac_disease", "gt": 0}}, "gt cannot be used"),
        ({"condition": {"field": "indication", "gt": 1}}, "gt cannot be used"),
        ({"condition": {"field": "indication", "equals": "depression"}}, "expected one of trd"),
        (
            {"condition": {"field": "indication", "in": ["trd", "bipolar"]}},
            "needs a list of one of",
        ),
        ({"condition": {"field": "indication", "in": []}}, "needs a list of"),
        ({"condition": {"field": "vitals.systolic", "gt": "140"}}, "expected an integer"),
        ({"condition": {"field": "vitals.systolic", "gt": 140, "lt": 200}}, "exactly one operator"),
        ({"condition": {"field": "vitals.systolic"}}, "exactly one operator"),
        ({"condition": {"field": "vitals.systolic", "eq": 140}}, "exactly one operator"),
        ({"condition": {"field": "psychiatric.substances", "equals": "alcohol"}}, "cannot be used"),
        ({"condition": {"any": []}}, "non-empty list"),
        ({"condition": {"all": [{"field": "nope", "equals": True}]}}, "unknown evaluation field"),
        ({"applies_to": ["esketamine"]}, "applies_to"),
        ({"applies_to": ["all", "iv_ketamine"]}, "applies_to"),
        ({"applies_to": []}, "applies_to"),
        ({"applies_to": "all"}, "applies_to"),
        ({"verdict": "eligible"}, "verdict 'eligible'"),
        ({"source": "  "}, "source must be non-blank"),
        ({"rationale": ""}, "rationale must be non-blank"),
        ({"policy": "yes"}, "policy must be true or false"),
        ({"policy": False}, "policy = false but its source starts with 'clinic policy'"),
        ({"severity": "high"}, "unknown key 'severity'"),
    ],
)
def test_malformed_rules_are_refused(changes, message):
    with pytest.raises(RuleError, match=re.escape(message)):
        parse_rules(rules_file(**changes))


def test_a_label_rule_may_not_claim_to_be_policy():
    with pytest.raises(RuleError, match="policy = true but its source does not start"):
        parse_rules(rules_file(source="Spravato (esketamine) prescribing information"))


def test_a_rule_without_rationale_is_refused():
    data = rules_file()
    del data["rules"][0]["rationale"]
    with pytest.raises(RuleError, match="missing 'rationale'"):
        parse_rules(data)


def test_duplicate_rule_ids_are_refused():
    data = rules_file()
    data["rules"].append(dict(GOOD_RULE))
    with pytest.raises(RuleError, match="appears twice"):
        parse_rules(data)


# --- the evaluation: missing, mistyped and unknown fields ----------------------------------------

LEAVES = list(field_specs())


def test_the_layout_has_every_field_of_the_issue():
    assert len(LEAVES) == 3 + 5 + 10 + 6 + 3 + 3


@pytest.mark.parametrize("path", LEAVES)
def test_every_missing_field_is_named(path):
    with pytest.raises(EvaluationError) as error:
        Evaluation.from_dict(removed(path))
    assert str(error.value) == f"missing field: {path}"


def test_missing_field_message_is_exact():
    with pytest.raises(EvaluationError) as error:
        Evaluation.from_dict(removed("medical.aneurysmal_vascular_disease"))
    assert str(error.value) == "missing field: medical.aneurysmal_vascular_disease"


def test_a_missing_section_is_named():
    with pytest.raises(EvaluationError, match=r"^missing field: vitals$"):
        Evaluation.from_dict(removed("vitals"))


WRONG_BY_KIND = {"bool": "no", "int": "3", "choice": 7, "text_list": "alcohol"}


@pytest.mark.parametrize("path", LEAVES)
def test_every_mistyped_field_is_named(path):
    spec = field_specs()[path]
    with pytest.raises(EvaluationError) as error:
        Evaluation.from_dict(changed({path: WRONG_BY_KIND[spec.kind]}))
    assert str(error.value).startswith(f"field {path} must be ")


def test_mistyped_field_message_is_exact():
    with pytest.raises(EvaluationError) as error:
        Evaluation.from_dict(changed({"age_years": "forty"}))
    assert str(error.value) == "field age_years must be an integer, got 'forty'"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"medical.psychosis_typo": True}, "unknown field: medical.psychosis_typo"),
        ({"psychiatric.psychosis": 1}, "field psychiatric.psychosis must be true or false, got 1"),
        (
            {"psychiatric.psychosis": None},
            "field psychiatric.psychosis must be true or false, got null",
        ),
        ({"adequate_antidepressant_trials": True}, "must be an integer, got true"),
        ({"adequate_antidepressant_trials": 2.0}, "must be an integer, got 2.0"),
        (
            {"adequate_antidepressant_trials": -1},
            "field adequate_antidepressant_trials must be >= 0, got -1",
        ),
        ({"indication": "TRD"}, "field indication must be one of trd, mdd_with_suicidal_ideation"),
        (
            {"screening.urine_toxicology": "pos"},
            "must be one of not_indicated, negative, positive or null",
        ),
        ({"screening.auditc_positive": "unknown"}, "must be true or false or null, got 'unknown'"),
        (
            {"screening.dast10_score": 11},
            "field screening.dast10_score must be between 0 and 10, got 11",
        ),
        ({"vitals.systolic": 1400}, "field vitals.systolic must be between 50 and 300, got 1400"),
        ({"vitals.systolic": 14}, "field vitals.systolic must be between 50 and 300, got 14"),
        ({"vitals.heart_rate": 0}, "field vitals.heart_rate must be between"),
        ({"age_years": 200}, "field age_years must be between 0 and 120, got 200"),
        ({"vitals.systolic": "120"}, "field vitals.systolic must be an integer, got '120'"),
        ({"vitals": [120, 80, 70]}, "field vitals must be an object, got [120, 80, 70]"),
        ({"psychiatric.substances": [""]}, "field psychiatric.substances must be a list of names"),
        ({"psychiatric.substances": [3]}, "field psychiatric.substances must be a list of names"),
        (
            {"vitals.systolic": 80, "vitals.diastolic": 120},
            "vitals.diastolic (120) must be below vitals.systolic (80)",
        ),
        (
            {"psychiatric.substance_use_disorder": True},
            "psychiatric.substances must name the substances",
        ),
        ({"psychiatric.substances": ["cannabis"]}, "psychiatric.substances must be empty"),
    ],
)
def test_bad_values_are_named(changes, message):
    with pytest.raises(EvaluationError, match=re.escape(message)):
        Evaluation.from_dict(changed(changes))


def test_unknown_top_level_field_suggests_the_right_name():
    data = clean()
    data["indicaton"] = data.pop("indication")
    with pytest.raises(EvaluationError) as error:
        Evaluation.from_dict(data)
    assert str(error.value) == "unknown field: indicaton (did you mean indication?)"


def test_unknown_nested_field_is_refused_even_with_the_right_one_present():
    data = changed({"medical.aneurysmal_vascular_diesase": True})
    with pytest.raises(EvaluationError) as error:
        Evaluation.from_dict(data)
    assert str(error.value) == (
        "unknown field: medical.aneurysmal_vascular_diesase "
        "(did you mean medical.aneurysmal_vascular_disease?)"
    )


def test_an_extra_field_is_refused():
    with pytest.raises(EvaluationError, match=r"^unknown field: notes$"):
        Evaluation.from_dict({**clean(), "notes": "seen by Dr Vale"})


@pytest.mark.parametrize("data", [[], "trd", None, 3])
def test_an_evaluation_must_be_an_object(data):
    with pytest.raises(EvaluationError, match="must be a JSON object"):
        Evaluation.from_dict(data)


def test_json_with_a_repeated_key_is_refused():
    text = json.dumps(clean())[:-1] + ', "age_years": 41}'
    with pytest.raises(EvaluationError, match="duplicate field: age_years"):
        Evaluation.from_json(text)


def test_invalid_json_is_refused_with_its_position():
    with pytest.raises(EvaluationError, match=r"not valid JSON: .* line 1 column"):
        Evaluation.from_json('{"indication": ')


def test_error_messages_fit_on_one_line():
    long_value = {"x" * 100: ["y" * 100]}
    with pytest.raises(EvaluationError) as error:
        Evaluation.from_dict(changed({"medical.psychosis_x": True}))
    assert "\n" not in str(error.value)
    with pytest.raises(EvaluationError) as error:
        Evaluation.from_dict(changed({"age_years": long_value}))
    assert "\n" not in str(error.value)
    assert len(str(error.value)) < 120


def test_round_trip_through_the_layout():
    evaluation = Evaluation.from_dict(
        changed(
            {"psychiatric.substance_use_disorder": True, "psychiatric.substances": [" alcohol "]}
        )
    )
    assert evaluation.psychiatric.substances == ("alcohol",)
    assert Evaluation.from_dict(evaluation.as_dict()) == evaluation
    assert evaluation.as_dict()["psychiatric"]["substances"] == ["alcohol"]


def test_unknown_path_has_no_value():
    with pytest.raises(KeyError):
        Evaluation.from_dict(clean()).value("vitals.respiratory_rate")


def test_the_committed_example_is_valid_and_gives_caution():
    evaluation = Evaluation.from_json(EXAMPLE.read_text("utf-8"))
    verdicts = evaluate(evaluation, load_rules())
    assert {v.verdict for v in verdicts.values()} == {"caution"}


def test_the_layout_in_the_module_docstring_is_valid():
    doc = evaluation_module.__doc__
    block = doc[doc.index("{") : doc.index("\n- ``indication``")]
    evaluation = Evaluation.from_json(block)
    assert evaluation.psychiatric.substances == ("alcohol",)
