"""A clinic's prescriber may switch off or re-threshold a clinic-policy rule, with a reason;
label rules cannot be touched; the change applies to that clinic's later evaluations only."""

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from ketacare.accounts.actions import create_staff
from ketacare.actor import SYSTEM
from ketacare.audit.models import AuditEvent
from ketacare.planning import actions
from ketacare.planning.actions import PlanningError
from ketacare.planning.models import RulePolicyChange
from tests.conftest import PASSWORD, make_patient
from tests.planning.conftest import as_prescriber, signed_evaluation

BP_RULE = "ketamine_baseline_blood_pressure_raised"
HIGH_BP = {"vitals.systolic": 146, "vitals.diastolic": 88}


def fired(evaluation, route="iv_ketamine"):
    return {f["id"] for f in evaluation.verdicts[route]["fired"]}


def test_a_raised_threshold_applies_to_later_evaluations(prescriber, clinic, patient):
    before = signed_evaluation(prescriber, clinic, patient, **HIGH_BP)
    assert BP_RULE in fired(before)
    actions.change_rule_policy(
        as_prescriber(prescriber, clinic),
        BP_RULE,
        {"thresholds": {"vitals.systolic": 150}},
        "Medical director: 150 systolic before IV, as in our 2026 protocol.",
    )
    after = signed_evaluation(prescriber, clinic, patient, **HIGH_BP)
    assert BP_RULE not in fired(after)
    before.refresh_from_db()
    assert BP_RULE in fired(before)  # signed verdicts stay as signed


def test_a_switched_off_rule_no_longer_fires_and_can_be_restored(prescriber, clinic, patient):
    who = as_prescriber(prescriber, clinic)
    actions.change_rule_policy(who, "benzodiazepines", {"enabled": False}, "Handled at check-in.")
    off = signed_evaluation(prescriber, clinic, patient, **{"medications.benzodiazepines": True})
    assert "benzodiazepines" not in fired(off)
    actions.change_rule_policy(who, "benzodiazepines", {}, "Back to the rules file.")
    on = signed_evaluation(prescriber, clinic, patient, **{"medications.benzodiazepines": True})
    assert "benzodiazepines" in fired(on)


def test_one_clinic_s_change_does_not_reach_another(prescriber, clinic, other_clinic):
    actions.change_rule_policy(
        as_prescriber(prescriber, clinic), BP_RULE, {"enabled": False}, "Ours only."
    )
    other = create_staff(
        SYSTEM, clinic=other_clinic, username="other-p", password=PASSWORD, role="prescriber"
    )
    patient = make_patient(other, other_clinic)
    evaluation = signed_evaluation(other, other_clinic, patient, **HIGH_BP)
    assert BP_RULE in fired(evaluation)


@pytest.mark.parametrize(
    ("rule_id", "change", "reason", "message"),
    [
        ("esketamine_aneurysmal_vascular_disease", {"enabled": False}, "x", "label fact"),
        ("no_such_rule", {"enabled": False}, "x", "No rule 'no_such_rule'"),
        (BP_RULE, {"thresholds": {"vitals.systolic": 900}}, "x", "outside the plausible"),
        (BP_RULE, {"enabled": False}, "  ", "Write the reason"),
        (BP_RULE, {}, "x", "nothing to change"),
    ],
)
def test_bad_changes_are_refused(rule_id, change, reason, message, prescriber, clinic):
    with pytest.raises(PlanningError, match=message):
        actions.change_rule_policy(as_prescriber(prescriber, clinic), rule_id, change, reason)
    assert not RulePolicyChange.objects.exists()


def test_a_change_is_audited_and_cannot_be_rewritten(prescriber, clinic):
    change = actions.change_rule_policy(
        as_prescriber(prescriber, clinic),
        "dast10_positive",
        {"thresholds": {"screening.dast10_score": 4}},
        "Cut-point 4 on the advice of our addiction service.",
    )
    event = AuditEvent.objects.get(object_type="eligibility_rule")
    assert event.changes["change"]["new"] == {"thresholds": {"screening.dast10_score": 4}}
    assert event.changes["reason"].startswith("Cut-point 4")
    with pytest.raises(DatabaseError, match="rule change cannot be changed"), transaction.atomic():
        RulePolicyChange.objects.filter(pk=change.pk).update(reason="")


def test_the_rule_page_changes_a_threshold(prescriber, as_user):
    client = as_user(prescriber)
    url = reverse("rule-edit", args=[BP_RULE])
    page = client.get(url).content.decode()
    assert "Rules file: &gt; 140" in page
    response = client.post(
        url,
        {
            "enabled": "on",
            "vitals__systolic": "150",
            "vitals__diastolic": "90",
            "reason": "New clinic protocol.",
        },
    )
    assert response.status_code == 302
    change = RulePolicyChange.objects.get()
    assert change.change == {"thresholds": {"vitals.systolic": 150}}
    listing = client.get(reverse("rule-list")).content.decode()
    assert "Systolic BP (mmHg) &gt; 150 (rules file: &gt; 140)" in listing
    assert "vitals.systolic" not in listing


def test_a_label_rule_has_no_edit_page(prescriber, as_user):
    url = reverse("rule-edit", args=["esketamine_arteriovenous_malformation"])
    response = as_user(prescriber).post(url, {"enabled": "", "reason": "try"})
    assert response.status_code == 302
    assert not RulePolicyChange.objects.exists()
