"""What an evaluation says now, read-only: its answers and verdicts with the addenda applied,
whether a plan may use a route (and the override that lets it), and the answers the rules read
— the record's derived ones included — on the day the evaluation speaks for."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from ketacare.clinical.eligibility import OVERRIDABLE
from ketacare.clinical.measurements import age_in_years
from ketacare.patients.models import Patient
from ketacare.planning.answers import ROUTE_LABELS, apply_changes
from ketacare.planning.models import EligibilityOverride, Evaluation


def effective_answers(evaluation: Evaluation) -> dict[str, Any]:
    """The answers with every addendum's changes applied."""
    return apply_changes(evaluation.answers, (a.changes for a in evaluation.addenda.all()))


def effective_verdicts(evaluation: Evaluation) -> dict[str, Any]:
    """The verdicts of the last addendum that changed answers, else those signed."""
    for addendum in reversed(list(evaluation.addenda.all())):
        if addendum.verdicts:
            return dict(addendum.verdicts)
    return dict(evaluation.verdicts)


@dataclass(frozen=True)
class RouteStatus:
    """Whether a plan may use a route: its verdict, and the override that covers it."""

    route: str
    verdict: dict[str, Any]
    override: EligibilityOverride | None

    @property
    def blocking_rule_ids(self) -> list[str]:
        return [f["id"] for f in self.verdict["fired"] if f["verdict"] in OVERRIDABLE]

    @property
    def usable(self) -> bool:
        return not self.blocking_rule_ids or self.override is not None

    def refusal(self) -> str:
        """Why a plan cannot use the route, in the rules' own words (their ids are kept in
        the verdict and the audit trail, not shown)."""
        rules = " ".join(
            f["rationale"] for f in self.verdict["fired"] if f["verdict"] in OVERRIDABLE
        )
        return (
            f"The eligibility rules give “{self.verdict['verdict'].replace('_', ' ')}” for "
            f"{ROUTE_LABELS[self.route]}: {rules} A prescriber's override with a written "
            "reason is needed before a plan can use this route."
        )


def route_status(evaluation: Evaluation, route: str) -> RouteStatus:
    verdict = effective_verdicts(evaluation)[route]
    blocking = {f["id"] for f in verdict["fired"] if f["verdict"] in OVERRIDABLE}
    override = None
    if blocking:
        # An override covers the rules that had fired when it was given, not later ones.
        override = next(
            (
                o
                for o in evaluation.overrides.all()
                if o.route == route and blocking <= set(o.fired_rule_ids)
            ),
            None,
        )
    return RouteStatus(route, verdict, override)


def evaluation_day(evaluation: Evaluation, today: date) -> date:
    """The day an evaluation speaks for: the day it was last completed, ``today`` until then.

    Derived answers are taken on this day, so a signature or an addendum after the patient's
    birthday judges the evaluation as it was completed, not as a different one."""
    if evaluation.completed_at is None:
        return today
    return timezone.localdate(evaluation.completed_at)


def derived_answers(patient: Patient, day: date) -> dict[str, Any]:
    """The answers taken from the patient's record on ``day`` rather than typed, so that no
    evaluator can leave them out: the age from the date of birth."""
    return {"age_years": age_in_years(patient.date_of_birth, day)}


def judged_answers(evaluation: Evaluation, today: date) -> dict[str, Any]:
    """What the rules read: the effective answers and those derived from the record."""
    return {
        **effective_answers(evaluation),
        **derived_answers(evaluation.patient, evaluation_day(evaluation, today)),
    }
