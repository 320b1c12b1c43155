"""Eligibility rules as data (``data/rules.toml``), a clinic's changes to them, the evaluator,
and prescriber overrides of its verdicts.

Conditions are small declarative tables, checked against the evaluation layout when they are
loaded — never strings that get executed.
"""

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ketacare.clinical.datafiles import load
from ketacare.clinical.eligibility.evaluation import (
    Evaluation,
    FieldSpec,
    FieldValue,
    field_specs,
)

ROUTES: tuple[str, ...] = ("iv_ketamine", "im_ketamine", "intranasal_esketamine")
APPLIES_TO: tuple[str, ...] = ("all", *ROUTES)
RULE_VERDICTS: tuple[str, ...] = ("caution", "needs_clearance", "exclude")
SEVERITY: tuple[str, ...] = ("eligible", *RULE_VERDICTS)
"""Route verdicts from least to most severe: the most severe fired rule decides."""
OVERRIDABLE: tuple[str, ...] = ("needs_clearance", "exclude")
OVERRIDDEN = "overridden"

Scalar = bool | int | float | str
Operand = Scalar | tuple[Scalar, ...]

_THRESHOLD_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_OPS = ("equals", "in", "not_in", *_THRESHOLD_OPS)
_SYMBOLS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
_RULE_KEYS = frozenset(
    {"id", "condition", "applies_to", "verdict", "rationale", "source", "policy"}
)
_CLINIC_POLICY = "clinic policy"


class RuleError(ValueError):
    """The rules file, or a clinic's change to the rules, is invalid."""


class OverrideError(ValueError):
    """A prescriber override that cannot be accepted (no reason, or nothing to override)."""


@dataclass(frozen=True)
class Compare:
    """``field <op> value``; a null field (a screen not done) never matches."""

    field: str
    op: str
    value: Operand


@dataclass(frozen=True)
class AllOf:
    parts: tuple["Condition", ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple["Condition", ...]


Condition = Compare | AllOf | AnyOf


@dataclass(frozen=True)
class Rule:
    id: str
    condition: Condition
    applies_to: tuple[str, ...]
    verdict: str
    rationale: str
    source: str
    policy: bool
    clinic_changes: tuple[str, ...] = ()
    """Thresholds the clinic changed, as "<field> <op> <new> (rules file: <op> <old>)"."""

    @property
    def routes(self) -> tuple[str, ...]:
        return ROUTES if "all" in self.applies_to else self.applies_to

    @property
    def fields(self) -> tuple[str, ...]:
        """The evaluation fields the condition reads, in order, each once."""
        return tuple(dict.fromkeys(c.field for c in _leaves(self.condition)))

    @property
    def thresholds(self) -> dict[str, tuple[str, Operand]]:
        """The numeric comparisons a clinic may change: field → (symbol, value)."""
        return {
            c.field: (_SYMBOLS[c.op], c.value)
            for c in _leaves(self.condition)
            if c.op in _THRESHOLD_OPS
        }


@dataclass(frozen=True)
class RuleSet:
    """The rules in force: the file's version, and the policy rules a clinic disabled (kept so
    an audit can show what did not run)."""

    version: str
    rules: tuple[Rule, ...]
    disabled: tuple[str, ...] = ()

    def get(self, rule_id: str) -> Rule:
        """The rule with this id; KeyError if there is none (or it is disabled)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


@dataclass(frozen=True)
class FiredRule:
    id: str
    verdict: str
    rationale: str
    source: str
    policy: bool
    values: dict[str, FieldValue]
    """The evaluation's values for the fields the rule reads: the basis shown to staff."""
    clinic_changes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "verdict": self.verdict,
            "rationale": self.rationale,
            "source": self.source,
            "policy": self.policy,
            "values": dict(self.values),
            "clinic_changes": list(self.clinic_changes),
        }


@dataclass(frozen=True)
class Override:
    original_verdict: str
    reason: str
    prescriber: str


@dataclass(frozen=True)
class RouteVerdict:
    """The verdict for one route: ``eligible``, ``caution``, ``needs_clearance``, ``exclude``,
    or ``overridden`` (then ``override`` keeps the original verdict and the reason)."""

    route: str
    verdict: str
    fired: tuple[FiredRule, ...]
    override: Override | None = None

    @property
    def original_verdict(self) -> str:
        """The verdict the rules gave, before any override."""
        return self.override.original_verdict if self.override else self.verdict

    def as_dict(self) -> dict[str, Any]:
        override = self.override
        return {
            "route": self.route,
            "verdict": self.verdict,
            "fired": [f.as_dict() for f in self.fired],
            "override": None
            if override is None
            else {
                "original_verdict": override.original_verdict,
                "reason": override.reason,
                "prescriber": override.prescriber,
            },
        }


# --- evaluation --------------------------------------------------------------------------------


def evaluate(evaluation: Evaluation, rules: RuleSet) -> dict[str, RouteVerdict]:
    """Every route's verdict and the rules that fired for it, most severe first."""
    fired: dict[str, list[FiredRule]] = {route: [] for route in ROUTES}
    for rule in rules.rules:
        if not _holds(rule.condition, evaluation):
            continue
        hit = FiredRule(
            id=rule.id,
            verdict=rule.verdict,
            rationale=rule.rationale,
            source=rule.source,
            policy=rule.policy,
            values={name: evaluation.value(name) for name in rule.fields},
            clinic_changes=rule.clinic_changes,
        )
        for route in rule.routes:
            fired[route].append(hit)
    return {
        route: RouteVerdict(
            route=route,
            verdict=most_severe(f.verdict for f in hits),
            # sorted() is stable: equally severe rules stay in file order.
            fired=tuple(sorted(hits, key=lambda f: -SEVERITY.index(f.verdict))),
        )
        for route, hits in fired.items()
    }


def most_severe(verdicts: Iterable[str]) -> str:
    """exclude > needs_clearance > caution > eligible; ``eligible`` when nothing fired."""
    return max(verdicts, key=SEVERITY.index, default="eligible")


def apply_override(route_verdict: RouteVerdict, reason: str, prescriber: str) -> RouteVerdict:
    """The route verdict overridden by a prescriber, keeping the original verdict, the fired
    rules and the reason. Only ``exclude`` and ``needs_clearance`` can be overridden, and only
    with a written reason and the prescriber's name; raises OverrideError otherwise."""
    route, verdict = route_verdict.route, route_verdict.verdict
    if route_verdict.override is not None:
        raise OverrideError(
            f"{route} was already overridden by {route_verdict.override.prescriber}"
        )
    if verdict not in OVERRIDABLE:
        raise OverrideError(
            f"{route} is {verdict}: only exclude or needs_clearance can be overridden; "
            "there is nothing to override"
        )
    # isinstance: callers outside the type checker (forms, JSON) may pass None.
    if not isinstance(reason, str) or not reason.strip():
        raise OverrideError(f"overriding {verdict} for {route} needs a written reason")
    if not isinstance(prescriber, str) or not prescriber.strip():
        raise OverrideError(f"overriding {verdict} for {route} needs the prescriber's name")
    return replace(
        route_verdict,
        verdict=OVERRIDDEN,
        override=Override(verdict, reason.strip(), prescriber.strip()),
    )


def _holds(condition: Condition, evaluation: Evaluation) -> bool:
    if isinstance(condition, AllOf):
        return all(_holds(part, evaluation) for part in condition.parts)
    if isinstance(condition, AnyOf):
        return any(_holds(part, evaluation) for part in condition.parts)
    actual = evaluation.value(condition.field)
    if actual is None:
        return False
    op, expected = condition.op, condition.value
    if op == "equals":
        return actual == expected
    if op in ("in", "not_in"):
        assert isinstance(expected, tuple)
        return (actual in expected) == (op == "in")
    # Loading checked that threshold operators only meet integer fields and numbers.
    assert isinstance(actual, int) and isinstance(expected, int | float)
    return _THRESHOLD_OPS[op](actual, expected)


def _leaves(condition: Condition) -> Iterator[Compare]:
    if isinstance(condition, Compare):
        yield condition
    else:
        for part in condition.parts:
            yield from _leaves(part)


# --- loading -----------------------------------------------------------------------------------


def load_rules(overrides: Mapping[str, Any] | None = None) -> RuleSet:
    """The rules of ``data/rules.toml`` with a clinic's changes applied.

    ``overrides`` maps a policy rule's id to ``{"enabled": False}`` (disable it) or
    ``{"thresholds": {"vitals.systolic": 150}}`` (new numbers for the threshold comparisons
    on those fields). Naming a label rule (``policy = false``), an unknown rule or field, or a
    threshold outside the field's plausible range raises RuleError.
    """
    ruleset = parse_rules(load("rules", package="ketacare.clinical.eligibility"))
    return _apply_clinic_changes(ruleset, overrides) if overrides else ruleset


def parse_rules(data: Mapping[str, Any]) -> RuleSet:
    """A RuleSet from a parsed rules file, every rule checked against the evaluation layout."""
    unknown = set(data) - {"version", "source", "rules"}
    if unknown:
        raise RuleError(f"rules file: unknown key {sorted(unknown)[0]!r}")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleError("rules file: no [[rules]]")
    rules = tuple(_rule(raw, number) for number, raw in enumerate(raw_rules, start=1))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"rules file: rule id {rule.id!r} appears twice")
        seen.add(rule.id)
    return RuleSet(version=str(data.get("version", "")), rules=rules)


def _rule(raw: object, number: int) -> Rule:
    if not isinstance(raw, Mapping):
        raise RuleError(f"rules file: rule {number} is not a table")
    where = f"rule {raw.get('id', number)!s}"
    missing = _RULE_KEYS - set(raw)
    if missing:
        raise RuleError(f"{where}: missing {sorted(missing)[0]!r}")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    for key in ("id", "rationale", "source"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise RuleError(f"{where}: {key} must be non-blank text")
    if not isinstance(raw["policy"], bool):
        raise RuleError(f"{where}: policy must be true or false")
    # The label/policy split is what stops a clinic from switching off a label fact, so the
    # source must agree with the flag.
    says_policy = raw["source"].lower().startswith(_CLINIC_POLICY)
    if raw["policy"] != says_policy:
        raise RuleError(
            f"{where}: policy = {str(raw['policy']).lower()} but its source "
            f"{'starts' if says_policy else 'does not start'} with {_CLINIC_POLICY!r}"
        )
    if raw["verdict"] not in RULE_VERDICTS:
        raise RuleError(
            f"{where}: verdict {raw['verdict']!r} is not one of {', '.join(RULE_VERDICTS)}"
        )
    applies_to = raw["applies_to"]
    if (
        not isinstance(applies_to, list)
        or not applies_to
        or any(a not in APPLIES_TO for a in applies_to)
        or len(set(applies_to)) != len(applies_to)
        or ("all" in applies_to and len(applies_to) > 1)
    ):
        raise RuleError(
            f'{where}: applies_to must be ["all"] or distinct routes from '
            f"{', '.join(ROUTES)}; got {applies_to!r}"
        )
    return Rule(
        id=raw["id"],
        condition=_condition(raw["condition"], where),
        applies_to=tuple(applies_to),
        verdict=raw["verdict"],
        rationale=raw["rationale"].strip(),
        source=raw["source"].strip(),
        policy=raw["policy"],
    )


def _condition(raw: object, where: str) -> Condition:
    if not isinstance(raw, Mapping):
        raise RuleError(f"{where}: a condition must be a table, got {raw!r}")
    if set(raw) in ({"all"}, {"any"}):
        (kind, parts), *_ = raw.items()
        if not isinstance(parts, list) or not parts:
            raise RuleError(f"{where}: {kind} needs a non-empty list of conditions")
        children = tuple(_condition(part, where) for part in parts)
        return AllOf(children) if kind == "all" else AnyOf(children)
    if "field" not in raw:
        raise RuleError(f"{where}: a condition needs 'field', 'all' or 'any'; got {dict(raw)!r}")
    ops = set(raw) - {"field"}
    if len(ops) != 1 or not ops <= set(_OPS):
        raise RuleError(
            f"{where}: a condition needs exactly one operator of {', '.join(_OPS)}; "
            f"got {', '.join(sorted(ops)) or 'none'}"
        )
    op = ops.pop()
    spec = field_specs().get(raw["field"])
    if spec is None:
        raise RuleError(f"{where}: unknown evaluation field {raw['field']!r}")
    return Compare(spec.path, op, _operand(spec, op, raw[op], where))


def _operand(spec: FieldSpec, op: str, value: object, where: str) -> Operand:
    """The comparison value, refused unless it can meet this field's values."""

    def fits(v: object) -> bool:
        if spec.kind == "bool":
            return isinstance(v, bool)
        if spec.kind == "int":
            number = isinstance(v, int | float) and not isinstance(v, bool)
            return number and (op in _THRESHOLD_OPS or isinstance(v, int))
        if spec.kind == "choice":
            return v in spec.choices
        return False

    allowed = {
        "bool": ("equals",),
        "int": _OPS,
        "choice": ("equals", "in", "not_in"),
        "text_list": (),
    }[spec.kind]
    if op not in allowed:
        raise RuleError(f"{where}: {op} cannot be used on {spec.path} ({spec.expected})")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(fits(v) for v in value):
            raise RuleError(f"{where}: {spec.path} {op} needs a list of {spec.expected}")
        return tuple(value)
    if not fits(value):
        raise RuleError(f"{where}: {spec.path} {op} {value!r}: expected {spec.expected}")
    assert isinstance(value, bool | int | float | str)
    return value


def _apply_clinic_changes(ruleset: RuleSet, overrides: Mapping[str, Any]) -> RuleSet:
    by_id = {rule.id: rule for rule in ruleset.rules}
    disabled: list[str] = []
    for rule_id, change in overrides.items():
        rule = by_id.get(rule_id)
        if rule is None:
            raise RuleError(f"clinic override: no rule {rule_id!r}")
        if not rule.policy:
            raise RuleError(
                f"clinic override: rule {rule_id} is a label fact, not clinic policy; "
                f"it cannot be disabled or changed ({rule.source})"
            )
        if not isinstance(change, Mapping) or not change:
            raise RuleError(f"clinic override of {rule_id}: expected enabled and/or thresholds")
        unknown = set(change) - {"enabled", "thresholds"}
        if unknown:
            raise RuleError(f"clinic override of {rule_id}: unknown key {sorted(unknown)[0]!r}")
        enabled = change.get("enabled", True)
        thresholds = change.get("thresholds", {})
        if not isinstance(enabled, bool):
            raise RuleError(f"clinic override of {rule_id}: enabled must be true or false")
        if not isinstance(thresholds, Mapping):
            raise RuleError(f"clinic override of {rule_id}: thresholds must map fields to numbers")
        if not enabled:
            if thresholds:
                raise RuleError(
                    f"clinic override of {rule_id}: disables the rule and changes its "
                    "thresholds; choose one"
                )
            disabled.append(rule_id)
            continue
        by_id[rule_id] = _with_thresholds(rule, thresholds)
    rules = tuple(by_id[rule.id] for rule in ruleset.rules if rule.id not in disabled)
    return replace(ruleset, rules=rules, disabled=(*ruleset.disabled, *disabled))


def _with_thresholds(rule: Rule, thresholds: Mapping[str, Any]) -> Rule:
    condition, changes = rule.condition, list(rule.clinic_changes)
    for path, value in thresholds.items():
        targets = [c for c in _leaves(condition) if c.field == path and c.op in _THRESHOLD_OPS]
        if len(targets) != 1:
            raise RuleError(
                f"clinic override of {rule.id}: it has "
                f"{'no' if not targets else 'more than one'} threshold on {path!r}"
            )
        spec = field_specs()[path]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleError(f"clinic override of {rule.id}: {path} must be a number, got {value!r}")
        if (spec.low is not None and value < spec.low) or (
            spec.high is not None and value > spec.high
        ):
            limits = f"{spec.low}–{spec.high}" if spec.high is not None else f"≥ {spec.low}"
            raise RuleError(
                f"clinic override of {rule.id}: {path} threshold {value} is outside the "
                f"plausible range {limits}"
            )
        old = targets[0]
        condition = _replaced(condition, old, replace(old, value=value))
        symbol = _SYMBOLS[old.op]
        changes.append(f"{path} {symbol} {value} (rules file: {symbol} {old.value})")
    return replace(rule, condition=condition, clinic_changes=tuple(changes))


def _replaced(condition: Condition, old: Compare, new: Compare) -> Condition:
    if condition is old:
        return new
    if isinstance(condition, AllOf):
        return AllOf(tuple(_replaced(p, old, new) for p in condition.parts))
    if isinstance(condition, AnyOf):
        return AnyOf(tuple(_replaced(p, old, new) for p in condition.parts))
    return condition
