"""Label facts cited as label facts: the Ketalar contraindication (a significant rise in blood
pressure would be a serious hazard) on the racemic-ketamine rules it covers, and the Spravato
specific-population statements (pregnancy, lactation, Child-Pugh C, psychosis) on esketamine.
Label rules cannot be switched off by a clinic; their racemic counterparts stay clinic policy."""

import pytest

from ketacare.clinical.eligibility import RuleError, load_rules
from tests.clinical.test_eligibility_rules import ESKETAMINE, RACEMIC, changed, judge

KETALAR = "Ketalar (ketamine hydrochloride) prescribing information, Contraindications"
KETALAR_HAZARD = "significant elevation of blood pressure would constitute a serious hazard"
# Finding → the racemic-ketamine rule that cites the Ketalar contraindication.
KETALAR_RULES = {
    "medical.uncontrolled_hypertension": "ketamine_uncontrolled_hypertension",
    "medical.aneurysmal_vascular_disease": "ketamine_aneurysm_avm_or_intracerebral_haemorrhage",
    "medical.arteriovenous_malformation": "ketamine_aneurysm_avm_or_intracerebral_haemorrhage",
    "medical.intracerebral_haemorrhage_history": (
        "ketamine_aneurysm_avm_or_intracerebral_haemorrhage"
    ),
    "medical.recent_mi_or_stroke": "ketamine_recent_mi_or_stroke",
    "medical.severe_cardiac_disease": "ketamine_severe_cardiac_disease",
}
# Finding → (esketamine label rule, its section in the Spravato label, racemic policy rule).
SPRAVATO_POPULATIONS = {
    "medical.pregnant_or_breastfeeding": (
        "esketamine_pregnancy_or_breastfeeding",
        "§8.1",
        "pregnancy_or_breastfeeding",
    ),
    "medical.severe_hepatic_disease": (
        "esketamine_severe_hepatic_impairment",
        "§8.6",
        "severe_hepatic_disease",
    ),
    "psychiatric.psychosis": ("esketamine_psychosis_history", "§5.2", "psychosis_history"),
}


@pytest.mark.parametrize(("field", "rule_id"), KETALAR_RULES.items())
def test_ketalar_contraindication_is_cited_as_label_on_racemic_ketamine(field, rule_id):
    verdicts = judge(changed({field: True}))
    for route in RACEMIC:
        assert verdicts[route].verdict == "needs_clearance"
        (fired,) = verdicts[route].fired
        assert fired.id == rule_id
        assert fired.policy is False
        assert fired.source.startswith(KETALAR)
        assert KETALAR_HAZARD in fired.source
        assert "[secondary — label text quoted in reviews] (clinical-reference §7)" in fired.source
    assert rule_id not in {f.id for f in verdicts[ESKETAMINE].fired}


def test_the_ketalar_rules_are_exactly_the_blood_pressure_hazards():
    cited = {r.id for r in load_rules().rules if r.source.startswith(KETALAR)}
    assert cited == set(KETALAR_RULES.values())


@pytest.mark.parametrize("rule_id", sorted(set(KETALAR_RULES.values())))
def test_a_clinic_cannot_switch_off_a_ketalar_rule(rule_id):
    with pytest.raises(RuleError, match="label fact"):
        load_rules({rule_id: {"enabled": False}})


@pytest.mark.parametrize(("field", "rules"), SPRAVATO_POPULATIONS.items())
def test_spravato_specific_populations_are_label_facts_for_esketamine(field, rules):
    esketamine_rule, section, racemic_rule = rules
    verdicts = judge(changed({field: True}))
    (fired,) = verdicts[ESKETAMINE].fired
    assert (fired.id, fired.verdict, fired.policy) == (esketamine_rule, "needs_clearance", False)
    assert fired.source.startswith("Spravato (esketamine) prescribing information")
    assert section in fired.source
    assert "[confirmed, label]" in fired.source
    for route in RACEMIC:
        (fired,) = verdicts[route].fired
        assert (fired.id, fired.verdict, fired.policy) == (racemic_rule, "needs_clearance", True)
        assert fired.source.startswith("clinic policy")


def test_lactation_is_cited_with_pregnancy():
    rule = next(r for r in load_rules().rules if r.id == "esketamine_pregnancy_or_breastfeeding")
    assert "Lactation (§8.2)" in rule.source


def test_severe_hepatic_impairment_names_child_pugh_c():
    rules = {r.id: r for r in load_rules().rules}
    for rule_id in ("esketamine_severe_hepatic_impairment", "severe_hepatic_disease"):
        assert "Child-Pugh C" in rules[rule_id].rationale


@pytest.mark.parametrize(("field", "rules"), SPRAVATO_POPULATIONS.items())
def test_a_clinic_may_switch_off_the_racemic_policy_rule_only(field, rules):
    esketamine_rule, _, racemic_rule = rules
    with pytest.raises(RuleError, match="label fact"):
        load_rules({esketamine_rule: {"enabled": False}})
    verdicts = judge(changed({field: True}), load_rules({racemic_rule: {"enabled": False}}))
    assert [verdicts[r].verdict for r in RACEMIC] == ["eligible"] * 2
    assert verdicts[ESKETAMINE].verdict == "needs_clearance"
