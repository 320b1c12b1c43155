"""A prescriber's signatures — of an evaluation, an eligibility override, a plan — are sign-ins
(``accounts.reauth``), from the action and from a direct POST: wrong passwords count toward the
lock-out and are audited, a locked account cannot sign, every failure reads the same, and a
prescriber with an authenticator gives its code."""

import pytest
from django.conf import settings
from django.urls import reverse

from ketacare.planning import actions
from ketacare.planning.actions import PlanningError
from ketacare.planning.models import Evaluation, TreatmentPlan
from tests.accounts.reauth_checks import (
    REFUSED,
    authenticator,
    code_for,
    fail_sign_in_until_locked,
    prompt_failures,
    sign_in_is_locked,
    signed_in,
)
from tests.conftest import PASSWORD
from tests.planning.conftest import CLEAR_ANSWERS, as_prescriber, iv_request


@pytest.fixture
def completed(prescriber, clinic, patient):
    """An evaluation awaiting the prescriber's signature."""
    who = as_prescriber(prescriber, clinic)
    evaluation = actions.start_evaluation(who, patient, CLEAR_ANSWERS, "")
    actions.complete_evaluation(who, evaluation.pk)
    return evaluation


def refusal(call, *args):
    with pytest.raises(PlanningError) as refused:
        call(*args)
    return str(refused.value)


def state_of(evaluation):
    return Evaluation.objects.get(pk=evaluation.pk).state


def test_five_wrong_signatures_lock_the_prescriber_out(completed, prescriber, clinic):
    who = as_prescriber(prescriber, clinic)
    for n in range(settings.AXES_FAILURE_LIMIT):
        assert refusal(actions.sign_evaluation, who, completed.pk, f"guess {n}") == REFUSED
    assert refusal(actions.sign_evaluation, who, completed.pk, PASSWORD) == REFUSED
    assert sign_in_is_locked(prescriber)
    events = prompt_failures("evaluation signature")
    assert len(events) == settings.AXES_FAILURE_LIMIT + 1
    assert {event.actor for event in events} == {prescriber}
    assert state_of(completed) == Evaluation.State.COMPLETED


def test_the_sign_page_says_the_same_for_a_wrong_password_and_a_lock_out(completed, prescriber):
    client = signed_in(prescriber)
    url = reverse("evaluation-sign", args=[completed.pk])
    wrong = client.post(url, {"password": "not it"}).content.decode()
    assert REFUSED in wrong
    fail_sign_in_until_locked(prescriber)
    locked = client.post(url, {"password": PASSWORD}).content.decode()
    assert REFUSED in locked
    assert len(prompt_failures("evaluation signature")) == 2
    assert state_of(completed) == Evaluation.State.COMPLETED


def test_an_override_signature_is_audited(evaluation, prescriber, clinic):
    who = as_prescriber(prescriber, clinic)
    message = refusal(
        actions.override_eligibility, who, evaluation.pk, "iv_ketamine", "Benefit", "wrong"
    )
    assert message == REFUSED
    [event] = prompt_failures("eligibility override")
    assert event.changes["username"] == "prescriber"


def test_a_prescriber_with_an_authenticator_signs_the_plan_with_its_code(
    evaluation, prescriber, clinic
):
    device = authenticator(prescriber)
    draft = actions.draft_plan(as_prescriber(prescriber, clinic), evaluation.pk, iv_request())
    client = signed_in(prescriber, device)
    url = reverse("plan-sign", args=[draft.pk])
    page = client.get(url).content.decode()
    assert 'name="code"' in page
    assert REFUSED in client.post(url, {"password": PASSWORD}).content.decode()
    assert prompt_failures("plan signature")[-1].changes["reason"] == "second factor missing"
    response = client.post(url, {"password": PASSWORD, "code": code_for(device)})
    assert response.status_code == 302
    assert TreatmentPlan.objects.get(pk=draft.pk).state == TreatmentPlan.State.SIGNED
