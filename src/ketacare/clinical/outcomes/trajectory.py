"""Classifying a patient's series of scores on one instrument."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from functools import cache
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ketacare.clinical.datafiles import load
from ketacare.clinical.instruments import Instrument


@dataclass(frozen=True)
class Measure:
    """One total score, taken at ``taken_at``."""

    taken_at: datetime
    total: int


@dataclass(frozen=True)
class Classification:
    """Whether a patient meets an outcome definition, and the rule that says so."""

    id: str
    met: bool
    rule: str
    source: str
    since: datetime | None = None

    @property
    def label(self) -> str:
        """'reliable_improvement' -> 'Reliable improvement'."""
        return self.id.replace("_", " ").capitalize()


@dataclass(frozen=True)
class RelapsePolicy:
    consecutive_measures: int
    source: str


@dataclass(frozen=True)
class BaselineRule:
    """Which score is a patient's baseline on an instrument: the last one on or before the
    first dose, at most ``lookback`` before it (``data/cohort.toml``, clinic policy). The
    measures page and the outcomes registry both use it."""

    lookback: timedelta
    source: str

    @property
    def lookback_days(self) -> int:
        """The lookback in whole days, as the data file gives it."""
        return self.lookback.days

    @property
    def text(self) -> str:
        """The rule in words, for a page that shows which score it took."""
        return (
            f"the last score on or before the first dose, at most {self.lookback_days} days "
            "before it"
        )


@dataclass(frozen=True)
class Assessment:
    instrument: str
    baseline: Measure | None
    latest: Measure | None
    change: int | None
    """Latest minus baseline: negative is improvement on every instrument ketacare ships."""
    percent_change: float | None
    classifications: tuple[Classification, ...]
    note: str = ""

    def get(self, classification_id: str) -> Classification | None:
        return next((c for c in self.classifications if c.id == classification_id), None)


def relapse_policy() -> RelapsePolicy:
    """The relapse definition from ``outcomes/data/relapse.toml`` (clinic policy)."""
    data = load("relapse", package="ketacare.clinical.outcomes")
    return RelapsePolicy(int(data["consecutive_measures"]), str(data["source"]))


@cache
def baseline_rule() -> BaselineRule:
    """The baseline definition from ``outcomes/data/cohort.toml`` (clinic policy)."""
    data = load("cohort", package="ketacare.clinical.outcomes")
    return BaselineRule(
        timedelta(days=int(data["baseline_lookback_days"])), str(data["baseline_source"])
    )


@overload
def in_baseline_window(taken_at: datetime, first_dose: datetime, lookback: timedelta) -> bool: ...


@overload
def in_baseline_window(
    taken_at: npt.NDArray[np.int64], first_dose: npt.NDArray[np.int64], lookback: int
) -> npt.NDArray[np.bool_]: ...


def in_baseline_window(taken_at: Any, first_dose: Any, lookback: Any) -> Any:
    """Whether a score taken at ``taken_at`` may be the baseline for a first dose at
    ``first_dose``: on or before it, at most ``lookback`` before it (both ends inclusive).
    One datetime, or whole columns of nanosecond timestamps (the registry's) with the
    lookback in nanoseconds: the same comparison, exact in both."""
    return (taken_at <= first_dose) & (taken_at >= first_dose - lookback)


def baseline(
    measures: Sequence[Measure], first_dose: datetime | None, rule: BaselineRule | None = None
) -> Measure | None:
    """The baseline among ``measures``: the last one in ``in_baseline_window`` of the first
    dose, or None if there is none there. Before any dose (``first_dose`` None) it is the
    latest measure so far, the score that would be the baseline if the first dose followed
    it within the lookback; there is nothing to compare it with yet."""
    ordered = sorted(measures, key=lambda m: m.taken_at)
    if first_dose is None:
        return ordered[-1] if ordered else None
    lookback = (rule or baseline_rule()).lookback
    window = [m for m in ordered if in_baseline_window(m.taken_at, first_dose, lookback)]
    return window[-1] if window else None


def assess(
    instrument: Instrument,
    measures: Sequence[Measure],
    first_treatment: datetime | None,
    policy: RelapsePolicy | None = None,
    rule: BaselineRule | None = None,
) -> Assessment:
    """Baseline is ``baseline(measures, first_treatment)``; every later measure is compared
    with it. Before any treatment the latest measure is the baseline, with no comparison."""
    policy = policy or relapse_policy()
    rule = rule or baseline_rule()
    ordered = sorted(measures, key=lambda m: m.taken_at)
    if not ordered:
        return Assessment(instrument.id, None, None, None, None, (), "No scores yet.")
    latest = ordered[-1]
    base = baseline(ordered, first_treatment, rule)
    if base is None:
        too_old = first_treatment is not None and ordered[0].taken_at <= first_treatment
        note = (
            f"No score within {rule.lookback_days} days before the first dose, so there is "
            "no baseline to compare with."
            if too_old
            else "No score before the first dose, so there is no baseline to compare with."
        )
        return Assessment(instrument.id, None, latest, None, None, (), note)
    after = [m for m in ordered if m.taken_at > base.taken_at]
    if not after:
        note = (
            "No dose recorded yet, so nothing is compared with this baseline."
            if first_treatment is None
            else "No score since baseline."
        )
        return Assessment(instrument.id, base, latest, None, None, (), note)
    change = latest.total - base.total
    percent = _percent(base.total, latest.total)
    outcomes = instrument.outcomes
    if outcomes is None:
        note = "No outcome thresholds defined."
        return Assessment(instrument.id, base, latest, change, percent, (), note)

    found: list[Classification] = []
    if outcomes.response_drop_percent is not None:
        found.append(_response(instrument, base, latest, outcomes.response_drop_percent))
        found.append(_relapse(instrument, base, after, outcomes.response_drop_percent, policy))
    if outcomes.remission_max is not None:
        found.append(
            Classification(
                "remission",
                latest.total <= outcomes.remission_max,
                f"{instrument.short_name} total ≤ {outcomes.remission_max} (latest {latest.total})",
                outcomes.source,
            )
        )
    meaningful = outcomes.mcid or outcomes.reliable_change
    if meaningful is not None:
        kind = "MCID" if outcomes.mcid else "reliable change"
        found.append(
            Classification(
                "reliable_improvement",
                -change >= meaningful,
                f"drop of at least {meaningful} points ({kind}); change {change:+d}",
                outcomes.source,
            )
        )
        found.append(
            Classification(
                "reliable_worsening",
                change >= meaningful,
                f"rise of at least {meaningful} points ({kind}); change {change:+d}",
                outcomes.source,
            )
        )
    return Assessment(instrument.id, base, latest, change, percent, tuple(found))


def _percent(baseline: int, latest: int) -> float | None:
    if baseline == 0:
        return None  # no drop is possible from zero; a percentage would divide by it
    return round(100 * (latest - baseline) / baseline, 1)


def _responded(baseline: Measure, measure: Measure, drop_percent: float) -> bool:
    # Exact arithmetic: a 50 % drop from 15 is 7.5, and 7 must count while 8 must not.
    if baseline.total == 0:
        return False
    drop = Fraction(baseline.total - measure.total, baseline.total) * 100
    return drop >= Fraction(str(drop_percent))


def _response(
    instrument: Instrument, baseline: Measure, latest: Measure, drop_percent: float
) -> Classification:
    assert instrument.outcomes is not None
    return Classification(
        "response",
        _responded(baseline, latest, drop_percent),
        f"{instrument.short_name} at least {drop_percent:g} % below baseline "
        f"{baseline.total} (latest {latest.total})",
        instrument.outcomes.source,
    )


def _relapse(
    instrument: Instrument,
    baseline: Measure,
    after: Sequence[Measure],
    drop_percent: float,
    policy: RelapsePolicy,
) -> Classification:
    rule = (
        f"after a response, {policy.consecutive_measures} consecutive scores less than "
        f"{drop_percent:g} % below baseline {baseline.total}"
    )
    responded = False
    run: list[Measure] = []
    for measure in after:
        if _responded(baseline, measure, drop_percent):
            responded, run = True, []
        elif responded:
            run.append(measure)
            if len(run) >= policy.consecutive_measures:
                return Classification("relapse", True, rule, policy.source, since=run[0].taken_at)
    return Classification("relapse", False, rule, policy.source)
