"""Every change to evaluations, eligibility decisions and plans (one module each, named for
what it changes). Each runs in one transaction with its audit event; a refusal raises
PlanningError and writes nothing. An action loads and checks; its ``write_<step>`` builder
writes (``ketacare.writes``), and the synthetic clinic's bulk path calls the same builder.

The package names the planning API its callers use; read-only helpers live in
``planning.verdicts`` and ``planning.queries``."""

from ketacare.planning.actions.checks import (
    EVALUATION_SIGNATURE,
    OVERRIDE_SIGNATURE,
    PLAN_SIGNATURE,
    PlanningError,
    confirm_signature,
)
from ketacare.planning.actions.clinic_policy import change_rule_policy
from ketacare.planning.actions.eligibility import override_eligibility
from ketacare.planning.actions.evaluation import (
    add_addendum,
    complete_evaluation,
    save_evaluation,
    sign_evaluation,
    start_evaluation,
)
from ketacare.planning.actions.plan import (
    PlanRequest,
    discard_plan,
    dose_order,
    draft_plan,
    proposed_schedule,
    sign_plan,
)
from ketacare.planning.actions.schedule import reschedule_session
from ketacare.planning.queries import consent_problem, suggested_answers
from ketacare.planning.verdicts import (
    RouteStatus,
    effective_answers,
    effective_verdicts,
    judged_answers,
    route_status,
)

__all__ = [
    "EVALUATION_SIGNATURE",
    "OVERRIDE_SIGNATURE",
    "PLAN_SIGNATURE",
    "PlanRequest",
    "PlanningError",
    "RouteStatus",
    "add_addendum",
    "change_rule_policy",
    "complete_evaluation",
    "confirm_signature",
    "consent_problem",
    "discard_plan",
    "dose_order",
    "draft_plan",
    "effective_answers",
    "effective_verdicts",
    "judged_answers",
    "override_eligibility",
    "proposed_schedule",
    "reschedule_session",
    "route_status",
    "save_evaluation",
    "sign_evaluation",
    "sign_plan",
    "start_evaluation",
    "suggested_answers",
]
