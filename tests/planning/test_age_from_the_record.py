"""The age the eligibility rules read comes from the patient's date of birth on the evaluation
date, never from a typed answer: 17 (the day before the 18th birthday) excludes esketamine and
needs clearance for racemic ketamine; 18 (on the birthday) fires no age rule. Through the
actions and through HTTP requests."""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape

from ketacare.planning import actions
from ketacare.planning.models import Evaluation
from tests.conftest import PASSWORD, actor, make_patient
from tests.planning.conftest import CLEAR_ANSWERS, as_prescriber, rationale
from tests.planning.test_evaluation_form import form_data

DAY = "2027-03-10 12:00:00+00:00"
SEVENTEEN = date(2009, 3, 11)  # 18 tomorrow
EIGHTEEN = date(2009, 3, 10)  # 18 today
AGE_RULES = {"esketamine_under_18", "ketamine_under_18"}


def fired(verdict):
    return {f["id"]: f for f in verdict["fired"]}


def completed(nurse, clinic, patient, answers=CLEAR_ANSWERS):
    who = actor(nurse, clinic)
    evaluation = actions.start_evaluation(who, patient, dict(answers), "")
    return actions.complete_evaluation(who, evaluation.pk)


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (SEVENTEEN, DAY, 17),
        (EIGHTEEN, DAY, 18),
        # Born on 29 February: 18 on 1 March in a year without one.
        (date(2008, 2, 29), "2026-02-28 12:00:00+00:00", 17),
        (date(2008, 2, 29), "2026-03-01 12:00:00+00:00", 18),
    ],
)
def test_the_age_rules_read_the_date_of_birth(nurse, clinic, born, day, age):
    with time_machine.travel(day, tick=False):
        patient = make_patient(nurse, clinic, date_of_birth=born)
        verdicts = completed(nurse, clinic, patient).verdicts
    esketamine = verdicts["intranasal_esketamine"]
    if age == 18:
        assert {v["verdict"] for v in verdicts.values()} == {"eligible"}
        return
    assert esketamine["verdict"] == "exclude"
    rule = fired(esketamine)["esketamine_under_18"]
    assert rule["values"] == {"age_years": 17}
    assert rule["policy"] is False
    for route in ("iv_ketamine", "im_ketamine"):
        assert verdicts[route]["verdict"] == "needs_clearance"
        assert fired(verdicts[route])["ketamine_under_18"]["policy"] is True


def test_a_typed_age_is_not_what_the_rules_read(nurse, clinic):
    with time_machine.travel(DAY, tick=False):
        patient = make_patient(nurse, clinic, date_of_birth=SEVENTEEN)
        evaluation = completed(nurse, clinic, patient, {**CLEAR_ANSWERS, "age_years": 40})
    rule = fired(evaluation.verdicts["intranasal_esketamine"])["esketamine_under_18"]
    assert rule["values"] == {"age_years": 17}


def test_signing_and_an_addendum_after_the_birthday_keep_the_evaluation_date_s_age(
    nurse, prescriber, clinic
):
    with time_machine.travel(DAY, tick=False) as traveller:
        patient = make_patient(nurse, clinic, date_of_birth=SEVENTEEN)
        evaluation = completed(nurse, clinic, patient)
        traveller.shift(timedelta(days=1))  # the 18th birthday
        signed = actions.sign_evaluation(as_prescriber(prescriber, clinic), evaluation.pk, PASSWORD)
        assert signed.verdicts["intranasal_esketamine"]["verdict"] == "exclude"
        # A nurse's addendum that clears nothing is judged on the evaluation date too: it does
        # not meet "only a prescriber may clear a finding" because the patient had a birthday.
        addendum = actions.add_addendum(
            actor(nurse, clinic),
            evaluation.pk,
            "Heart rate rechecked.",
            {**CLEAR_ANSWERS, "vitals.heart_rate": 80},
        )
    assert addendum.verdicts["intranasal_esketamine"]["verdict"] == "exclude"
    assert "ketamine_under_18" in fired(addendum.verdicts["iv_ketamine"])


def test_the_form_has_no_age_to_type(patient, nurse, as_user):
    html = as_user(nurse).get(reverse("evaluation-new", args=[patient.pk])).content.decode()
    assert 'name="age_years"' not in html
    assert "Age comes from the date of birth" in html


@pytest.mark.parametrize(("born", "age"), [(SEVENTEEN, 17), (EIGHTEEN, 18)])
def test_the_evaluation_page_shows_the_age_and_the_rule_it_fired(nurse, clinic, as_user, born, age):
    with time_machine.travel(DAY, tick=False):
        patient = make_patient(nurse, clinic, date_of_birth=born)
        client = as_user(nurse)
        # A stray age in the POST is not a field of the form: ignored.
        data = {**form_data(CLEAR_ANSWERS), "age_years": "40"}
        client.post(reverse("evaluation-new", args=[patient.pk]), data)
        evaluation = Evaluation.objects.get()
        assert "age_years" not in evaluation.answers
        response = client.post(reverse("evaluation-complete", args=[evaluation.pk]))
        assert response.status_code == 302
        html = client.get(reverse("evaluation-detail", args=[evaluation.pk])).content.decode()
    assert f'<dd data-field="age_years">{age}</dd>' in html
    if age == 18:
        assert not any(escape(rationale(rule)) in html for rule in AGE_RULES)
        return
    esketamine = html[html.index('data-route="intranasal_esketamine"') :]
    assert escape(rationale("esketamine_under_18")) in esketamine
    assert "Spravato (esketamine) prescribing information, Indications and Usage" in esketamine
    iv = html[html.index('data-route="iv_ketamine"') : html.index('data-route="im_ketamine"')]
    assert escape(rationale("ketamine_under_18")) in iv
    assert "(clinic policy)" in iv
    assert not any(rule in html for rule in AGE_RULES)  # ids stay in the record


def test_a_signed_evaluation_shows_the_age_and_no_unanswered_field(
    prescriber, clinic, patient, as_user
):
    """Every answer given, signed: the age is read from the record, so nothing is missing."""
    from tests.planning.conftest import signed_evaluation

    with time_machine.travel(DAY, tick=False):
        evaluation = signed_evaluation(prescriber, clinic, patient)
        page = as_user(prescriber).get(reverse("evaluation-detail", args=[evaluation.pk]))
    html = page.content.decode()
    assert '<dd data-field="age_years">41</dd>' in html  # born 1985-12-10, on 2027-03-10
    assert "not answered" not in html
