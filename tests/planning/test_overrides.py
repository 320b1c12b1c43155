"""A prescriber may treat despite an exclude or needs-clearance verdict only with a written
reason and their password; the override is audited and shown wherever the plan is shown."""

import re

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils.html import escape

from ketacare.audit.models import AuditEvent
from ketacare.planning import actions
from ketacare.planning.actions import PlanningError
from ketacare.planning.models import EligibilityOverride, TreatmentPlan
from tests.conftest import PASSWORD
from tests.planning.conftest import (
    as_prescriber,
    give_consent,
    iv_request,
    rationale,
    signed_evaluation,
)

ANEURYSM = {"medical.aneurysmal_vascular_disease": True}
REASON = "Vascular surgery cleared 2026-11-02: stable 3.1 cm AAA, BP controlled."


@pytest.fixture
def aneurysm(prescriber, clinic, patient):
    """IV ketamine needs clearance, esketamine is excluded (the patient has consented)."""
    give_consent(prescriber, clinic, patient)
    return signed_evaluation(prescriber, clinic, patient, **ANEURYSM)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_an_override_needs_a_written_reason(reason, aneurysm, prescriber, clinic):
    with pytest.raises(PlanningError, match="needs a written reason"):
        actions.override_eligibility(
            as_prescriber(prescriber, clinic), aneurysm.pk, "iv_ketamine", reason, PASSWORD
        )
    assert not EligibilityOverride.objects.exists()
    assert not AuditEvent.objects.filter(action="override").exists()


def test_an_override_needs_the_prescriber_s_password(aneurysm, prescriber, clinic):
    with pytest.raises(PlanningError, match="signature was not accepted"):
        actions.override_eligibility(
            as_prescriber(prescriber, clinic), aneurysm.pk, "iv_ketamine", REASON, "wrong"
        )
    assert not EligibilityOverride.objects.exists()


def test_the_override_page_refuses_a_blank_reason(aneurysm, prescriber, as_user):
    url = reverse("override-new", args=[aneurysm.pk])
    response = as_user(prescriber).post(
        url, {"route": "iv_ketamine", "reason": "  ", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "Write the reason for the override." in response.content.decode()
    assert not EligibilityOverride.objects.exists()


@pytest.mark.parametrize("route", ["iv_ketamine", "intranasal_esketamine"])
def test_both_exclude_and_needs_clearance_can_be_overridden(route, aneurysm, prescriber, clinic):
    override = actions.override_eligibility(
        as_prescriber(prescriber, clinic), aneurysm.pk, route, REASON, PASSWORD
    )
    assert override.original_verdict == {"iv_ketamine": "needs_clearance"}.get(route, "exclude")
    event = AuditEvent.objects.get(action="override", object_id=str(override.pk))
    assert event.changes["reason"] == REASON
    assert event.changes["rules"] == override.fired_rule_ids
    assert event.patient_id == aneurysm.patient_id


def test_nothing_to_override_when_eligible(evaluation, prescriber, clinic):
    with pytest.raises(PlanningError, match="nothing to override"):
        actions.override_eligibility(
            as_prescriber(prescriber, clinic), evaluation.pk, "iv_ketamine", REASON, PASSWORD
        )


def test_an_unsigned_evaluation_cannot_be_overridden(prescriber, clinic, patient):
    from tests.planning.conftest import CLEAR_ANSWERS

    who = as_prescriber(prescriber, clinic)
    draft = actions.start_evaluation(who, patient, {**CLEAR_ANSWERS, **ANEURYSM}, "")
    actions.complete_evaluation(who, draft.pk)
    with pytest.raises(PlanningError, match="Sign the evaluation"):
        actions.override_eligibility(who, draft.pk, "iv_ketamine", REASON, PASSWORD)


def test_a_plan_cannot_use_a_blocked_route_without_an_override(aneurysm, prescriber, clinic):
    aneurysm_rule = re.escape(rationale("ketamine_aneurysm_avm_or_intracerebral_haemorrhage"))
    with pytest.raises(PlanningError, match=aneurysm_rule):
        actions.draft_plan(as_prescriber(prescriber, clinic), aneurysm.pk, iv_request())
    assert not TreatmentPlan.objects.exists()


def test_the_override_is_shown_wherever_the_plan_is(aneurysm, prescriber, clinic, as_user):
    who = as_prescriber(prescriber, clinic)
    override = actions.override_eligibility(who, aneurysm.pk, "iv_ketamine", REASON, PASSWORD)
    plan = actions.draft_plan(who, aneurysm.pk, iv_request())
    assert plan.override == override
    plan = actions.sign_plan(who, plan.pk, PASSWORD)
    client = as_user(prescriber)
    for url in (
        reverse("plan-detail", args=[plan.pk]),
        reverse("evaluation-detail", args=[aneurysm.pk]),
    ):
        assert REASON in client.get(url).content.decode(), url
    for url in (reverse("planning-worklist"), reverse("patient-planning", args=[plan.patient_id])):
        assert "override" in client.get(url).content.decode(), url


def test_an_override_does_not_cover_a_rule_that_fires_later(aneurysm, prescriber, clinic):
    who = as_prescriber(prescriber, clinic)
    actions.override_eligibility(who, aneurysm.pk, "iv_ketamine", REASON, PASSWORD)
    answers = actions.effective_answers(aneurysm)
    actions.add_addendum(
        who,
        aneurysm.pk,
        "Myocardial infarction last month, reported by the GP.",
        {**answers, "medical.recent_mi_or_stroke": True},
    )
    with pytest.raises(PlanningError, match=re.escape(rationale("ketamine_recent_mi_or_stroke"))):
        actions.draft_plan(who, aneurysm.pk, iv_request())


def test_the_database_refuses_to_change_an_override(aneurysm, prescriber, clinic):
    override = actions.override_eligibility(
        as_prescriber(prescriber, clinic), aneurysm.pk, "iv_ketamine", REASON, PASSWORD
    )
    with (
        pytest.raises(DatabaseError, match="eligibility override cannot be changed"),
        transaction.atomic(),
    ):
        EligibilityOverride.objects.filter(pk=override.pk).update(reason="")


def test_an_unknown_route_is_not_found(aneurysm, prescriber, as_user):
    url = reverse("override-new", args=[aneurysm.pk])
    response = as_user(prescriber).post(
        url, {"route": "oral_ketamine", "reason": REASON, "password": PASSWORD}
    )
    assert response.status_code == 404
    assert not EligibilityOverride.objects.exists()


def test_the_plan_page_warns_when_a_later_finding_blocks_its_route(
    evaluation, prescriber, clinic, as_user
):
    from tests.planning.conftest import CLEAR_ANSWERS

    who = as_prescriber(prescriber, clinic)
    plan = actions.sign_plan(who, actions.draft_plan(who, evaluation.pk, iv_request()).pk, PASSWORD)
    actions.add_addendum(
        who,
        evaluation.pk,
        "Anaphylaxis to ketamine in 2019.",
        {**CLEAR_ANSWERS, "medical.hypersensitivity_to_ketamine_or_esketamine": True},
    )
    html = as_user(prescriber).get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert "Eligibility has changed since this plan was signed" in html
    assert escape(rationale("ketamine_hypersensitivity")) in html
    assert "ketamine_hypersensitivity" not in html
