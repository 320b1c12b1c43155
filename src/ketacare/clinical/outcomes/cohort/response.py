"""Response and remission at the outcome window after induction, and the time from the
first dose to the first response, with the patients each analysis leaves out and why."""

from dataclasses import dataclass, replace
from typing import Self

import numpy as np
import pandas as pd

from ketacare.clinical.outcomes.cohort import config
from ketacare.clinical.outcomes.cohort.columns import Bools, each_patient
from ketacare.clinical.outcomes.cohort.proportions import (
    Proportion,
    hidden_proportion,
    proportion,
)
from ketacare.clinical.outcomes.cohort.scores import (
    ScoreSeries,
    after_baseline,
    outcome_rules,
    responds,
    score_series,
)
from ketacare.clinical.outcomes.cohort.suppression import hide_parts, is_shown
from ketacare.clinical.outcomes.trajectory import baseline_rule


@dataclass(frozen=True)
class Exclusion:
    """Patients left out of an analysis for one reason."""

    reason: str
    description: str
    count: int | None
    suppressed: bool = False


@dataclass(frozen=True)
class Rates:
    """Response and remission at the outcome window after induction.

    The ``population`` had a first dose and an induction's last dose (and completed the
    induction, when asked); ``n`` of them were analysed, the others are in ``exclusions``
    (population = n + the sum of the exclusions)."""

    instrument_id: str
    window_days: tuple[int, int]
    population: int | None
    n: int | None
    response: Proportion
    remission: Proportion | None
    """None when the instrument defines no remission threshold."""
    exclusions: tuple[Exclusion, ...]
    response_rule: str
    remission_rule: str
    source: str
    suppressed: bool = False

    @property
    def responders(self) -> int | None:
        """Patients meeting the response rule at their outcome score."""
        return self.response.count

    @property
    def remitters(self) -> int | None:
        """Patients meeting the remission rule at their outcome score."""
        return self.remission.count if self.remission else None

    def suppressed_below(self, minimum: int) -> Self:
        """Small counts, their complements and whatever derives from them hidden."""
        population, parts = hide_parts(
            self.population, [self.n, *(e.count for e in self.exclusions)], minimum
        )
        n = parts[0]
        response = self.response.suppressed_below(minimum)
        remission = self.remission.suppressed_below(minimum) if self.remission else None
        if n is None:
            response = hidden_proportion()
            remission = hidden_proportion() if self.remission else None
        exclusions = tuple(
            e if c is not None else replace(e, count=None, suppressed=True)
            for e, c in zip(self.exclusions, parts[1:], strict=True)
        )
        changed = (
            population != self.population
            or n != self.n
            or response.suppressed
            or bool(remission and remission.suppressed)
            or any(e.suppressed for e in exclusions)
        )
        return replace(
            self,
            population=population,
            n=n,
            response=response,
            remission=remission,
            exclusions=exclusions,
            suppressed=changed,
        )


@dataclass(frozen=True)
class TimeToResponse:
    """Days from the first dose to the first score meeting the response rule.

    ``assessed`` patients had a baseline and a later score; ``n`` of them responded and the
    median and quartiles are over those ``n`` (patients who never responded are not in them;
    see ``durability`` for a censored analysis)."""

    instrument_id: str
    assessed: int | None
    n: int | None
    median_days: float | None
    q1_days: float | None
    q3_days: float | None
    exclusions: tuple[Exclusion, ...]
    rule: str
    source: str
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """Small counts and their complements hidden; the quartiles when the responders are
        few."""
        started = (self.assessed or 0) + sum(e.count or 0 for e in self.exclusions)
        _, parts = hide_parts(
            started, [self.assessed, *(e.count for e in self.exclusions)], minimum
        )
        assessed = parts[0]
        complement = (self.assessed or 0) - (self.n or 0)
        n_shown = (
            assessed is not None and is_shown(self.n, minimum) and is_shown(complement, minimum)
        )
        quartiles_shown = is_shown(self.n, minimum)
        exclusions = tuple(
            e if c is not None else replace(e, count=None, suppressed=True)
            for e, c in zip(self.exclusions, parts[1:], strict=True)
        )
        hidden = replace(
            self,
            assessed=assessed,
            n=self.n if n_shown else None,
            median_days=self.median_days if quartiles_shown else None,
            q1_days=self.q1_days if quartiles_shown else None,
            q3_days=self.q3_days if quartiles_shown else None,
            exclusions=exclusions,
        )
        return hidden if hidden == self else replace(hidden, suppressed=True)


NO_BASELINE = "no_baseline"


def _no_baseline(s: ScoreSeries, among: Bools) -> Exclusion:
    lookback = baseline_rule().lookback_days
    return Exclusion(
        NO_BASELINE,
        f"no score on or before the first dose (within {lookback} days before it)",
        int(np.count_nonzero(among & (s.baseline_total < 0))),
    )


def response_remission(
    patients: pd.DataFrame,
    scores: pd.DataFrame,
    instrument_id: str = "phq9",
    window: tuple[int, int] | None = None,
    completed_only: bool = False,
) -> Rates:
    """Response and remission at the outcome window, with Wilson intervals.

    Population: patients with a first dose and an induction's last dose (only those who
    completed the induction with ``completed_only``). Baseline: the last score on or before the
    first dose, at most ``baseline_lookback_days`` before it. Outcome: the last score
    ``window`` whole days (inclusive; default cohort.toml's, 14-31 as McInnes 2022) after
    ``last_induction_dose_at``. Response and remission compare the outcome with the baseline by
    the instrument's rules (as ``trajectory.assess``). Patients without a baseline, then
    without an outcome score, are counted in ``exclusions``."""
    analysis = config.settings()
    low, high = window or analysis.outcome_window_days
    drop, remission_max, response_rule, remission_rule, source = outcome_rules(instrument_id)
    s = score_series(patients, scores, instrument_id)
    in_population = ~np.isnan(s.last_induction)
    if completed_only:
        in_population &= s.completed
    has_baseline = s.baseline_total >= 0

    elapsed = s.t - s.last_induction[s.patient]
    whole = np.floor(elapsed)
    in_window = (elapsed > 0) & (whole >= low) & (whole <= high) & in_population[s.patient]
    positions = np.flatnonzero(in_window)
    outcome = each_patient(s.patient, s.t, positions, last=True)
    outcome_total = np.full(s.started, -1, dtype=np.int64)
    outcome_total[s.patient[outcome]] = s.total[outcome]

    analysed = in_population & has_baseline & (outcome_total >= 0)
    base, final = s.baseline_total[analysed], outcome_total[analysed]
    n = int(np.count_nonzero(analysed))
    responders = int(np.count_nonzero(responds(base, final, drop)))
    remission = (
        proportion(int(np.count_nonzero(final <= remission_max)), n)
        if remission_max is not None
        else None
    )
    exclusions = (
        _no_baseline(s, in_population),
        Exclusion(
            "no_outcome_score",
            f"a baseline but no score {low}-{high} days after the induction's last dose",
            int(np.count_nonzero(in_population & has_baseline & (outcome_total < 0))),
        ),
    )
    return Rates(
        instrument_id=instrument_id,
        window_days=(low, high),
        population=int(np.count_nonzero(in_population)),
        n=n,
        response=proportion(responders, n),
        remission=remission,
        exclusions=exclusions,
        response_rule=response_rule,
        remission_rule=remission_rule,
        source=source,
    )


def time_to_response(
    patients: pd.DataFrame, scores: pd.DataFrame, instrument_id: str = "phq9"
) -> TimeToResponse:
    """Days from the first dose to the first score meeting the response rule (against the
    baseline, as ``response_remission``): median and quartiles over the patients who
    responded. ``assessed`` counts the started patients with a baseline and at least one later
    score; the rest are in ``exclusions``."""
    drop, _, response_rule, _, source = outcome_rules(instrument_id)
    s = score_series(patients, scores, instrument_id)
    after = after_baseline(s)
    met = responds(s.baseline_total[s.patient[after]], s.total[after], drop)
    hits = after[np.flatnonzero(met)]
    first = each_patient(s.patient, s.t, hits, last=False)
    days = s.t[first] - s.first_dose[s.patient[first]]

    has_baseline = s.baseline_total >= 0
    followed = np.zeros(s.started, dtype=bool)
    followed[s.patient[after]] = True
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    if len(days):
        q1, median, q3 = (float(v) for v in np.percentile(days, [25, 50, 75]))
    everyone = np.ones(s.started, dtype=bool)
    return TimeToResponse(
        instrument_id=instrument_id,
        assessed=int(np.count_nonzero(followed)),
        n=len(first),
        median_days=median,
        q1_days=q1,
        q3_days=q3,
        exclusions=(
            _no_baseline(s, everyone),
            Exclusion(
                "no_later_score",
                "a baseline but no score after it",
                int(np.count_nonzero(has_baseline & ~followed)),
            ),
        ),
        rule=response_rule,
        source=source,
    )
