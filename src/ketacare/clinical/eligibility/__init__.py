"""Eligibility: which routes a patient may be treated by, from a pre-treatment evaluation and
contraindication/precaution rules kept as data (``data/rules.toml``) with their sources::

    rules = load_rules(clinic_overrides)          # policy rules as the clinic set them
    verdicts = evaluate(Evaluation.from_json(text), rules)
    verdicts["intranasal_esketamine"].verdict     # e.g. "exclude", with .fired rules
    apply_override(verdicts["iv_ketamine"], reason, prescriber)

Decision support only: a prescriber decides, and overrides an ``exclude`` or
``needs_clearance`` with a written reason (:func:`apply_override`).
"""

from ketacare.clinical.eligibility.evaluation import (
    Evaluation,
    EvaluationError,
    FieldSpec,
    field_specs,
)
from ketacare.clinical.eligibility.rules import (
    OVERRIDABLE,
    OVERRIDDEN,
    ROUTES,
    RULE_VERDICTS,
    SEVERITY,
    FiredRule,
    Override,
    OverrideError,
    RouteVerdict,
    Rule,
    RuleError,
    RuleSet,
    apply_override,
    evaluate,
    load_rules,
    most_severe,
    parse_rules,
)

__all__ = [
    "OVERRIDABLE",
    "OVERRIDDEN",
    "ROUTES",
    "RULE_VERDICTS",
    "SEVERITY",
    "Evaluation",
    "EvaluationError",
    "FieldSpec",
    "FiredRule",
    "Override",
    "OverrideError",
    "RouteVerdict",
    "Rule",
    "RuleError",
    "RuleSet",
    "apply_override",
    "evaluate",
    "field_specs",
    "load_rules",
    "most_severe",
    "parse_rules",
]
