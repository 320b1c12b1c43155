"""Scoring a set of answers against an instrument definition."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ketacare.clinical.instruments.definitions import Flag, Instrument

SEXES = ("female", "male")


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
    for item, answer in zip(instrument.items, answers, strict=True):
        allowed = {o.value for o in item.options}
        if isinstance(answer, bool) or not isinstance(answer, int) or answer not in allowed:
            raise AnswerError(
                f"{instrument.id} item {item.number}: answer {answer!r} is not allowed "
                f"(allowed: {item.min_value}–{item.max_value})"
            )
    for item_number, needed in instrument.requires.items():
        item, parent = instrument.items[item_number - 1], instrument.items[needed - 1]
        if answers[item_number - 1] != item.min_value and answers[needed - 1] == parent.min_value:
            raise AnswerError(
                f"{instrument.id} item {item_number} ({item.label}) is asked only after a yes to "
                f"item {needed} ({parent.label}): it cannot be yes when item {needed} is no"
            )
    if instrument.needs_sex and sex not in SEXES:
        raise AnswerError(
            f"{instrument.id} needs the patient's sex (female or male) for its cut-point"
        )


def score(instrument: Instrument, answers: Sequence[int], sex: str | None = None) -> Score:
    """Score ``answers`` (one per item, in item order) for ``instrument``."""
    validate(instrument, answers, sex)
    item_scores = tuple(
        (item.max_value - answer + item.min_value)
        if item.number in instrument.reverse_items
        else answer
        for item, answer in zip(instrument.items, answers, strict=True)
    )
    if instrument.scoring == "highest_risk":
        levels = instrument.risk_levels
        positive = [
            levels.index(level)
            for level, answer in zip(instrument.item_risk, item_scores, strict=True)
            if answer
        ]
        risk = levels[max(positive, default=0)]
        flags = tuple(f.id for f in instrument.flags if f.risk == risk)
        return Score(instrument.id, None, risk, flags, item_scores)

    total = sum(max(item_scores[n - 1] for n in unit) for unit in instrument.units)
    subscales = {
        name: sum(item_scores[n - 1] for n in numbers)
        for name, numbers in instrument.subscales.items()
    }
    flags = tuple(f.id for f in instrument.flags if _raised(f, total, item_scores, sex))
    return Score(instrument.id, total, instrument.band_for(total), flags, item_scores, subscales)


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
