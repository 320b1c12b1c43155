"""Hand-built evaluations through the planning app: every esketamine label contraindication
excludes esketamine, and esketamine only."""

import pytest

from ketacare.clinical.eligibility import load_rules
from tests.planning.conftest import signed_evaluation

# The label's Contraindications section; the label's age limit (adults) is tested on its own.
LABEL_EXCLUSIONS = [
    rule
    for rule in load_rules().rules
    if rule.verdict == "exclude"
    and rule.routes == ("intranasal_esketamine",)
    and rule.source.startswith("Spravato (esketamine) prescribing information, Contraindications")
]


def test_the_label_contraindications_are_all_in_the_rules():
    # Spravato label: aneurysmal vascular disease, AV malformation, intracerebral haemorrhage,
    # hypersensitivity (clinical-reference §2).
    fields = {field for rule in LABEL_EXCLUSIONS for field in rule.fields}
    assert fields == {
        "medical.aneurysmal_vascular_disease",
        "medical.arteriovenous_malformation",
        "medical.intracerebral_haemorrhage_history",
        "medical.hypersensitivity_to_ketamine_or_esketamine",
    }
    assert all(not rule.policy for rule in LABEL_EXCLUSIONS)


@pytest.mark.parametrize("rule", LABEL_EXCLUSIONS, ids=lambda r: r.id)
def test_each_contraindication_excludes_esketamine_only(rule, prescriber, clinic, patient):
    (field,) = rule.fields
    evaluation = signed_evaluation(prescriber, clinic, patient, **{field: True})
    verdicts = evaluation.verdicts
    esketamine = verdicts["intranasal_esketamine"]
    assert esketamine["verdict"] == "exclude"
    fired = {f["id"]: f for f in esketamine["fired"]}
    assert fired[rule.id]["source"] == rule.source
    assert fired[rule.id]["values"] == {field: True}
    for route in ("iv_ketamine", "im_ketamine"):
        fired_here = {f["id"] for f in verdicts[route]["fired"]}
        assert rule.id not in fired_here
        # Racemic ketamine is excluded only by its own hypersensitivity rule (Ketalar label).
        excluded_by = {f["id"] for f in verdicts[route]["fired"] if f["verdict"] == "exclude"}
        assert excluded_by <= {"ketamine_hypersensitivity"}, route


def test_the_verdict_page_shows_rule_and_source(prescriber, clinic, patient, as_user):
    from django.urls import reverse

    evaluation = signed_evaluation(
        prescriber, clinic, patient, **{"medical.arteriovenous_malformation": True}
    )
    page = as_user(prescriber).get(reverse("evaluation-detail", args=[evaluation.pk]))
    html = page.content.decode()
    assert "Arteriovenous malformation contraindicates esketamine." in html
    assert "esketamine_arteriovenous_malformation" not in html  # the id stays in the record
    assert "Spravato" in html
    assert 'data-route="intranasal_esketamine"' in html
