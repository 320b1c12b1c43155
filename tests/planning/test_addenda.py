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


def test_a_stale_addendum_form_cannot_undo_a_newer_finding(evaluation, prescriber, nurse, clinic):
    from tests.planning.conftest import as_prescriber

    opened = evaluation.addenda.count()  # the nurse opens the form
    actions.add_addendum(
        as_prescriber(prescriber, clinic),
        evaluation.pk,
        "Anaphylaxis to ketamine in 2019, per hospital records.",
        {**CLEAR_ANSWERS, "medical.hypersensitivity_to_ketamine_or_esketamine": True},
        opened,
    )
    with pytest.raises(PlanningError, match="Someone added an addendum after you opened"):
        actions.add_addendum(
            actor(nurse, clinic),
            evaluation.pk,
            "Pulse rechecked.",
            {**CLEAR_ANSWERS, "vitals.heart_rate": 80},
            opened,
        )
    assert actions.effective_verdicts(evaluation)["iv_ketamine"]["verdict"] == "exclude"


def test_only_a_prescriber_may_clear_a_finding(prescriber, nurse, clinic, patient):
    from tests.planning.conftest import as_prescriber, signed_evaluation

    excluded = signed_evaluation(
        prescriber, clinic, patient, **{"medical.hypersensitivity_to_ketamine_or_esketamine": True}
    )
    cleared = {**CLEAR_ANSWERS}
    with pytest.raises(PlanningError, match="only a prescriber may clear a finding"):
        actions.add_addendum(actor(nurse, clinic), excluded.pk, "Allergy was to latex.", cleared)
    actions.add_addendum(
        as_prescriber(prescriber, clinic), excluded.pk, "Allergy was to latex.", cleared
    )
    assert actions.effective_verdicts(excluded)["iv_ketamine"]["verdict"] == "eligible"
