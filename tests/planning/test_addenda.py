"""A signed evaluation is amended by addenda; changed answers are judged again."""

import pytest
from django.db import DatabaseError, transaction

from ketacare.planning import actions
from ketacare.planning.actions import PlanningError
from ketacare.planning.models import EvaluationAddendum
from tests.conftest import actor
from tests.planning.conftest import CLEAR_ANSWERS


def test_a_note_only_addendum_keeps_the_verdicts(evaluation, nurse, clinic):
    addendum = actions.add_addendum(
        actor(nurse, clinic), evaluation.pk, "Escort confirmed: partner.", dict(CLEAR_ANSWERS)
    )
    assert addendum.changes == {}
    assert actions.effective_verdicts(evaluation) == evaluation.verdicts


def test_changed_answers_are_judged_again(evaluation, nurse, clinic):
    actions.add_addendum(
        actor(nurse, clinic),
        evaluation.pk,
        "Started lorazepam 1 mg at night.",
        {**CLEAR_ANSWERS, "medications.benzodiazepines": True},
    )
    evaluation.refresh_from_db()
    assert actions.effective_answers(evaluation)["medications.benzodiazepines"] is True
    fired = {f["id"] for f in actions.effective_verdicts(evaluation)["iv_ketamine"]["fired"]}
    assert "benzodiazepines" in fired
    # The signed evaluation itself is untouched.
    assert evaluation.answers["medications.benzodiazepines"] is False


def test_an_addendum_needs_a_note(evaluation, nurse, clinic):
    with pytest.raises(PlanningError, match="Write what the addendum"):
        actions.add_addendum(actor(nurse, clinic), evaluation.pk, "  ", dict(CLEAR_ANSWERS))
    assert not EvaluationAddendum.objects.exists()


def test_an_addendum_cannot_blank_an_answer(evaluation, nurse, clinic):
    answers = {k: v for k, v in CLEAR_ANSWERS.items() if k != "vitals.systolic"}
    with pytest.raises(PlanningError, match="cannot leave answers blank: Systolic"):
        actions.add_addendum(actor(nurse, clinic), evaluation.pk, "typo", answers)


def test_an_implausible_change_writes_nothing(evaluation, nurse, clinic):
    with pytest.raises(PlanningError, match="Heart rate"):
        actions.add_addendum(
            actor(nurse, clinic),
            evaluation.pk,
            "Recounted the pulse.",
            {**CLEAR_ANSWERS, "vitals.heart_rate": 400},
        )
    assert not EvaluationAddendum.objects.exists()


def test_only_a_signed_evaluation_takes_addenda(nurse, clinic, patient):
    who = actor(nurse, clinic)
    draft = actions.start_evaluation(who, patient, CLEAR_ANSWERS, "")
    with pytest.raises(PlanningError, match="edit this one instead"):
        actions.add_addendum(who, draft.pk, "note", dict(CLEAR_ANSWERS))


def test_the_database_refuses_to_change_an_addendum(evaluation, nurse, clinic):
    addendum = actions.add_addendum(actor(nurse, clinic), evaluation.pk, "x", dict(CLEAR_ANSWERS))
    with pytest.raises(DatabaseError, match="addendum cannot be changed"), transaction.atomic():
        EvaluationAddendum.objects.filter(pk=addendum.pk).update(note="rewritten")
