"""A plan is signed on a current treatment consent for its drug (the latest record of that kind
by the time it was signed); without one the prescriber may sign only with a written reason,
which the plan, its signature and the audit log keep."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.planning import actions
from ketacare.planning.actions import PlanningError
from ketacare.planning.models import PlannedSession, TreatmentPlan
from ketacare.planning.signature import plan_intact
from tests.conftest import PASSWORD
from tests.planning.conftest import as_prescriber, give_consent, iv_request, signed_evaluation

REASON = "Consent discussed and agreed today; the signed form follows with the first visit."


@pytest.fixture
def draft(prescriber, clinic, patient):
    """An IV ketamine draft for a patient with no consent on record."""
    evaluation = signed_evaluation(prescriber, clinic, patient)
    return actions.draft_plan(as_prescriber(prescriber, clinic), evaluation.pk, iv_request())


def test_without_consent_the_plan_is_not_signed(draft, prescriber, clinic):
    with pytest.raises(PlanningError, match="No consent to ketamine treatment is recorded"):
        actions.sign_plan(as_prescriber(prescriber, clinic), draft.pk, PASSWORD)
    assert TreatmentPlan.objects.get(pk=draft.pk).state == TreatmentPlan.State.DRAFT
    assert not PlannedSession.objects.exists()


def test_a_granted_consent_lets_the_plan_be_signed(draft, prescriber, clinic, patient):
    assert actions.consent_problem(draft) is not None
    give_consent(prescriber, clinic, patient)
    assert actions.consent_problem(draft) is None
    plan = actions.sign_plan(as_prescriber(prescriber, clinic), draft.pk, PASSWORD, "ignored")
    assert plan.is_signed
    assert plan.consent_reason == ""  # a reason is kept only where consent was missing


def test_the_latest_consent_by_signing_time_decides(draft, prescriber, clinic, patient):
    now = timezone.now()
    give_consent(prescriber, clinic, patient, decision="withdrawn", at=now - timedelta(days=1))
    # Entered later, but signed before the withdrawal: the withdrawal still stands.
    give_consent(prescriber, clinic, patient, at=now - timedelta(days=2))
    assert "was withdrawn on" in actions.consent_problem(draft)
    give_consent(prescriber, clinic, patient, at=now)
    assert actions.consent_problem(draft) is None


def test_the_consent_is_for_the_plans_drug(evaluation, prescriber, clinic, patient):
    """The esketamine consent of the evaluation fixture is withdrawn; the ketamine one stands."""
    who = as_prescriber(prescriber, clinic)
    give_consent(prescriber, clinic, patient, "treatment_esketamine", decision="withdrawn")
    esketamine = actions.draft_plan(
        who, evaluation.pk, iv_request(protocol_id="esketamine_trd", dose=Decimal("56"))
    )
    with pytest.raises(PlanningError, match="Consent to esketamine treatment was withdrawn"):
        actions.sign_plan(who, esketamine.pk, PASSWORD)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_blank_reason_is_no_reason(reason, draft, prescriber, clinic):
    with pytest.raises(PlanningError, match="write why the plan is signed without it"):
        actions.sign_plan(as_prescriber(prescriber, clinic), draft.pk, PASSWORD, reason)


def test_a_written_reason_signs_and_is_kept(draft, prescriber, clinic, as_user):
    plan = actions.sign_plan(as_prescriber(prescriber, clinic), draft.pk, PASSWORD, f" {REASON} ")
    assert plan.is_signed and plan.sessions.exists()
    assert plan.consent_reason == REASON
    assert plan_intact(TreatmentPlan.objects.get(pk=plan.pk))
    event = AuditEvent.objects.filter(object_type="treatmentplan", action="sign").get()
    assert event.changes["signed_without_consent"] == {
        "problem": "No consent to ketamine treatment is recorded.",
        "reason": REASON,
    }
    page = as_user(prescriber).get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert "Signed without a current treatment consent" in page
    assert REASON in page


def test_the_reason_is_part_of_what_was_signed(draft, prescriber, clinic):
    plan = actions.sign_plan(as_prescriber(prescriber, clinic), draft.pk, PASSWORD, REASON)
    plan.consent_reason = "Something else."
    assert not plan_intact(plan)


def test_a_direct_post_without_a_reason_is_refused(draft, prescriber, as_user):
    client = as_user(prescriber)
    url = reverse("plan-sign", args=[draft.pk])
    response = client.post(url, {"password": PASSWORD})
    assert response.status_code == 200
    assert "No consent to ketamine treatment is recorded" in response.content.decode()
    assert TreatmentPlan.objects.get(pk=draft.pk).state == TreatmentPlan.State.DRAFT

    response = client.post(url, {"password": PASSWORD, "consent_reason": REASON})
    assert response.status_code == 302
    assert TreatmentPlan.objects.get(pk=draft.pk).consent_reason == REASON


def test_the_sign_page_links_to_the_consent_form(draft, prescriber, patient, as_user):
    client = as_user(prescriber)
    page = client.get(reverse("plan-sign", args=[draft.pk])).content.decode()
    consent_url = f"{reverse('consent-new', args=[patient.pk])}?kind=treatment_ketamine"
    assert f'href="{consent_url}"' in page
    assert 'name="consent_reason"' in page
    form = client.get(consent_url).context["form"]
    assert form.initial["kind"] == "treatment_ketamine"
    # The draft's own page says so too, before anyone tries to sign.
    page = client.get(reverse("plan-detail", args=[draft.pk])).content.decode()
    assert f'href="{consent_url}"' in page


def test_with_consent_the_sign_page_asks_for_no_reason(draft, prescriber, clinic, patient, as_user):
    give_consent(prescriber, clinic, patient)
    page = as_user(prescriber).get(reverse("plan-sign", args=[draft.pk])).content.decode()
    assert 'name="consent_reason"' not in page
    assert "data-consent-problem" not in page
