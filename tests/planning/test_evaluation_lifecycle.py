"""An evaluation moves in progress → completed → signed, and is read-only once signed."""

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.planning import actions
from ketacare.planning.actions import PlanningError
from ketacare.planning.models import Evaluation
from ketacare.planning.signature import evaluation_intact
from tests.conftest import PASSWORD, actor
from tests.planning.conftest import CLEAR_ANSWERS, as_prescriber


def test_completing_names_every_unanswered_field(nurse, clinic, patient):
    who = actor(nurse, clinic)
    partial = {k: v for k, v in CLEAR_ANSWERS.items() if not k.startswith("vitals.")}
    evaluation = actions.start_evaluation(who, patient, partial, "")
    with pytest.raises(PlanningError) as refused:
        actions.complete_evaluation(who, evaluation.pk)
    assert "Systolic BP (mmHg), Diastolic BP (mmHg), Heart rate (/min)" in str(refused.value)
    evaluation.refresh_from_db()
    assert evaluation.state == Evaluation.State.IN_PROGRESS
    assert evaluation.verdicts == {}


def test_an_implausible_answer_is_named_in_the_form_s_words(nurse, clinic, patient):
    who = actor(nurse, clinic)
    answers = {**CLEAR_ANSWERS, "vitals.systolic": 80, "vitals.diastolic": 95}
    evaluation = actions.start_evaluation(who, patient, answers, "")
    with pytest.raises(PlanningError, match=r"Diastolic BP \(mmHg\) \(95\) must be below"):
        actions.complete_evaluation(who, evaluation.pk)


def test_completing_takes_weight_and_judges(nurse, clinic, patient):
    who = actor(nurse, clinic)
    evaluation = actions.start_evaluation(who, patient, CLEAR_ANSWERS, "")
    actions.complete_evaluation(who, evaluation.pk)
    evaluation.refresh_from_db()
    assert evaluation.state == Evaluation.State.COMPLETED
    assert evaluation.weight_kg == patient.measurements.get().weight_kg
    assert {v["verdict"] for v in evaluation.verdicts.values()} == {"eligible"}


def test_editing_a_completed_evaluation_reopens_it(nurse, clinic, patient):
    who = actor(nurse, clinic)
    evaluation = actions.start_evaluation(who, patient, CLEAR_ANSWERS, "")
    evaluation = actions.complete_evaluation(who, evaluation.pk)
    changed = {**CLEAR_ANSWERS, "vitals.heart_rate": 90}
    actions.save_evaluation(who, evaluation.pk, changed, "", evaluation.version)
    evaluation.refresh_from_db()
    assert evaluation.state == Evaluation.State.IN_PROGRESS
    assert evaluation.verdicts == {}


def test_a_stale_form_does_not_overwrite_a_newer_save(nurse, clinic, patient):
    who = actor(nurse, clinic)
    evaluation = actions.start_evaluation(who, patient, CLEAR_ANSWERS, "")
    opened = evaluation.version
    actions.save_evaluation(who, evaluation.pk, CLEAR_ANSWERS, "first", opened)
    with pytest.raises(PlanningError, match="Someone else saved"):
        actions.save_evaluation(who, evaluation.pk, CLEAR_ANSWERS, "second", opened)
    evaluation.refresh_from_db()
    assert evaluation.notes == "first"


def test_signing_needs_the_prescriber_s_own_password(prescriber, clinic, patient):
    who = as_prescriber(prescriber, clinic)
    evaluation = actions.start_evaluation(who, patient, CLEAR_ANSWERS, "")
    actions.complete_evaluation(who, evaluation.pk)
    with pytest.raises(PlanningError, match="signature was not accepted"):
        actions.sign_evaluation(who, evaluation.pk, "guess")
    evaluation.refresh_from_db()
    assert evaluation.state == Evaluation.State.COMPLETED
    assert not AuditEvent.objects.filter(action="sign").exists()


def test_an_unfinished_evaluation_cannot_be_signed(prescriber, clinic, patient):
    who = as_prescriber(prescriber, clinic)
    evaluation = actions.start_evaluation(who, patient, CLEAR_ANSWERS, "")
    with pytest.raises(PlanningError, match="Only a completed evaluation"):
        actions.sign_evaluation(who, evaluation.pk, PASSWORD)


def test_signing_is_audited_with_a_digest_that_verifies(evaluation):
    assert evaluation.state == Evaluation.State.SIGNED
    assert evaluation_intact(Evaluation.objects.get(pk=evaluation.pk))
    event = AuditEvent.objects.get(action="sign", object_id=str(evaluation.pk))
    assert event.changes["digest"] == evaluation.digest


def test_a_signed_evaluation_cannot_be_edited_through_the_action(evaluation, nurse, clinic):
    with pytest.raises(PlanningError, match="signed and can no longer be edited"):
        actions.save_evaluation(
            actor(nurse, clinic), evaluation.pk, CLEAR_ANSWERS, "changed", evaluation.version
        )


def test_a_signed_evaluation_cannot_be_edited_through_the_page(evaluation, nurse, as_user):
    url = reverse("evaluation-edit", args=[evaluation.pk])
    response = as_user(nurse).post(url, {"notes": "changed", "version": evaluation.version})
    assert response.status_code == 302
    assert Evaluation.objects.get(pk=evaluation.pk).notes == ""


def test_the_database_refuses_to_change_a_signed_evaluation(evaluation):
    with (
        pytest.raises(DatabaseError, match="signed evaluation cannot be changed"),
        transaction.atomic(),
    ):
        Evaluation.objects.filter(pk=evaluation.pk).update(notes="rewritten")
    assert Evaluation.objects.get(pk=evaluation.pk).notes == ""


def test_the_database_lets_an_unsigned_evaluation_change(nurse, clinic, patient):
    evaluation = actions.start_evaluation(actor(nurse, clinic), patient, CLEAR_ANSWERS, "")
    Evaluation.objects.filter(pk=evaluation.pk).update(notes="draft note")
    assert Evaluation.objects.get(pk=evaluation.pk).notes == "draft note"


def test_signing_refuses_verdicts_that_changed_since_completion(prescriber, clinic, patient):
    who = as_prescriber(prescriber, clinic)
    answers = {**CLEAR_ANSWERS, "medications.benzodiazepines": True}
    evaluation = actions.start_evaluation(who, patient, answers, "")
    actions.complete_evaluation(who, evaluation.pk)
    actions.change_rule_policy(who, "benzodiazepines", {"enabled": False}, "Handled at check-in.")
    with pytest.raises(PlanningError, match="different verdicts now"):
        actions.sign_evaluation(who, evaluation.pk, PASSWORD)
    actions.complete_evaluation(who, evaluation.pk)  # checked again against the rules
    signed = actions.sign_evaluation(who, evaluation.pk, PASSWORD)
    assert signed.verdicts["iv_ketamine"]["verdict"] == "eligible"


def test_an_edit_without_its_version_is_refused(nurse, clinic, patient, as_user):
    evaluation = actions.start_evaluation(actor(nurse, clinic), patient, CLEAR_ANSWERS, "")
    response = as_user(nurse).post(reverse("evaluation-edit", args=[evaluation.pk]), {"notes": "x"})
    assert "Someone else saved" in response.content.decode()
    assert Evaluation.objects.get(pk=evaluation.pk).notes == ""
