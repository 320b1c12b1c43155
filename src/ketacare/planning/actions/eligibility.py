"""A prescriber's override of an eligibility verdict: signed, with a written reason, for the
rules that had fired when it was given."""

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action
from ketacare.clinical.eligibility import OverrideError, RouteVerdict, apply_override
from ketacare.planning.actions.checks import (
    OVERRIDE_SIGNATURE,
    PlanningError,
    confirm_signature,
    locked_evaluation,
)
from ketacare.planning.answers import ROUTE_LABELS
from ketacare.planning.models import EligibilityOverride, Evaluation
from ketacare.planning.verdicts import RouteStatus, effective_verdicts, route_status
from ketacare.writes import DATABASE, Writes


def override_eligibility(
    actor: Actor, evaluation_id: int, route: str, reason: str, password: str, code: str = ""
) -> EligibilityOverride:
    """A prescriber's decision to treat by a route the rules exclude or hold for clearance."""
    confirm_signature(actor, password, code, prompt=OVERRIDE_SIGNATURE)
    return _override_eligibility(actor, evaluation_id, route, reason)


@transaction.atomic
def _override_eligibility(
    actor: Actor, evaluation_id: int, route: str, reason: str
) -> EligibilityOverride:
    evaluation = locked_evaluation(actor, evaluation_id)
    if not evaluation.is_signed:
        raise PlanningError("Sign the evaluation before overriding its eligibility verdicts.")
    verdicts = effective_verdicts(evaluation)
    if route not in verdicts:
        raise PlanningError(f"Unknown route {route!r}.")
    status = route_status(evaluation, route)
    if status.override is not None:
        raise PlanningError(
            f"{ROUTE_LABELS[route]} is already overridden by "
            f"{status.override.prescriber.get_username()}."
        )
    try:
        # The clinical rule decides what may be overridden and that a reason is required.
        apply_override(
            RouteVerdict(route, status.verdict["verdict"], fired=()),
            reason,
            actor.username,
        )
    except OverrideError as error:
        raise PlanningError(str(error)[0].upper() + str(error)[1:] + ".") from None
    return write_override_eligibility(DATABASE, actor, evaluation, status, reason)


def write_override_eligibility(
    writes: Writes, actor: Actor, evaluation: Evaluation, status: RouteStatus, reason: str
) -> EligibilityOverride:
    """What a prescriber's override writes, once it is allowed (``override_eligibility``):
    the override of the rules that block ``status``'s route now."""
    override = writes.add(
        EligibilityOverride(
            evaluation=evaluation,
            route=status.route,
            original_verdict=status.verdict["verdict"],
            fired_rule_ids=status.blocking_rule_ids,
            reason=reason.strip(),
            prescriber=actor.user,
            created_at=actor.now(),
        )
    )
    writes.record(
        actor,
        Action.OVERRIDE,
        obj=override,
        patient=evaluation.patient,
        changes={
            "route": status.route,
            "original_verdict": override.original_verdict,
            "rules": override.fired_rule_ids,
            "reason": override.reason,
        },
    )
    return override
