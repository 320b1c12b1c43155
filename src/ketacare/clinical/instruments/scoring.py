"""Scoring a set of answers against an instrument definition."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ketacare.clinical.instruments.definitions import Flag, Instrument

SEXES = ("female", "male")
_PLAN = "_scoring_plan"


class AnswerError(ValueError):
    """Answers that cannot be scored: wrong count, out of range, inconsistent, missing sex."""


@dataclass(frozen=True)
class Score:
    instrument: str
    total: int | None
    severity: str | None
    """The severity band (or, for the C-SSRS screener, the risk level); None if it has none."""
    flags: tuple[str, ...]
    item_scores: tuple[int, ...]
    subscales: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "total": self.total,
            "severity": self.severity,
            "flags": list(self.flags),
            "item_scores": list(self.item_scores),
            "subscales": dict(self.subscales),
        }


def validate(instrument: Instrument, answers: Sequence[int], sex: str | None = None) -> None:
    """Raise AnswerError naming the first problem with these answers."""
    if len(answers) != len(instrument.items):
        raise AnswerError(
            f"{instrument.id} expects {len(instrument.items)} answers, got {len(answers)}"
        )
    plan = plan_for(instrument)
    for item, allowed, answer in zip(instrument.items, plan.allowed, answers, strict=True):
        if isinstance(answer, bool) or not isinstance(answer, int) or answer not in allowed:
            raise AnswerError(
                f"{instrument.id} item {item.number}: answer {answer!r} is not allowed "
                f"(allowed: {item.min_value}–{item.max_value})"
            )
    for index, parent, lowest, parent_lowest in plan.requires:
        if answers[index] != lowest and answers[parent] == parent_lowest:
            item, needed = instrument.items[index], instrument.items[parent]
            raise AnswerError(
                f"{instrument.id} item {item.number} ({item.label}) is asked only after a yes "
                f"to item {needed.number} ({needed.label}): it cannot be yes when item "
                f"{needed.number} is no"
            )
    if instrument.needs_sex and sex not in SEXES:
        raise AnswerError(
            f"{instrument.id} needs the patient's sex (female or male) for its cut-point"
        )


def score(instrument: Instrument, answers: Sequence[int], sex: str | None = None) -> Score:
    """Score ``answers`` (one per item, in item order) for ``instrument``."""
    plan: Plan = instrument.__dict__.get(_PLAN) or plan_for(instrument)
    if plan.plain_sum is not None:
        result = plan.plain_sum(answers)
        if result is not None:
            return result
    if not plan.plainly_valid(answers, sex):
        # Anything the quick check does not vouch for (an int subclass, a bad answer, a
        # missing sex) goes through the full check, which raises with the exact message.
        validate(instrument, answers, sex)
    item_scores = plan.item_scores(answers) if plan.reverse else tuple(answers)
    if plan.highest_risk:
        levels = plan.risk_of_item
        risk = instrument.risk_levels[
            max(
                (level for level, answer in zip(levels, item_scores, strict=True) if answer),
                default=0,
            )
        ]
        flags = tuple(f.id for f in instrument.flags if f.risk == risk)
        return _new_score(instrument.id, None, risk, flags, item_scores, {})

    total = sum(item_scores) if not plan.groups else plan.total(item_scores)
    subscales = (
        {name: sum(pick(item_scores)) for name, pick in plan.subscales} if plan.subscales else {}
    )
    if plan.item_flags is not None:
        flags = tuple(
            [flag for flag, index, least in plan.item_flags if item_scores[index] >= least]
        )
    else:
        flags = tuple([flag for flag, test in plan.flags if test(total, item_scores, sex)])
    band = plan.bands[total] if total in plan.bands else instrument.band_for(total)
    return _new_score(instrument.id, total, band, flags, item_scores, subscales)


def _new_score(
    instrument: str,
    total: int | None,
    severity: str | None,
    flags: tuple[str, ...],
    item_scores: tuple[int, ...],
    subscales: dict[str, int],
) -> Score:
    """``Score(...)`` without the frozen dataclass's ``__init__``, which sets each field through
    ``object.__setattr__`` and took a third of a row's scoring time; the object is the same
    (same fields, equality, hash and repr)."""
    result = object.__new__(Score)
    result.__dict__.update(
        instrument=instrument,
        total=total,
        severity=severity,
        flags=flags,
        item_scores=item_scores,
        subscales=subscales,
    )
    return result


def _raised(flag: Flag, total: int, item_scores: Sequence[int], sex: str | None) -> bool:
    if flag.item is not None and flag.item_min is not None:
        return item_scores[flag.item - 1] >= flag.item_min
    if flag.clusters:
        assert flag.symptom_min is not None
        return all(
            sum(item_scores[n - 1] >= flag.symptom_min for n in cluster) >= need
            for cluster, need in zip(flag.clusters, flag.clusters_need, strict=True)
        )
    if flag.total_min is not None:
        threshold = flag.total_min
        if sex == "female" and flag.total_min_female is not None:
            threshold = flag.total_min_female
        return total >= threshold
    if flag.total_max is not None:
        return total <= flag.total_max
    return False


FlagTest = Callable[[int, Sequence[int], str | None], bool]


def _flag_test(flag: Flag) -> FlagTest:
    """``_raised`` for this flag; the common one-item rule read once instead of every row."""
    if flag.item is not None and flag.item_min is not None:
        index, least = flag.item - 1, flag.item_min
        return lambda total, item_scores, sex: item_scores[index] >= least
    return partial(_raised, flag)


@dataclass(frozen=True)
class Plan:
    """What scoring needs from an instrument, worked out once: the allowed answers per item,
    the skip rules, the reverse-scored items, the units of the total, a band per possible
    total and each flag's rule. ``score()`` runs for every response stored and for every row of
    a bulk load, and the definition's properties rebuild sets and lists on every call."""

    instrument: str
    n_items: int
    allowed: tuple[frozenset[int], ...]
    lowest: tuple[int, ...]
    highest: tuple[int, ...]
    requires: tuple[tuple[int, int, int, int], ...]
    """Skip logic as 0-based (item, earlier item, item's lowest value, earlier item's lowest)."""
    needs_sex: bool
    reverse: tuple[tuple[int, int], ...]
    """(0-based item, its highest + lowest value): a reversed score is that minus the answer."""
    highest_risk: bool
    risk_of_item: tuple[int, ...]
    """Per item, the index of its risk level in ``risk_levels`` (highest-risk instruments)."""
    groups: tuple[tuple[int, ...], ...]
    """0-based items of each unit of the total; empty when every item counts once (a sum)."""
    subscales: tuple[tuple[str, Callable[[Sequence[int]], list[int]]], ...]
    bands: dict[int, str | None]
    """The band of each possible total."""
    flags: tuple[tuple[str, FlagTest], ...]
    plainly_valid: Callable[[Sequence[int], str | None], bool]
    """True only for answers ``validate`` accepts: the right number of built-in ints, each
    allowed, consistent with the skip logic, with a sex where one is needed. False means "ask
    ``validate``", not "invalid"."""
    item_flags: tuple[tuple[str, int, int], ...] | None
    """(flag, 0-based item, lowest score that raises it) when every flag is a one-item rule."""
    plain_sum: Callable[[Sequence[int]], Score | None] | None
    """The whole of ``score()`` for a plain sum (one set of options, every item counted once as
    answered, no skip logic, sex, subscale or rule other than one-item flags: PHQ-9, GAD-7,
    MADRS), or None. It returns None for answers it does not plainly accept."""

    def item_scores(self, answers: Sequence[int]) -> tuple[int, ...]:
        if not self.reverse:
            return tuple(answers)
        scores = list(answers)
        for index, top in self.reverse:
            scores[index] = top - scores[index]
        return tuple(scores)

    def total(self, item_scores: Sequence[int]) -> int:
        if not self.groups:
            return sum(item_scores)
        return sum(max([item_scores[i] for i in unit]) for unit in self.groups)


def _quick_check(
    n_items: int,
    allowed: tuple[frozenset[int], ...],
    requires: tuple[tuple[int, int, int, int], ...],
    needs_sex: bool,
) -> Callable[[Sequence[int], str | None], bool]:
    """``Plan.plainly_valid``, as a closure over the instrument's constants (faster to reach
    than attributes), and for most instruments (one set of options, no skip logic, no sex)
    just three checks."""
    plain_types = (int,) * n_items
    same = allowed[0] if allowed and all(a == allowed[0] for a in allowed) else None
    if same is not None and not requires and not needs_sex:

        def check_plain(answers: Sequence[int], sex: str | None) -> bool:
            return (
                len(answers) == n_items
                and tuple(map(type, answers)) == plain_types
                and same.issuperset(answers)
            )

        return check_plain

    def check(answers: Sequence[int], sex: str | None) -> bool:
        if len(answers) != n_items or tuple(map(type, answers)) != plain_types:
            return False
        if not all(map(frozenset.__contains__, allowed, answers)):
            return False
        for index, parent, lowest, parent_lowest in requires:
            if answers[index] != lowest and answers[parent] == parent_lowest:
                return False
        return not needs_sex or sex in SEXES

    return check


def _plain_sum(
    instrument: Instrument,
    allowed: tuple[frozenset[int], ...],
    bands: dict[int, str | None],
    item_flags: tuple[tuple[str, int, int], ...] | None,
) -> Callable[[Sequence[int]], Score | None] | None:
    """``Plan.plain_sum``: the general path of ``score()`` with every branch this instrument
    does not take removed and its constants held in the closure, a fifth faster per row.
    ``tests/clinical/test_batch_scoring.py`` checks it against the pre-plan ``score()``."""
    same = allowed[0] if allowed and all(a == allowed[0] for a in allowed) else None
    if (
        instrument.scoring != "sum"
        or same is None
        or instrument.requires
        or instrument.needs_sex
        or instrument.reverse_items
        or instrument.max_groups
        or instrument.subscales
        or item_flags is None
    ):
        return None
    n_items, plain_types, instrument_id = len(allowed), (int,) * len(allowed), instrument.id
    new = object.__new__

    def plain_sum(answers: Sequence[int]) -> Score | None:
        if not (
            len(answers) == n_items
            and tuple(map(type, answers)) == plain_types
            and same.issuperset(answers)
        ):
            return None
        item_scores = tuple(answers)
        total = sum(item_scores)
        flags = tuple([flag for flag, index, least in item_flags if item_scores[index] >= least])
        result = new(Score)
        # Score(...) without the frozen dataclass's __init__ (see _new_score).
        result.__dict__.update(
            instrument=instrument_id,
            total=total,
            severity=bands[total],
            flags=flags,
            item_scores=item_scores,
            subscales={},
        )
        return result

    return plain_sum


def _pick(indices: tuple[int, ...]) -> Callable[[Sequence[int]], list[int]]:
    return lambda item_scores: [item_scores[i] for i in indices]


def _plan(instrument: Instrument) -> Plan:
    n = len(instrument.items)
    allowed = tuple(frozenset(o.value for o in item.options) for item in instrument.items)
    lowest = tuple(item.min_value for item in instrument.items)
    highest = tuple(item.max_value for item in instrument.items)
    units = instrument.units
    total_range = instrument.total_range
    low, high = total_range if total_range is not None else (0, -1)
    requires = tuple(
        (item - 1, needed - 1, lowest[item - 1], lowest[needed - 1])
        for item, needed in instrument.requires.items()
    )
    bands = {total: instrument.band_for(total) for total in range(low, high + 1)}
    item_flags = (
        tuple(
            (flag.id, flag.item - 1, flag.item_min)
            for flag in instrument.flags
            if flag.item is not None and flag.item_min is not None
        )
        if all(flag.item is not None and flag.item_min is not None for flag in instrument.flags)
        else None
    )
    return Plan(
        instrument=instrument.id,
        n_items=n,
        allowed=allowed,
        lowest=lowest,
        highest=highest,
        requires=requires,
        needs_sex=instrument.needs_sex,
        reverse=tuple(
            (item.number - 1, item.max_value + item.min_value)
            for item in instrument.items
            if item.number in instrument.reverse_items
        ),
        highest_risk=instrument.scoring == "highest_risk",
        risk_of_item=tuple(instrument.risk_levels.index(level) for level in instrument.item_risk)
        if instrument.scoring == "highest_risk"
        else (),
        groups=()
        if all(len(unit) == 1 for unit in units)
        else tuple(tuple(n - 1 for n in unit) for unit in units),
        subscales=tuple(
            (name, _pick(tuple(n - 1 for n in numbers)))
            for name, numbers in instrument.subscales.items()
        ),
        bands=bands,
        flags=tuple((flag.id, _flag_test(flag)) for flag in instrument.flags),
        plainly_valid=_quick_check(n, allowed, requires, instrument.needs_sex),
        item_flags=item_flags,
        plain_sum=_plain_sum(instrument, allowed, bands, item_flags),
    )


def plan_for(instrument: Instrument) -> Plan:
    """The instrument's scoring plan, built on first use and kept on the instrument itself.

    The instrument is frozen and unhashable (it holds dicts), so ``functools.cache`` cannot key
    on it, and a table keyed by ``id()`` would keep every parsed instrument alive; the plan is
    derived only from the instrument's own (frozen) fields, so keeping it there is safe.
    """
    plan = instrument.__dict__.get(_PLAN)
    if not isinstance(plan, Plan):
        plan = _plan(instrument)
        object.__setattr__(instrument, _PLAN, plan)
    return plan
