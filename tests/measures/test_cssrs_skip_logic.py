"""The C-SSRS screener's skip logic on the staff entry form (Columbia; clinical-reference §7):
Q3-5 are asked only after a yes to Q2, Q6 always. A question not asked is left blank and counts
as no; a yes to a question that should not have been asked is refused, and nothing is saved."""

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.clinical.instruments import AnswerError
from ketacare.measures import actions
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert
from tests.conftest import actor
from tests.measures.helpers import staff_form_data


def enter_url(patient):
    return reverse("measure-enter", kwargs={"pk": patient.pk, "instrument_id": "cssrs_screen"})


def post(client, patient, answers):
    """``answers`` as the form posts them; None leaves a question unanswered (not asked)."""
    data = staff_form_data([0 if a is None else a for a in answers])
    for number, answer in enumerate(answers, start=1):
        if answer is None:
            data[f"item_{number}"] = ""
    return client.post(enter_url(patient), data)


def test_the_form_marks_q3_to_q5_as_asked_after_q2(as_user, nurse, patient):
    response = as_user(nurse).get(enter_url(patient))
    form = response.context["form"]
    for number in (3, 4, 5):
        field = form.fields[f"item_{number}"]
        assert not field.required
        assert field.widget.attrs == {"data-asked-after": "item_2", "data-skip-when": "0"}
        assert "only after a yes to Q2" in field.help_text
    assert not form.fields["item_7"].required  # "within 3 months" follows Q6
    for number in (1, 2, 6):
        assert form.fields[f"item_{number}"].required
    html = response.content.decode()
    assert 'data-asked-after="item_2"' in html
    assert "measures/skip_logic.js" in html


def test_instruments_without_skip_logic_load_no_script(as_user, nurse, patient):
    url = reverse("measure-enter", kwargs={"pk": patient.pk, "instrument_id": "madrs"})
    assert "skip_logic.js" not in as_user(nurse).get(url).content.decode()


def test_after_a_no_to_q2_the_unasked_questions_are_saved_as_no(as_user, nurse, patient):
    response = post(as_user(nurse), patient, [1, 0, None, None, None, 0, None])
    assert response.status_code == 302
    saved = QuestionnaireResponse.objects.get()
    assert saved.answers == [1, 0, 0, 0, 0, 0, 0]
    assert saved.severity == "low"
    assert not SafetyAlert.objects.exists()


@pytest.mark.parametrize("item", [3, 4, 5])
def test_a_yes_to_q3_to_q5_after_a_no_to_q2_is_refused(as_user, nurse, patient, item):
    answers = [1, 0, None, None, None, 0, None]
    answers[item - 1] = 1
    client = as_user(nurse)
    events = AuditEvent.objects.count()
    response = post(client, patient, answers)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].non_field_errors())
    assert f"item {item} (Q{item}) is asked only after a yes to item 2 (Q2)" in errors
    assert errors in response.content.decode()
    assert not QuestionnaireResponse.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_no_given_to_an_unasked_question_is_consistent(as_user, nurse, patient):
    assert post(as_user(nurse), patient, [1, 0, 0, 0, 0, 0, 0]).status_code == 302
    assert QuestionnaireResponse.objects.get().answers == [1, 0, 0, 0, 0, 0, 0]


def test_after_a_yes_to_q2_each_of_q3_to_q5_must_be_answered(as_user, nurse, patient):
    response = post(as_user(nurse), patient, [1, 1, 0, None, 0, 0, None])
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["item_4"]
    assert "Q2 was answered yes" in errors["item_4"][0]
    assert not QuestionnaireResponse.objects.exists()


@pytest.mark.parametrize(
    ("answers", "risk", "flag"),
    [
        ([1, 1, 1, 0, 0, 0, None], "moderate", "risk_moderate"),  # Q3: referral
        ([1, 1, 0, 1, 0, 0, None], "high", "risk_high"),  # Q4: immediate precautions
        ([1, 1, 0, 0, 1, 0, None], "high", "risk_high"),  # Q5
        ([0, 0, None, None, None, 1, 1], "high", "risk_high"),  # behaviour in 3 months
        ([0, 0, None, None, None, 1, 0], "moderate", "risk_moderate"),  # behaviour, longer ago
    ],
)
def test_triage_follows_the_answers_that_were_asked(as_user, nurse, patient, answers, risk, flag):
    assert post(as_user(nurse), patient, answers).status_code == 302
    assert QuestionnaireResponse.objects.get().severity == risk
    assert SafetyAlert.objects.get().flag == flag


def test_the_action_refuses_it_too_whatever_calls_it(nurse, clinic, patient):
    with pytest.raises(AnswerError, match="only after a yes to item 2"):
        actions.record_staff_response(
            actor(nurse, clinic), patient, "cssrs_screen", [1, 0, 1, 0, 0, 0, 0], timezone.now()
        )
    assert not QuestionnaireResponse.objects.exists()


@pytest.mark.parametrize(
    ("answers", "triage"),
    [
        ([1, 0, None, None, None, 0, None], "Lower risk: give crisis resources (call or text 988"),
        ([1, 1, 1, 0, 0, 0, None], "Behavioural-health referral"),
        ([1, 1, 0, 1, 0, 0, None], "Immediate safety precautions and evaluation"),
    ],
)
def test_the_saved_message_gives_the_columbia_triage(as_user, nurse, patient, answers, triage):
    client = as_user(nurse)
    post(client, patient, answers)
    html = client.get(reverse("patient-measures", args=[patient.pk])).content.decode()
    assert f"Triage: {triage}" in html
