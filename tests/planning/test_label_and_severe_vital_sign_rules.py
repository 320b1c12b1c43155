"""Through the planning app: a severe blood pressure or heart rate at evaluation needs clearance
on every route, so no plan uses a route without a prescriber's override; the Ketalar and
Spravato label facts fire as label rules that a clinic cannot switch off; a clinic's earlier
change to a rule that has since become a label fact lapses instead of stopping evaluations."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from ketacare.clinical.eligibility import load_rules
from ketacare.planning import actions
from ketacare.planning.actions import PlanningError
from ketacare.planning.models import Evaluation, RulePolicyChange, TreatmentPlan
from tests.conftest import PASSWORD, actor
from tests.planning.conftest import CLEAR_ANSWERS, as_prescriber, iv_request, signed_evaluation

ROUTES = ("iv_ketamine", "im_ketamine", "intranasal_esketamine")
SEVERE = {"vitals.systolic": 230, "vitals.diastolic": 130, "vitals.heart_rate": 150}
SEVERE_RULES = {"severe_hypertension_at_evaluation", "severe_tachycardia_at_evaluation"}
KETALAR = "Ketalar (ketamine hydrochloride) prescribing information, Contraindications"


def fired(verdict):
    return {f["id"]: f for f in verdict["fired"]}


def test_severe_vital_signs_need_clearance_on_every_route(prescriber, clinic, patient):
    evaluation = signed_evaluation(prescriber, clinic, patient, **SEVERE)
    for route in ROUTES:
        verdict = evaluation.verdicts[route]
        assert verdict["verdict"] == "needs_clearance", route
        assert set(fired(verdict)) >= SEVERE_RULES
        assert fired(verdict)["severe_tachycardia_at_evaluation"]["values"] == {
            "vitals.heart_rate": 150
        }


@pytest.mark.parametrize(
    "request_changes",
    [{}, {"protocol_id": "esketamine_trd", "dose": Decimal("56")}],
    ids=["iv", "esketamine"],
)
def test_no_plan_under_severe_vital_signs_without_an_override(
    prescriber, clinic, patient, request_changes
):
    evaluation = signed_evaluation(prescriber, clinic, patient, **SEVERE)
    who = as_prescriber(prescriber, clinic)
    with pytest.raises(PlanningError, match="Blood pressure above the clinic's severe tier"):
        actions.draft_plan(who, evaluation.pk, iv_request(**request_changes))
    assert not TreatmentPlan.objects.exists()


@pytest.mark.parametrize(
    ("heart_rate", "verdict"), [(110, "eligible"), (111, "caution"), (121, "needs_clearance")]
)
def test_heart_rate_at_evaluation_at_its_boundaries(
    prescriber, clinic, patient, heart_rate, verdict
):
    evaluation = signed_evaluation(prescriber, clinic, patient, **{"vitals.heart_rate": heart_rate})
    assert {evaluation.verdicts[r]["verdict"] for r in ROUTES} == {verdict}


def test_the_evaluation_page_shows_the_severe_rules_and_their_basis(
    nurse, clinic, patient, as_user
):
    evaluation = actions.start_evaluation(
        actor(nurse, clinic), patient, {**CLEAR_ANSWERS, **SEVERE}, ""
    )
    client = as_user(nurse)
    response = client.post(reverse("evaluation-complete", args=[evaluation.pk]))
    assert response.status_code == 302
    assert Evaluation.objects.get().state == Evaluation.State.COMPLETED
    html = client.get(reverse("evaluation-detail", args=[evaluation.pk])).content.decode()
    # They fire on every route: listed once, in the block for every route, with their basis.
    shared = html[html.index('data-route="all"') :]
    shared = shared[: shared.index("</div>")]
    rationales = {rule.id: escape(rule.rationale) for rule in load_rules().rules}
    for rule in SEVERE_RULES:
        assert rationales[rule] in shared
        assert html.count(rationales[rule]) == 1, rule
        assert rule not in html
    assert "clinical reference §3</a>" in shared
    for route in ROUTES:
        assert f'<div class="verdict verdict-needs_clearance" data-route="{route}">' in html
    assert '<dd data-field="vitals.heart_rate">150</dd>' in html


def test_the_ketalar_contraindication_is_a_label_rule_in_the_app(prescriber, clinic, patient):
    evaluation = signed_evaluation(
        prescriber, clinic, patient, **{"medical.uncontrolled_hypertension": True}
    )
    for route in ("iv_ketamine", "im_ketamine"):
        rule = fired(evaluation.verdicts[route])["ketamine_uncontrolled_hypertension"]
        assert evaluation.verdicts[route]["verdict"] == "needs_clearance"
        assert rule["policy"] is False
        assert rule["source"].startswith(KETALAR)
    with pytest.raises(PlanningError, match="label fact"):
        actions.change_rule_policy(
            as_prescriber(prescriber, clinic),
            "ketamine_uncontrolled_hypertension",
            {"enabled": False},
            "We control blood pressure at check-in.",
        )


def test_pregnancy_stays_a_label_fact_for_esketamine_when_the_clinic_switches_off_its_policy(
    prescriber, clinic, patient
):
    actions.change_rule_policy(
        as_prescriber(prescriber, clinic),
        "pregnancy_or_breastfeeding",
        {"enabled": False},
        "Obstetric liaison reviews every referral.",
    )
    evaluation = signed_evaluation(
        prescriber, clinic, patient, **{"medical.pregnant_or_breastfeeding": True}
    )
    assert evaluation.verdicts["iv_ketamine"]["verdict"] == "eligible"
    esketamine = evaluation.verdicts["intranasal_esketamine"]
    assert esketamine["verdict"] == "needs_clearance"
    rule = fired(esketamine)["esketamine_pregnancy_or_breastfeeding"]
    assert rule["policy"] is False
    assert "(§8.1)" in rule["source"] and "(§8.2)" in rule["source"]


def switched_off_earlier(clinic, prescriber, rule_id):
    """A change stored before the rules file changed, which the action would refuse today."""
    RulePolicyChange.objects.create(
        clinic=clinic, rule_id=rule_id, change={"enabled": False}, reason="x", author=prescriber
    )


def test_a_change_to_a_rule_that_became_a_label_fact_lapses(prescriber, clinic, patient, as_user):
    # Made while ketamine_uncontrolled_hypertension was clinic policy; the action refuses it now.
    switched_off_earlier(clinic, prescriber, "ketamine_uncontrolled_hypertension")
    evaluation = signed_evaluation(
        prescriber, clinic, patient, **{"medical.uncontrolled_hypertension": True}
    )
    assert "ketamine_uncontrolled_hypertension" in fired(evaluation.verdicts["iv_ketamine"])
    # Other policy changes still work beside the lapsed one.
    actions.change_rule_policy(
        as_prescriber(prescriber, clinic), "benzodiazepines", {"enabled": False}, "At check-in."
    )
    listing = as_user(prescriber).get(reverse("rule-list")).content.decode()
    row = listing[listing.index('id="rule-ketamine_uncontrolled_hypertension"') :]
    row = row[: row.index("</tr>")]
    assert "no longer applies: the rule is now a label fact" in row
    assert "switched off" not in row


def test_signing_still_works_with_a_lapsed_change(prescriber, clinic, patient):
    who = as_prescriber(prescriber, clinic)
    evaluation = actions.start_evaluation(who, patient, CLEAR_ANSWERS, "")
    actions.complete_evaluation(who, evaluation.pk)
    switched_off_earlier(clinic, prescriber, "a_rule_since_removed")
    assert actions.sign_evaluation(who, evaluation.pk, PASSWORD).is_signed
