"""The eligibility rules in force at a clinic: the rules file with the clinic's latest change
to each of its policy rules."""

from typing import Any

from ketacare.accounts.models import Clinic
from ketacare.clinical.eligibility import RuleSet, load_rules
from ketacare.planning.models import RulePolicyChange


def latest_changes(clinic: Clinic) -> dict[str, RulePolicyChange]:
    """The change in force for each rule the clinic ever changed (one query)."""
    latest: dict[str, RulePolicyChange] = {}
    changes = RulePolicyChange.objects.filter(clinic=clinic).select_related("author")
    for change in changes.order_by("created_at", "id"):
        latest[change.rule_id] = change
    return latest


def clinic_overrides(clinic: Clinic) -> dict[str, Any]:
    """The clinic's changes in the form ``load_rules`` takes. A restored rule is left out, and
    so is a change to a rule that is no longer a policy rule (it became a label fact, or was
    removed): the loader would refuse it and so stop every evaluation. That change stays in
    the history; the rule as the file has it is in force."""
    policy = {rule.id for rule in load_rules().rules if rule.policy}
    return {
        rule_id: c.change
        for rule_id, c in latest_changes(clinic).items()
        if c.change and rule_id in policy
    }


def clinic_rules(clinic: Clinic) -> RuleSet:
    return load_rules(clinic_overrides(clinic))
