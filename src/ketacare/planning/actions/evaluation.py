"""The evaluation's actions: started, edited, completed (judged against the clinic's rules),
signed, and amended by addenda. Each runs in one transaction with its audit event; a refusal
raises PlanningError and writes nothing."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from ketacare.accounts.permissions import allowed
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes, record
from ketacare.clinical.eligibility import (
    SEVERITY,
    EvaluationError,
    RuleSet,
    evaluate,
)
from ketacare.clinical.eligibility import (
    Evaluation as ClinicalEvaluation,
)
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.models import BodyMeasurement, Patient
from ketacare.planning.actions.checks import (
    EVALUATION_SIGNATURE,
    PlanningError,
    confirm_signature,
    locked_evaluation,
    readable,
)
from ketacare.planning.answers import LABELS, entered_paths, nest
from ketacare.planning.models import Evaluation, EvaluationAddendum
from ketacare.planning.rule_policy import clinic_rules
from ketacare.planning.signature import evaluation_digest
from ketacare.planning.verdicts import (
    derived_answers,
    effective_answers,
    effective_verdicts,
    evaluation_day,
)
from ketacare.writes import DATABASE, Writes


@transaction.atomic
def start_evaluation(
    actor: Actor, patient: Patient, answers: dict[str, Any], notes: str
) -> Evaluation:
    return write_start_evaluation(DATABASE, actor, patient, answers, notes)


def write_start_evaluation(
    writes: Writes, actor: Actor, patient: Patient, answers: dict[str, Any], notes: str
) -> Evaluation:
    """What starting an evaluation writes (``start_evaluation``; the synthetic clinic's bulk
    path calls it with its own writer)."""
    now = actor.now()
    evaluation = writes.add(
        Evaluation(
            patient=patient,
            clinic=patient.clinic,
            answers=answers,
            notes=notes,
            created_by=actor.user,
            created_at=now,
            updated_at=now,
        )
    )
    writes.record(
        actor,
        Action.CREATE,
        obj=evaluation,
        patient=patient,
        changes=field_changes({}, {**answers, "notes": notes}),
    )
    return evaluation


@transaction.atomic
def save_evaluation(
    actor: Actor, evaluation_id: int, answers: dict[str, Any], notes: str, opened_version: str
) -> dict[str, Any]:
    """Store edited answers; returns the changes. A completed evaluation goes back to in
    progress, because what was completed is no longer what it says."""
    evaluation = locked_evaluation(actor, evaluation_id)
    if evaluation.is_signed:
        raise PlanningError(
            "This evaluation is signed and can no longer be edited. Add an addendum instead."
        )
    if evaluation.version != opened_version:
        raise PlanningError(
            "Someone else saved this evaluation after you opened it. Your changes were not "
            "saved: reload the page to see theirs, then make your changes again."
        )
    before = {**evaluation.answers, "notes": evaluation.notes}
    after = {**answers, "notes": notes}
    changes = field_changes(before, after)
    changes.update({path: {"old": before[path], "new": None} for path in before.keys() - after})
    if not changes:
        return {}
    evaluation.answers, evaluation.notes = answers, notes
    if evaluation.state == Evaluation.State.COMPLETED:
        changes["state"] = {"old": evaluation.state, "new": Evaluation.State.IN_PROGRESS}
        evaluation.state = Evaluation.State.IN_PROGRESS
        evaluation.verdicts, evaluation.completed_at, evaluation.completed_by = {}, None, None
    evaluation.updated_at = actor.now()  # a new version: an edit opened before now conflicts
    evaluation.save()
    record(actor, Action.UPDATE, obj=evaluation, patient=evaluation.patient, changes=changes)
    return changes


def judge(
    answers: dict[str, Any], patient: Patient, day: date, rules: RuleSet
) -> tuple[dict[str, Any], str]:
    """The verdicts of the clinic's ``rules`` (``rule_policy.clinic_rules``: the actions read
    them each time, the bulk path once a run) for complete answers on the evaluation day, and
    the rules version they came from."""
    unanswered = [LABELS[path] for path in entered_paths() if path not in answers]
    if unanswered:
        raise PlanningError(f"Not answered yet: {', '.join(unanswered)}.")
    # The record wins over any stored answer for a derived field.
    data = nest({**answers, **derived_answers(patient, day)})
    try:
        clinical = ClinicalEvaluation.from_dict(data)
    except EvaluationError as error:
        raise PlanningError(readable(str(error))) from None
    verdicts = {route: v.as_dict() for route, v in evaluate(clinical, rules).items()}
    return verdicts, rules.version


def _baseline_scores(patient: Patient) -> list[dict[str, Any]]:
    latest: dict[str, QuestionnaireResponse] = {}
    for response in QuestionnaireResponse.objects.filter(patient=patient).order_by("completed_at"):
        latest[response.instrument_id] = response
    return [
        {
            "instrument": r.instrument_id,
            "total": r.total,
            "severity": r.severity,
            "completed_at": r.completed_at.isoformat(),
            "response_id": r.pk,
        }
        for r in sorted(latest.values(), key=lambda r: r.instrument_id)
    ]


@transaction.atomic
def complete_evaluation(actor: Actor, evaluation_id: int) -> Evaluation:
    """Check every answer, take the latest weight and questionnaire scores, and judge."""
    evaluation = locked_evaluation(actor, evaluation_id)
    if evaluation.is_signed:
        raise PlanningError("This evaluation is already signed.")
    patient = evaluation.patient
    verdicts, rules_version = judge(
        evaluation.answers, patient, actor.today(), clinic_rules(patient.clinic)
    )
    measurement = BodyMeasurement.objects.filter(patient=patient).first()
    if measurement is None:
        raise PlanningError("Record the patient's weight before completing the evaluation.")
    height_cm = next(
        (m.height_cm for m in BodyMeasurement.objects.filter(patient=patient) if m.height_cm),
        None,
    )
    write_complete_evaluation(
        DATABASE,
        actor,
        evaluation,
        verdicts,
        rules_version,
        Baseline(
            measurement.weight_kg, height_cm, measurement.measured_on, _baseline_scores(patient)
        ),
    )
    return evaluation


@dataclass(frozen=True)
class Baseline:
    """What a completed evaluation takes from the record: the latest weight (and the latest
    height on record), and the latest score of each questionnaire."""

    weight_kg: Decimal
    height_cm: Decimal | None
    weight_measured_on: date
    scores: list[dict[str, Any]]


def write_complete_evaluation(
    writes: Writes,
    actor: Actor,
    evaluation: Evaluation,
    verdicts: dict[str, Any],
    rules_version: str,
    baseline: Baseline,
) -> None:
    """What completing an evaluation writes, once it has been judged (``complete_evaluation``)."""
    previous_state = evaluation.state
    evaluation.weight_kg = baseline.weight_kg
    evaluation.weight_measured_on = baseline.weight_measured_on
    evaluation.height_cm = baseline.height_cm
    evaluation.baseline_scores = baseline.scores
    evaluation.verdicts, evaluation.rules_version = verdicts, rules_version
    evaluation.state = Evaluation.State.COMPLETED
    evaluation.completed_by, evaluation.completed_at = actor.user, actor.now()
    evaluation.updated_at = evaluation.completed_at
    writes.save(evaluation, *_COMPLETED_FIELDS)
    writes.record(
        actor,
        Action.UPDATE,
        obj=evaluation,
        patient=evaluation.patient,
        changes={
            "state": {"old": previous_state, "new": evaluation.state},
            "verdicts": {route: v["verdict"] for route, v in verdicts.items()},
        },
    )


_COMPLETED_FIELDS = (
    "weight_kg",
    "weight_measured_on",
    "height_cm",
    "baseline_scores",
    "verdicts",
    "rules_version",
    "state",
    "completed_by",
    "completed_at",
    "updated_at",
)


def sign_evaluation(actor: Actor, evaluation_id: int, password: str, code: str = "") -> Evaluation:
    """Sign a completed evaluation: it is judged again against the rules in force now, and
    from then on it is read-only."""
    confirm_signature(actor, password, code, prompt=EVALUATION_SIGNATURE)
    return _sign_evaluation(actor, evaluation_id)


@transaction.atomic
def _sign_evaluation(actor: Actor, evaluation_id: int) -> Evaluation:
    evaluation = locked_evaluation(actor, evaluation_id)
    if evaluation.state != Evaluation.State.COMPLETED:
        raise PlanningError(
            "Only a completed evaluation can be signed; this one is "
            f"{evaluation.get_state_display().lower()}."
        )
    patient = evaluation.patient
    day = evaluation_day(evaluation, actor.today())
    verdicts, rules_version = judge(evaluation.answers, patient, day, clinic_rules(patient.clinic))
    if verdicts != evaluation.verdicts:
        raise PlanningError(
            "The eligibility rules give different verdicts now than when this evaluation was "
            "completed (a clinic rule or the patient's record changed). Complete it again to "
            "see them, then sign."
        )
    write_sign_evaluation(DATABASE, actor, evaluation, rules_version)
    return evaluation


def write_sign_evaluation(
    writes: Writes, actor: Actor, evaluation: Evaluation, rules_version: str
) -> None:
    """What signing an evaluation writes, once its verdicts have been judged again and found
    unchanged (``sign_evaluation``)."""
    evaluation.rules_version = rules_version
    evaluation.state = Evaluation.State.SIGNED
    evaluation.signed_by, evaluation.signed_at = actor.user, actor.now()
    evaluation.updated_at = evaluation.signed_at
    evaluation.digest = evaluation_digest(evaluation)
    writes.save(
        evaluation, "rules_version", "state", "signed_by", "signed_at", "updated_at", "digest"
    )
    writes.record(
        actor,
        Action.SIGN,
        obj=evaluation,
        patient=evaluation.patient,
        changes={
            "digest": evaluation.digest,
            "verdicts": {route: v["verdict"] for route, v in evaluation.verdicts.items()},
        },
    )


@transaction.atomic
def add_addendum(
    actor: Actor,
    evaluation_id: int,
    note: str,
    answers: dict[str, Any],
    opened_addenda: int | None = None,
) -> EvaluationAddendum:
    """Amend a signed evaluation. Changed answers are judged again; the verdicts of the last
    addendum that changed answers are the ones plans use.

    ``opened_addenda`` is how many addenda the form showed when it was opened: if another was
    added since, the form's answers are stale and would silently undo it, so it is refused.
    Only a prescriber may make a verdict less severe (clear a finding)."""
    evaluation = locked_evaluation(actor, evaluation_id)
    if not evaluation.is_signed:
        raise PlanningError("Only a signed evaluation takes addenda; edit this one instead.")
    if opened_addenda is not None and evaluation.addenda.count() != opened_addenda:
        raise PlanningError(
            "Someone added an addendum after you opened this form. Nothing was saved: reload "
            "the page to see it, then add yours."
        )
    if not note.strip():
        raise PlanningError("Write what the addendum adds or corrects.")
    current = effective_answers(evaluation)
    changes = field_changes(current, answers)
    cleared = [LABELS[path] for path in current.keys() - answers.keys()]
    if cleared:
        raise PlanningError(f"An addendum cannot leave answers blank: {', '.join(cleared)}.")
    verdicts: dict[str, Any] = {}
    if changes:
        day = evaluation_day(evaluation, actor.today())
        patient = evaluation.patient
        rules = clinic_rules(patient.clinic)
        verdicts, _ = judge({**current, **answers}, patient, day, rules)
        before = effective_verdicts(evaluation)
        eased = [
            route
            for route, verdict in verdicts.items()
            if SEVERITY.index(verdict["verdict"]) < SEVERITY.index(before[route]["verdict"])
        ]
        if eased and not allowed(actor.role, "planning.sign"):
            raise PlanningError(
                "These changes make the verdict less severe for "
                f"{', '.join(r.replace('_', ' ') for r in eased)}: only a prescriber may "
                "clear a finding."
            )
    assert actor.user is not None  # staff sign in to amend; only they reach this action
    addendum = EvaluationAddendum.objects.create(
        evaluation=evaluation,
        note=note.strip(),
        changes=changes,
        verdicts=verdicts,
        author=actor.user,
        created_at=actor.now(),
    )
    record(
        actor,
        Action.CREATE,
        obj=addendum,
        patient=evaluation.patient,
        changes={"note": addendum.note, "answers": changes},
    )
    return addendum
