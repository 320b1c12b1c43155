"""The clinic's eligibility policy: a policy rule disabled, its thresholds changed, or restored,
with the reason; label rules cannot be changed."""

from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.clinical.eligibility import RuleError, load_rules
from ketacare.planning.actions.checks import PlanningError, readable
from ketacare.planning.models import RulePolicyChange
from ketacare.planning.rule_policy import clinic_overrides


@transaction.atomic
def change_rule_policy(
    actor: Actor, rule_id: str, change: dict[str, Any], reason: str
) -> RulePolicyChange:
    """Disable a clinic-policy rule, change its thresholds, or restore it (``change={}``) for
    the actor's clinic. Label rules cannot be changed. Evaluations signed before keep the
    verdicts they were signed with; later ones are judged by the new rule."""
    assert actor.clinic is not None
    if not reason.strip():
        raise PlanningError("Write the reason for changing the clinic's rule.")
    current = clinic_overrides(actor.clinic)
    if change == current.get(rule_id, {}):
        raise PlanningError("This rule already works that way here; nothing to change.")
    try:
        # The clinical loader refuses label rules, unknown rules and implausible thresholds.
        load_rules({k: v for k, v in {**current, rule_id: change}.items() if v})
    except RuleError as error:
        # Said of the rule on the page, without its id: "…: vitals.systolic threshold 900 is
        # outside…" → "Systolic BP (mmHg) threshold 900 is outside…".
        message = str(error).replace(f"clinic override of {rule_id}: ", "")
        message = message.replace("clinic override: ", "").replace(f"rule {rule_id}", "this rule")
        raise PlanningError(readable(message)) from None
    assert actor.user is not None  # a clinic administrator, signed in
    policy_change = RulePolicyChange.objects.create(
        clinic=actor.clinic,
        rule_id=rule_id,
        change=change,
        reason=reason.strip(),
        author=actor.user,
        created_at=actor.now(),
    )
    record(
        actor,
        Action.UPDATE,
        obj=policy_change,
        object_type="eligibility_rule",
        changes={
            "rule": rule_id,
            "change": {"old": current.get(rule_id, {}), "new": change},
            "reason": policy_change.reason,
        },
    )
    return policy_change
