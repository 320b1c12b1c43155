"""Durability of response: the Kaplan-Meier curve of the time from a patient's first
response to relapse, with the number at risk at cohort.toml's checkpoints."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Self

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from ketacare.clinical.outcomes.cohort import config
from ketacare.clinical.outcomes.cohort.columns import by_patient_and_time, firsts, lasts
from ketacare.clinical.outcomes.cohort.scores import (
    after_baseline,
    outcome_rules,
    responds,
    score_series,
)
from ketacare.clinical.outcomes.cohort.suppression import hide_parts, is_shown
from ketacare.clinical.outcomes.trajectory import relapse_policy


@dataclass(frozen=True)
class AtRisk:
    """Patients still followed and not relapsed ``day`` days after their first response."""

    day: float
    n: int | None


@dataclass(frozen=True)
class SurvivalCurve:
    """Kaplan-Meier estimate of staying free of relapse after the first response.

    ``timeline`` (days), ``survival``, ``ci_lower``/``ci_upper`` and ``n_at_risk`` are
    parallel tuples. ``median_days`` is None when the curve never falls to 0.5 (not reached);
    its bounds are None when lifelines gives none (an infinite bound)."""

    instrument_id: str
    n: int | None
    events: int | None
    censored: int | None
    timeline: tuple[float, ...]
    survival: tuple[float, ...]
    ci_lower: tuple[float, ...]
    ci_upper: tuple[float, ...]
    n_at_risk: tuple[int, ...]
    at_risk: tuple[AtRisk, ...]
    median_days: float | None
    median_ci_lower: float | None
    median_ci_upper: float | None
    confidence_level: float
    rule: str
    source: str
    truncated_at_days: float | None = None
    """Set by suppression: the curve stops where fewer than the minimum remain at risk."""
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """The curve hidden unless n, events and censored all show; otherwise cut where fewer
        than ``minimum`` remain at risk, with the median and its bounds beyond the cut hidden."""
        n, (events, censored) = hide_parts(self.n, [self.events, self.censored], minimum)
        at_risk = tuple(a if is_shown(a.n, minimum) else replace(a, n=None) for a in self.at_risk)
        if events is None or censored is None:
            return replace(
                self,
                n=n,
                events=events,
                censored=censored,
                timeline=(),
                survival=(),
                ci_lower=(),
                ci_upper=(),
                n_at_risk=(),
                at_risk=at_risk,
                median_days=None,
                median_ci_lower=None,
                median_ci_upper=None,
                suppressed=True,
            )
        keep = sum(1 for r in self.n_at_risk if r >= minimum)  # at risk only ever falls
        if keep == len(self.timeline) and at_risk == self.at_risk:
            return self
        cut = self.timeline[keep - 1] if keep else 0.0

        def within(day: float | None) -> float | None:
            return day if day is not None and day <= cut else None

        return replace(
            self,
            timeline=self.timeline[:keep],
            survival=self.survival[:keep],
            ci_lower=self.ci_lower[:keep],
            ci_upper=self.ci_upper[:keep],
            n_at_risk=self.n_at_risk[:keep],
            at_risk=at_risk,
            median_days=within(self.median_days),
            median_ci_lower=within(self.median_ci_lower),
            median_ci_upper=within(self.median_ci_upper),
            truncated_at_days=cut if keep < len(self.timeline) else None,
            suppressed=True,
        )


def durability(
    patients: pd.DataFrame,
    scores: pd.DataFrame,
    instrument_id: str = "phq9",
    at_risk_days: Sequence[float] | None = None,
) -> SurvivalCurve:
    """Kaplan-Meier curve of the time from a patient's first response to relapse, for every
    started patient with a baseline who responded.

    Relapse is ``trajectory``'s rule (``data/relapse.toml``): after a response, the given
    number of consecutive scores that do not meet the response rule; its time is the first of
    those scores, and a responding score in between starts the count again. Patients who have
    not relapsed are censored at their last score. The intervals are lifelines' (Greenwood,
    log-log) at cohort.toml's confidence level; the number at risk is reported at
    ``at_risk_days`` (default cohort.toml's)."""
    analysis = config.settings()
    policy = relapse_policy()
    drop, _, response_rule, _, _ = outcome_rules(instrument_id)
    s = score_series(patients, scores, instrument_id)
    after = after_baseline(s)
    met = responds(s.baseline_total[s.patient[after]], s.total[after], drop)
    # Only the responders' scores matter; they are put in order by patient and time.
    responder = np.zeros(s.started, dtype=bool)
    responder[s.patient[after[met]]] = True
    rows = after[responder[s.patient[after]]]
    rows = rows[by_patient_and_time(s.patient[rows], s.t[rows])]
    patient, t = s.patient[rows], s.t[rows]
    met = responds(s.baseline_total[patient], s.total[rows], drop)

    index = np.arange(len(rows))
    new_patient = np.r_[True, patient[1:] != patient[:-1]] if len(rows) else np.zeros(0, bool)
    patient_start = np.maximum.accumulate(np.where(new_patient, index, 0))
    responses_so_far = np.cumsum(met)
    seen = (responses_so_far - (responses_so_far - met)[patient_start]) > 0
    # A run of non-responding scores begins after each response (or at the patient's first
    # score); its k-th score after a response completes a relapse that began k-1 scores back.
    run_start = np.maximum.accumulate(np.where(met | new_patient, index, 0))
    k = policy.consecutive_measures
    relapse_rows = np.flatnonzero(seen & (index - run_start == k))
    relapse_rows = relapse_rows[firsts(patient[relapse_rows])]
    response_rows = np.flatnonzero(met)
    response_rows = response_rows[firsts(patient[response_rows])]
    last_rows = lasts(patient)

    first_response = np.full(s.started, np.nan)
    first_response[patient[response_rows]] = t[response_rows]
    relapse_at = np.full(s.started, np.nan)
    relapse_at[patient[relapse_rows]] = t[relapse_rows - (k - 1)]
    last_score = np.full(s.started, np.nan)
    last_score[patient[last_rows]] = t[last_rows]

    responded = ~np.isnan(first_response)
    relapsed = responded & ~np.isnan(relapse_at)
    end = np.where(relapsed, relapse_at, last_score)
    durations = (end - first_response)[responded]
    observed = relapsed[responded]

    rule = (
        f"after a first response ({response_rule}), {k} consecutive scores not meeting it; "
        "censored at the last score"
    )
    checkpoints = tuple(analysis.at_risk_days if at_risk_days is None else at_risk_days)
    at_risk = tuple(
        AtRisk(float(day), int(np.count_nonzero(durations >= day))) for day in checkpoints
    )
    n, events = len(durations), int(np.count_nonzero(observed))
    if n == 0:
        return SurvivalCurve(
            instrument_id=instrument_id,
            n=0,
            events=0,
            censored=0,
            timeline=(),
            survival=(),
            ci_lower=(),
            ci_upper=(),
            n_at_risk=(),
            at_risk=at_risk,
            median_days=None,
            median_ci_lower=None,
            median_ci_upper=None,
            confidence_level=analysis.confidence_level,
            rule=rule,
            source=policy.source,
        )
    fitter = KaplanMeierFitter(alpha=1 - analysis.confidence_level).fit(durations, observed)
    band = fitter.confidence_interval_
    median_band = median_survival_times(band)
    table = fitter.event_table
    return SurvivalCurve(
        instrument_id=instrument_id,
        n=n,
        events=events,
        censored=n - events,
        timeline=tuple(float(x) for x in fitter.survival_function_.index),
        survival=tuple(float(x) for x in fitter.survival_function_.iloc[:, 0]),
        ci_lower=tuple(float(x) for x in band.iloc[:, 0]),
        ci_upper=tuple(float(x) for x in band.iloc[:, 1]),
        n_at_risk=tuple(int(x) for x in table["at_risk"]),
        at_risk=at_risk,
        median_days=_finite(fitter.median_survival_time_),
        median_ci_lower=_finite(median_band.iloc[0, 0]),
        median_ci_upper=_finite(median_band.iloc[0, 1]),
        confidence_level=analysis.confidence_level,
        rule=rule,
        source=policy.source,
    )


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
