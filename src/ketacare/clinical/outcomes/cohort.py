"""Cohort statistics over the registry tables (``ketacare.registry.dataset``): the patient
flow, response and remission with Wilson intervals, time to response, Kaplan-Meier durability,
safety and misuse signals, and small-cell suppression for the researcher role.

Every function takes the DataFrames as the dataset contract describes them and works column
by column (no Python loop over patients, sessions or scores), so a clinic of 100,000 patients
and 3 M scores is answered in seconds. Timestamps may be naive or time-zone aware (naive ones
are read as UTC); every "days" figure is elapsed time in (fractional) days unless it says
"whole days". The response, remission and relapse rules are the ones ``trajectory.assess``
uses for a single patient: the instrument's ``[outcomes]`` and ``data/relapse.toml``.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from fractions import Fraction
from functools import cache
from math import sqrt
from statistics import NormalDist
from typing import Any, Protocol, Self, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from ketacare.clinical.datafiles import load
from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.outcomes.trajectory import baseline_rule, in_baseline_window, relapse_policy
from ketacare.clinical.protocols.library import get_protocol

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

_NS_PER_DAY = 86_400 * 10**9
SEVERE = "severe"


# ---------------------------------------------------------------------------------------------
# Settings and result types


@dataclass(frozen=True)
class Settings:
    """The analysis numbers of ``outcomes/data/cohort.toml`` (its baseline lookback is read by
    ``trajectory.baseline_rule``, the one definition of baseline)."""

    outcome_window_days: tuple[int, int]
    confidence_level: float
    small_cell_minimum: int
    at_risk_days: tuple[float, ...]
    version: str
    source: str


@cache
def settings() -> Settings:
    """The cohort analysis settings from ``outcomes/data/cohort.toml``."""
    data = load("cohort", package="ketacare.clinical.outcomes")
    low, high = data["outcome_window_days"]
    return Settings(
        outcome_window_days=(int(low), int(high)),
        confidence_level=float(data["confidence_level"]),
        small_cell_minimum=int(data["small_cell_minimum"]),
        at_risk_days=tuple(float(d) for d in data["at_risk_days"]),
        version=str(data["version"]),
        source=str(data["source"]),
    )


def _shown(value: int | None, minimum: int) -> bool:
    return value is not None and value >= minimum


def _hide_parts(
    total: int | None, parts: Sequence[int | None], minimum: int
) -> tuple[int | None, list[int | None]]:
    """Hide a total below the minimum (with all its parts), every part below it, and, when a
    single part would be hidden while the total shows, the next smallest part as well, so the
    hidden one cannot be recovered by subtraction."""
    if not _shown(total, minimum):
        return None, [None] * len(parts)
    shown: list[int | None] = [p if _shown(p, minimum) else None for p in parts]
    hidden = [i for i, p in enumerate(shown) if p is None]
    if len(hidden) == 1:
        others = [(p, i) for i, p in enumerate(shown) if p is not None]
        if others:
            shown[min(others)[1]] = None
        else:
            return None, shown
    return total, shown


@dataclass(frozen=True)
class Proportion:
    """``count`` of ``n`` with its Wilson confidence interval. ``rate`` and the bounds are
    None when ``n`` is 0 or when suppression hid them (then ``suppressed`` is True)."""

    count: int | None
    n: int | None
    rate: float | None
    ci_lower: float | None
    ci_upper: float | None
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """Hidden when ``n`` is small; count, rate and interval hidden when the count or its
        complement (``n - count``) is small."""
        if not _shown(self.n, minimum):
            return replace(
                self, count=None, n=None, rate=None, ci_lower=None, ci_upper=None, suppressed=True
            )
        assert self.n is not None
        if _shown(self.count, minimum) and _shown(self.n - (self.count or 0), minimum):
            return self
        return replace(self, count=None, rate=None, ci_lower=None, ci_upper=None, suppressed=True)


def wilson(count: int, n: int, level: float | None = None) -> tuple[float, float]:
    """Wilson score interval for ``count`` successes of ``n`` at ``level`` (default: the
    cohort settings' confidence level)."""
    if n <= 0:
        raise ValueError("a Wilson interval needs n > 0")
    if not 0 <= count <= n:
        raise ValueError(f"count {count} is not between 0 and n = {n}")
    level = settings().confidence_level if level is None else level
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(count: int, n: int, level: float | None = None) -> Proportion:
    """``count`` of ``n`` as a Proportion with its Wilson interval (no rate when n is 0)."""
    if n == 0:
        return Proportion(count, n, None, None, None)
    low, high = wilson(count, n, level)
    return Proportion(count, n, count / n, low, high)


@dataclass(frozen=True)
class FlowStep:
    """One step of the patient flow: ``count`` patients passed it and every earlier step;
    ``dropped`` of the previous step's patients did not (None on the first step)."""

    id: str
    label: str
    rule: str
    count: int | None
    dropped: int | None
    share_of_previous: float | None
    suppressed: bool = False


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
        population, parts = _hide_parts(
            self.population, [self.n, *(e.count for e in self.exclusions)], minimum
        )
        n = parts[0]
        response = self.response.suppressed_below(minimum)
        remission = self.remission.suppressed_below(minimum) if self.remission else None
        if n is None:
            response = _hidden()
            remission = _hidden() if self.remission else None
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


def _hidden() -> Proportion:
    return Proportion(None, None, None, None, None, suppressed=True)


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
        _, parts = _hide_parts(
            started, [self.assessed, *(e.count for e in self.exclusions)], minimum
        )
        assessed = parts[0]
        complement = (self.assessed or 0) - (self.n or 0)
        n_shown = assessed is not None and _shown(self.n, minimum) and _shown(complement, minimum)
        quartiles_shown = _shown(self.n, minimum)
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
        n, (events, censored) = _hide_parts(self.n, [self.events, self.censored], minimum)
        at_risk = tuple(a if _shown(a.n, minimum) else replace(a, n=None) for a in self.at_risk)
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


@dataclass(frozen=True)
class EventRate:
    """Adverse events of one kind ("all" for every kind) per 100 dosed sessions."""

    kind: str
    events: int | None
    per_100_sessions: float | None
    severe: int | None
    severe_per_100_sessions: float | None
    suppressed: bool = False


@dataclass(frozen=True)
class Titration:
    """Patients by the path of their dose_mg from session to session (changes counted only
    between consecutive sessions of the same protocol)."""

    patients: int | None
    rose: int | None
    """Only increases."""
    fell: int | None
    """Only decreases."""
    stayed: int | None
    """Two or more sessions, never a change."""
    mixed: int | None
    """Both increases and decreases."""
    single_session: int | None
    suppressed: bool = False


@dataclass(frozen=True)
class Safety:
    """Adverse events, severe hypertension, gate overrides and dose titration over the dosed
    sessions."""

    sessions: int | None
    patients: int | None
    all_events: EventRate
    by_kind: tuple[EventRate, ...]
    """Most frequent first."""
    severe_hypertension_sessions: Proportion
    severe_hypertension_patients: Proportion
    gate_overrides: Proportion
    titration: Titration
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """Small counts (events, patients, sessions) and the rates derived from them hidden."""
        sessions = self.sessions if _shown(self.sessions, minimum) else None
        patients = self.patients if _shown(self.patients, minimum) else None
        all_events, kind_events = _hide_parts(
            self.all_events.events, [k.events for k in self.by_kind], minimum
        )
        all_severe, kind_severe = _hide_parts(
            self.all_events.severe, [k.severe for k in self.by_kind], minimum
        )
        rows = [
            _event_rate_hidden(row, events, severe, sessions, minimum)
            for row, events, severe in zip(
                (self.all_events, *self.by_kind),
                (all_events, *kind_events),
                (all_severe, *kind_severe),
                strict=True,
            )
        ]
        t = self.titration
        total, (rose, fell, stayed, mixed, single) = _hide_parts(
            t.patients, [t.rose, t.fell, t.stayed, t.mixed, t.single_session], minimum
        )
        titration = Titration(
            total,
            rose,
            fell,
            stayed,
            mixed,
            single,
            suppressed=(total, rose, fell, stayed, mixed, single)
            != (t.patients, t.rose, t.fell, t.stayed, t.mixed, t.single_session),
        )
        proportions = [
            p.suppressed_below(minimum)
            for p in (
                self.severe_hypertension_sessions,
                self.severe_hypertension_patients,
                self.gate_overrides,
            )
        ]
        changed = (
            sessions != self.sessions
            or patients != self.patients
            or titration.suppressed
            or any(r.suppressed for r in rows)
            or any(p.suppressed for p in proportions)
        )
        return replace(
            self,
            sessions=sessions,
            patients=patients,
            all_events=rows[0],
            by_kind=tuple(rows[1:]),
            severe_hypertension_sessions=proportions[0],
            severe_hypertension_patients=proportions[1],
            gate_overrides=proportions[2],
            titration=titration,
            suppressed=changed,
        )


def _event_rate_hidden(
    row: EventRate, events: int | None, severe: int | None, sessions: int | None, minimum: int
) -> EventRate:
    if events is not None and severe is not None and not _shown(events - severe, minimum):
        severe = None  # the non-severe remainder would be a small cell
    if sessions is None:
        events = severe = None
    if events == row.events and severe == row.severe:
        return row
    return replace(
        row,
        events=events,
        per_100_sessions=row.per_100_sessions if events is not None else None,
        severe=severe,
        severe_per_100_sessions=row.severe_per_100_sessions if severe is not None else None,
        suppressed=True,
    )


@dataclass(frozen=True)
class Signal:
    """Patients (of the started ones) who showed a possible misuse signal, and how many
    sessions or screens raised it. ``screened``, for a signal that needs a questionnaire, is
    the patients who had one at all in its window: without it a 0 could be an absence of
    screens rather than of positive ones."""

    id: str
    patients: Proportion
    events: int | None
    rule: str
    source: str
    screened: Proportion | None = None
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """The patient shares and the event count hidden when small; the screened share also
        when the screened but negative patients (screened - flagged) would be a small cell."""
        patients = self.patients.suppressed_below(minimum)
        events = self.events if _shown(self.events, minimum) else None
        screened = self.screened.suppressed_below(minimum) if self.screened else None
        if (
            screened is not None
            and screened.count is not None
            and patients.count is not None
            and not _shown(screened.count - patients.count, minimum)
        ):
            screened = replace(
                screened, count=None, rate=None, ci_lower=None, ci_upper=None, suppressed=True
            )
        if patients is self.patients and events == self.events and screened is self.screened:
            return self
        return replace(self, patients=patients, events=events, screened=screened, suppressed=True)


@dataclass(frozen=True)
class MisuseSignals:
    """Possible misuse or diversion signals among the ``patients`` who started treatment."""

    patients: int | None
    escalating_doses: Signal
    early_requests: Signal
    positive_screens_after_start: Signal
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """Each signal suppressed; everything hidden when the cohort itself is small."""
        signals = [
            s.suppressed_below(minimum)
            for s in (self.escalating_doses, self.early_requests, self.positive_screens_after_start)
        ]
        patients = self.patients if _shown(self.patients, minimum) else None
        if patients is None:
            signals = [
                replace(
                    s,
                    patients=_hidden(),
                    events=None,
                    screened=_hidden() if s.screened else None,
                    suppressed=True,
                )
                for s in signals
            ]
        return replace(
            self,
            patients=patients,
            escalating_doses=signals[0],
            early_requests=signals[1],
            positive_screens_after_start=signals[2],
            suppressed=patients is None or any(s.suppressed for s in signals),
        )


# ---------------------------------------------------------------------------------------------
# Suppression


class _Suppressible(Protocol):
    def suppressed_below(self, minimum: int) -> Self: ...


R = TypeVar("R", bound=_Suppressible)


@overload
def suppress(result: list[FlowStep], minimum: int | None = None) -> list[FlowStep]: ...


@overload
def suppress(result: R, minimum: int | None = None) -> R: ...


def suppress(result: Any, minimum: int | None = None) -> Any:
    """The result as the researcher role may see it: every count below ``minimum`` (default:
    ``small_cell_minimum`` of cohort.toml, 11; 0 counts as small too) becomes None, and so does
    everything computed from it (rates, intervals, quartiles, curve points) and any count from
    which a hidden one could be recovered by subtraction. Objects that lost something have
    ``suppressed = True``. Works on every result type of this module and on a flow."""
    minimum = settings().small_cell_minimum if minimum is None else minimum
    if isinstance(result, list):
        return _suppress_flow(result, minimum)
    return result.suppressed_below(minimum)


def _suppress_flow(steps: list[FlowStep], minimum: int) -> list[FlowStep]:
    shown: list[FlowStep] = []
    previous_count: int | None = None  # the true count of the previous step
    previous_hidden = False
    for step in steps:
        count, dropped = step.count, step.dropped
        if previous_count is None:  # the first step
            count = count if _shown(count, minimum) else None
        else:
            _, (count, dropped) = _hide_parts(previous_count, [count, dropped], minimum)
            if previous_hidden:
                dropped = None  # with the count shown it would give the hidden previous one
        share = step.share_of_previous if count is not None and not previous_hidden else None
        changed = (count, dropped, share) != (step.count, step.dropped, step.share_of_previous)
        shown.append(
            replace(step, count=count, dropped=dropped, share_of_previous=share, suppressed=changed)
        )
        previous_count, previous_hidden = step.count, count is None
    return shown


# ---------------------------------------------------------------------------------------------
# Column helpers


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _flag(frame: pd.DataFrame, name: str) -> Bools:
    return np.asarray(_column(frame, name).eq(True).to_numpy(), dtype=bool)


def _nanos(values: pd.Series) -> tuple[Ints, Bools]:
    """Timestamps as int nanoseconds since the epoch (exact), and which are missing."""
    # cache=False: to_datetime would otherwise walk every value to decide whether to cache.
    stamps = pd.to_datetime(values, utc=True, cache=False).dt.tz_localize(None)
    raw = stamps.to_numpy(dtype="datetime64[ns]")
    return np.asarray(raw.astype(np.int64), dtype=np.int64), np.asarray(np.isnat(raw), dtype=bool)


def _to_days(nanos: Ints, missing: Bools) -> Floats:
    days = nanos.astype(np.float64) / _NS_PER_DAY
    days[missing] = np.nan
    return np.asarray(days, dtype=np.float64)


def _days(values: pd.Series) -> Floats:
    """Timestamps as float days since the epoch (NaN for missing)."""
    return _to_days(*_nanos(values))


def _responds(baseline: Ints, total: Ints, drop_percent: float) -> Bools:
    # The same exact arithmetic as trajectory._responded, on integer arrays: a 50 % drop
    # from 15 is 7.5, so 7 counts and 8 does not; no response is possible from a 0 baseline.
    drop = Fraction(str(drop_percent))
    met = (baseline - total) * 100 * drop.denominator >= drop.numerator * baseline
    return np.asarray(met & (baseline > 0), dtype=bool)


def _firsts(keys: Ints) -> Ints:
    """Positions where a new key starts in a sorted key array."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return np.asarray(starts, dtype=np.int64)


def _lasts(keys: Ints) -> Ints:
    """Positions where a key ends in a sorted key array."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(np.r_[keys[1:] != keys[:-1], True])
    return np.asarray(ends, dtype=np.int64)


def _outcome_rules(instrument_id: str) -> tuple[float, int | None, str, str, str]:
    instrument = get_instrument(instrument_id)
    outcomes = instrument.outcomes
    if outcomes is None or outcomes.response_drop_percent is None:
        raise ValueError(f"{instrument_id} defines no response rule")
    drop = float(outcomes.response_drop_percent)
    response_rule = f"{instrument.short_name} at least {drop:g} % below baseline"
    remission_rule = (
        f"{instrument.short_name} total ≤ {outcomes.remission_max}"
        if outcomes.remission_max is not None
        else ""
    )
    return drop, outcomes.remission_max, response_rule, remission_rule, outcomes.source


@dataclass(frozen=True)
class _Series:
    """One instrument's scores of the started patients (in no particular order), and each
    patient's baseline (if any)."""

    patient: Ints  # per score, the patient's row in ``started``
    t: Floats
    total: Ints
    started: int
    first_dose: Floats  # per started patient
    last_induction: Floats
    completed: Bools
    baseline_total: Ints  # per started patient; -1 without a baseline
    baseline_t: Floats  # NaN without a baseline


def _series(patients: pd.DataFrame, scores: pd.DataFrame, instrument_id: str) -> _Series:
    first_nanos, no_dose = _nanos(_column(patients, "first_dose_at"))
    keep = ~no_dose
    ids = _column(patients, "patient_id").to_numpy()[keep]
    first_dose_ns = first_nanos[keep]
    first_dose = _to_days(first_dose_ns, no_dose[keep])
    last_induction = _days(_column(patients, "last_induction_dose_at"))[keep]
    completed = _flag(patients, "completed_induction")[keep]

    chosen = scores.loc[_column(scores, "instrument_id").to_numpy() == instrument_id]
    row = pd.Index(ids).get_indexer(_column(chosen, "patient_id").to_numpy())
    known = row >= 0
    patient = np.asarray(row[known], dtype=np.int64)
    t_nanos, t_missing = _nanos(_column(chosen, "completed_at"))
    t_ns, t = t_nanos[known], _to_days(t_nanos, t_missing)[known]
    total = np.asarray(
        pd.to_numeric(_column(chosen, "total"), errors="coerce").to_numpy(dtype=float)[known]
    )
    valid = ~np.isnan(t) & ~np.isnan(total)
    patient, t, t_ns, totals = patient[valid], t[valid], t_ns[valid], total[valid].astype(np.int64)

    # The baseline is trajectory's (the measures page's): the same window test, on exact
    # nanoseconds so that a score exactly at either end counts as it does there.
    lookback_ns = (baseline_rule().lookback // timedelta(microseconds=1)) * 1000
    before = in_baseline_window(t_ns, first_dose_ns[patient], lookback_ns)
    last = _each(patient, t, np.flatnonzero(before), last=True)
    baseline_total = np.full(len(ids), -1, dtype=np.int64)
    baseline_t = np.full(len(ids), np.nan)
    baseline_total[patient[last]] = totals[last]
    baseline_t[patient[last]] = t[last]
    return _Series(
        patient,
        t,
        totals,
        len(ids),
        first_dose,
        last_induction,
        completed,
        baseline_total,
        baseline_t,
    )


def _order(patient: Ints, t: Floats) -> Ints:
    """The order sorting by patient, then time (two stable argsorts: much faster than
    ``np.lexsort`` on millions of rows)."""
    by_time = np.argsort(t, kind="stable")
    return np.asarray(by_time[np.argsort(patient[by_time], kind="stable")], dtype=np.int64)


def _each(patient: Ints, t: Floats, positions: Ints, last: bool) -> Ints:
    """Of the given positions, each patient's first (or last) by time."""
    ordered = positions[_order(patient[positions], t[positions])]
    keys = patient[ordered]
    return ordered[_lasts(keys) if last else _firsts(keys)]


def _after_baseline(s: _Series) -> Ints:
    """Positions of the scores taken after their patient's baseline (trajectory's 'after')."""
    return np.asarray(np.flatnonzero(s.t > s.baseline_t[s.patient]), dtype=np.int64)


NO_BASELINE = "no_baseline"


def _no_baseline(s: _Series, among: Bools) -> Exclusion:
    lookback = baseline_rule().lookback_days
    return Exclusion(
        NO_BASELINE,
        f"no score on or before the first dose (within {lookback} days before it)",
        int(np.count_nonzero(among & (s.baseline_total < 0))),
    )


# ---------------------------------------------------------------------------------------------
# The statistics


FLOW_STEPS = (
    ("screened", "Screened", "every registered patient of the cohort"),
    ("evaluated", "Evaluated", "a signed pre-treatment evaluation"),
    ("eligible", "Eligible", "some route not blocked, or a blocked one overridden"),
    ("started", "Started", "at least one dose given"),
    ("completed_induction", "Completed induction", "every induction session of the plan done"),
    ("follow_up", "With follow-up data", "a score after the induction's last dose"),
)


def flow(
    patients: pd.DataFrame, scores: pd.DataFrame | None = None, instrument_id: str = "phq9"
) -> list[FlowStep]:
    """The patient flow screened -> evaluated -> eligible -> started -> completed induction ->
    with follow-up data (a score of ``instrument_id`` after the induction's last dose), each
    step counting the patients who passed it and every earlier one, with the share of the
    previous step and how many dropped out, so that selection bias is visible. Without
    ``scores`` the follow-up step counts 0."""
    passed = np.ones(len(patients), dtype=bool)
    masks = [passed]
    for column in ("evaluated", "eligible", "started", "completed_induction"):
        passed = passed & _flag(patients, column)
        masks.append(passed)
    followed = np.zeros(len(patients), dtype=bool)
    if scores is not None and len(patients):
        last = pd.Series(
            _days(_column(patients, "last_induction_dose_at")),
            index=_column(patients, "patient_id").to_numpy(),
        )
        chosen = scores.loc[_column(scores, "instrument_id").to_numpy() == instrument_id]
        after = _days(_column(chosen, "completed_at")) > last.reindex(
            _column(chosen, "patient_id").to_numpy()
        ).to_numpy(dtype=float)
        with_follow_up = pd.Index(_column(chosen, "patient_id").to_numpy()[after]).unique()
        followed = np.asarray(
            pd.Index(_column(patients, "patient_id").to_numpy()).isin(with_follow_up), dtype=bool
        )
    masks.append(passed & followed)

    steps: list[FlowStep] = []
    previous: int | None = None
    for (step_id, label, rule), mask in zip(FLOW_STEPS, masks, strict=True):
        count = int(np.count_nonzero(mask))
        named = get_instrument(instrument_id).short_name
        rule_text = f"{rule} ({named})" if step_id == "follow_up" else rule
        steps.append(
            FlowStep(
                step_id,
                label,
                rule_text,
                count,
                None if previous is None else previous - count,
                None if previous is None else (count / previous if previous else None),
            )
        )
        previous = count
    return steps


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
    config = settings()
    low, high = window or config.outcome_window_days
    drop, remission_max, response_rule, remission_rule, source = _outcome_rules(instrument_id)
    s = _series(patients, scores, instrument_id)
    in_population = ~np.isnan(s.last_induction)
    if completed_only:
        in_population &= s.completed
    has_baseline = s.baseline_total >= 0

    elapsed = s.t - s.last_induction[s.patient]
    whole = np.floor(elapsed)
    in_window = (elapsed > 0) & (whole >= low) & (whole <= high) & in_population[s.patient]
    positions = np.flatnonzero(in_window)
    outcome = _each(s.patient, s.t, positions, last=True)
    outcome_total = np.full(s.started, -1, dtype=np.int64)
    outcome_total[s.patient[outcome]] = s.total[outcome]

    analysed = in_population & has_baseline & (outcome_total >= 0)
    base, final = s.baseline_total[analysed], outcome_total[analysed]
    n = int(np.count_nonzero(analysed))
    responders = int(np.count_nonzero(_responds(base, final, drop)))
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
    drop, _, response_rule, _, source = _outcome_rules(instrument_id)
    s = _series(patients, scores, instrument_id)
    after = _after_baseline(s)
    met = _responds(s.baseline_total[s.patient[after]], s.total[after], drop)
    hits = after[np.flatnonzero(met)]
    first = _each(s.patient, s.t, hits, last=False)
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
    config = settings()
    policy = relapse_policy()
    drop, _, response_rule, _, _ = _outcome_rules(instrument_id)
    s = _series(patients, scores, instrument_id)
    after = _after_baseline(s)
    met = _responds(s.baseline_total[s.patient[after]], s.total[after], drop)
    # Only the responders' scores matter; they are put in order by patient and time.
    responder = np.zeros(s.started, dtype=bool)
    responder[s.patient[after[met]]] = True
    rows = after[responder[s.patient[after]]]
    rows = rows[_order(s.patient[rows], s.t[rows])]
    patient, t = s.patient[rows], s.t[rows]
    met = _responds(s.baseline_total[patient], s.total[rows], drop)

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
    relapse_rows = relapse_rows[_firsts(patient[relapse_rows])]
    response_rows = np.flatnonzero(met)
    response_rows = response_rows[_firsts(patient[response_rows])]
    last_rows = _lasts(patient)

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
    checkpoints = tuple(config.at_risk_days if at_risk_days is None else at_risk_days)
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
            confidence_level=config.confidence_level,
            rule=rule,
            source=policy.source,
        )
    fitter = KaplanMeierFitter(alpha=1 - config.confidence_level).fit(durations, observed)
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
        confidence_level=config.confidence_level,
        rule=rule,
        source=policy.source,
    )


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def _ordered_sessions(sessions: pd.DataFrame) -> tuple[Ints, Floats, Bools, Ints]:
    """Sessions sorted by patient and dose time: patient codes, dose_mg, whether the previous
    row is the same patient on the same protocol, and the sort order."""
    codes, _ = pd.factorize(_column(sessions, "patient_id"))
    codes = np.asarray(codes, dtype=np.int64)
    order = _order(codes, _days(_column(sessions, "dose_started_at")))
    patient = codes[order]
    protocol = np.asarray(pd.factorize(_column(sessions, "protocol_id"))[0])[order]
    dose = pd.to_numeric(_column(sessions, "dose_mg"), errors="coerce").to_numpy(dtype=float)
    dose = dose[order]
    same = np.zeros(len(order), dtype=bool)
    if len(order) > 1:
        same[1:] = (patient[1:] == patient[:-1]) & (protocol[1:] == protocol[:-1])
    return patient, dose, same, np.asarray(order, dtype=np.int64)


def _dose_steps(dose: Floats, same: Bools) -> tuple[Bools, Bools]:
    up = np.zeros(len(dose), dtype=bool)
    down = np.zeros(len(dose), dtype=bool)
    if len(dose) > 1:
        previous = dose[:-1]
        up[1:] = same[1:] & (dose[1:] > previous)
        down[1:] = same[1:] & (dose[1:] < previous)  # NaN compares False: no change counted
    return up, down


def safety(sessions: pd.DataFrame, adverse_events: pd.DataFrame) -> Safety:
    """Safety over the dosed sessions: adverse events per 100 sessions, overall and by kind
    (and the severe ones); severe-hypertension alerts per session and per patient and gate
    overrides per session, with Wilson intervals; and the patients' dose_mg paths (rose, fell,
    stayed, mixed, a single session; changes counted between consecutive sessions of the same
    protocol, since mg are not comparable across routes)."""
    n_sessions = len(sessions)
    codes, _ = pd.factorize(_column(sessions, "patient_id"))
    n_patients = int(codes.max()) + 1 if len(codes) else 0

    kind = _column(adverse_events, "kind").fillna("other").astype(str)
    severe = _column(adverse_events, "severity").eq(SEVERE).to_numpy()

    def per_100(count: int) -> float | None:
        return 100 * count / n_sessions if n_sessions else None

    def rate(kind_id: str, events: int, severe_events: int) -> EventRate:
        return EventRate(kind_id, events, per_100(events), severe_events, per_100(severe_events))

    counts = kind.value_counts()
    severe_counts = kind[severe].value_counts()
    by_kind = tuple(
        rate(str(k), int(counts[k]), int(severe_counts.get(k, 0)))
        for k in sorted(counts.index, key=lambda k: (-int(counts[k]), str(k)))
    )

    alerted = _flag(sessions, "severe_hypertension")
    alerted_patients = np.zeros(n_patients, dtype=bool)
    alerted_patients[codes[alerted]] = True

    patient, dose, same, _ = _ordered_sessions(sessions)
    up, down = _dose_steps(dose, same)
    per_patient = np.bincount(patient, minlength=n_patients)
    ups = np.bincount(patient, weights=up, minlength=n_patients) > 0
    downs = np.bincount(patient, weights=down, minlength=n_patients) > 0
    several = per_patient > 1
    titration = Titration(
        patients=n_patients,
        rose=int(np.count_nonzero(several & ups & ~downs)),
        fell=int(np.count_nonzero(several & downs & ~ups)),
        stayed=int(np.count_nonzero(several & ~ups & ~downs)),
        mixed=int(np.count_nonzero(several & ups & downs)),
        single_session=int(np.count_nonzero(~several)),
    )
    return Safety(
        sessions=n_sessions,
        patients=n_patients,
        all_events=rate("all", len(kind), int(np.count_nonzero(severe))),
        by_kind=by_kind,
        severe_hypertension_sessions=proportion(int(np.count_nonzero(alerted)), n_sessions),
        severe_hypertension_patients=proportion(
            int(np.count_nonzero(alerted_patients)), n_patients
        ),
        gate_overrides=proportion(
            int(np.count_nonzero(_flag(sessions, "gate_overridden"))), n_sessions
        ),
        titration=titration,
    )


def _min_interval_days(protocol_id: str) -> float:
    try:
        return float(get_protocol(protocol_id).raw["induction"]["min_interval_days"])
    except (LookupError, TypeError):
        return np.nan  # an unknown protocol has no interval to break


@dataclass(frozen=True)
class _ScreenCutoff:
    instrument_id: str
    short_name: str
    total_min: int
    total_min_female: int | None
    source: str


def _screen_cutoffs() -> tuple[list[_ScreenCutoff], str]:
    """The substance-use screens of cohort.toml with each one's positive cut-off, read from
    the instrument's own flag so that the registry and the scored response agree."""
    data = load("cohort", package="ketacare.clinical.outcomes")
    flag_id = str(data["misuse_screen_flag"])
    cutoffs = []
    for instrument_id in data["misuse_screen_instruments"]:
        instrument = get_instrument(str(instrument_id))
        flag = next((f for f in instrument.flags if f.id == flag_id), None)
        if flag is None or flag.total_min is None:
            raise ValueError(f"{instrument.id} has no {flag_id!r} flag on its total")
        cutoffs.append(
            _ScreenCutoff(
                instrument.id,
                instrument.short_name,
                flag.total_min,
                flag.total_min_female,
                flag.source,
            )
        )
    return cutoffs, str(data["misuse_screen_source"])


def _screens_after_start(
    patients: pd.DataFrame, scores: pd.DataFrame, cutoffs: Sequence[_ScreenCutoff]
) -> tuple[Bools, Bools, int]:
    """Of ``cutoffs``' screens completed after the patient's first dose: per patient (a row
    of ``patients``; a repeated id counts at its first row) whether they had one and whether
    one was positive, and how many were. A woman's AUDIT-C takes the female cut-off, every
    other sex the general one, as ``instruments.scoring`` does (the dataset keeps totals, not
    the flags scored then)."""
    all_ids = pd.Index(_column(patients, "patient_id").to_numpy())
    once = ~all_ids.duplicated()
    ids = all_ids[once]
    first_dose = _days(_column(patients, "first_dose_at"))[once]
    female = np.asarray(_column(patients, "sex").eq("female").to_numpy(), dtype=bool)[once]

    # One comparison per screening instrument over the ids: with millions of scores every
    # pass over the string objects costs, and a hashed lookup (isin, get_indexer) costs more.
    instrument = _column(scores, "instrument_id").to_numpy(dtype=object)
    which = np.full(len(instrument), -1, dtype=np.int64)
    for i, cutoff in enumerate(cutoffs):
        which[instrument == cutoff.instrument_id] = i
    chosen = which >= 0
    which = which[chosen]
    row = ids.get_indexer(_column(scores, "patient_id").to_numpy()[chosen])
    t = _days(_column(scores, "completed_at")[chosen])
    total = pd.to_numeric(_column(scores, "total")[chosen], errors="coerce").to_numpy(dtype=float)
    after = row >= 0
    # A NaN on either side (no first dose, no time) compares False: never after the start.
    after[after] = t[after] > first_dose[row[after]]
    after &= ~np.isnan(total)
    row, which, total = row[after], which[after], total[after]

    general = np.array([c.total_min for c in cutoffs], dtype=np.float64)
    for_women = np.array(
        [c.total_min if c.total_min_female is None else c.total_min_female for c in cutoffs],
        dtype=np.float64,
    )
    positive = total >= np.where(female[row], for_women[which], general[which])
    screened = np.zeros(len(ids), dtype=bool)
    screened[row] = True
    flagged = np.zeros(len(ids), dtype=bool)
    flagged[row[positive]] = True
    return screened, flagged, int(np.count_nonzero(positive))


def misuse_signals(
    patients: pd.DataFrame, sessions: pd.DataFrame, scores: pd.DataFrame
) -> MisuseSignals:
    """Possible misuse signals among the started patients:

    - ``escalating_doses``: a dose_mg higher than the previous session's twice in a row
      (same protocol);
    - ``early_requests``: a session dated fewer days after the patient's previous one than the
      session's protocol allows (``min_interval_days`` of its ``[induction]``), applied to
      every session;
    - ``positive_screens_after_start``: a substance-use questionnaire of cohort.toml's
      ``misuse_screen_instruments`` (AUDIT-C, DAST-10) completed after the first dose with a
      total at or above its instrument's positive cut-off (AUDIT-C's by the patient's sex).
      These are self-report questionnaire screens, not urine drug screens. ``screened`` says
      how many started patients had such a questionnaire after the first dose at all."""
    started = _flag(patients, "started")
    started_ids = pd.Index(_column(patients, "patient_id").to_numpy()[started])
    n = len(started_ids.unique())
    cohort = np.asarray(
        pd.Index(_column(sessions, "patient_id").to_numpy()).isin(started_ids), dtype=bool
    )
    sessions = sessions.loc[cohort]
    patient, dose, same, order = _ordered_sessions(sessions)
    up, _ = _dose_steps(dose, same)
    escalation = np.zeros(len(up), dtype=bool)
    if len(up) > 1:
        escalation[1:] = up[1:] & up[:-1]  # up[i-1] already means row i-2 is the same patient

    day = _days(_column(sessions, "date"))
    # Without a session date, the UTC day of the dose stands in for it.
    day = np.where(np.isnan(day), np.floor(_days(_column(sessions, "dose_started_at"))), day)
    day = day[order]
    protocol_codes, protocol_ids = pd.factorize(_column(sessions, "protocol_id"))
    minimum = {str(p): _min_interval_days(str(p)) for p in protocol_ids}
    # A session without a protocol (code -1) takes the appended NaN: no interval to break.
    intervals_by_code = np.array([*(minimum[str(p)] for p in protocol_ids), np.nan])
    allowed = intervals_by_code[np.asarray(protocol_codes)[order]]
    early = np.zeros(len(day), dtype=bool)
    if len(day) > 1:
        repeat = patient[1:] == patient[:-1]
        early[1:] = repeat & (np.floor(day[1:] - day[:-1]) < allowed[1:])

    def signal(signal_id: str, rows: Bools, rule: str, source: str) -> Signal:
        flagged = len(np.unique(patient[rows]))
        return Signal(signal_id, proportion(flagged, n), int(np.count_nonzero(rows)), rule, source)

    cutoffs, screens_source = _screen_cutoffs()
    screened, flagged, positive_screens = _screens_after_start(
        patients.loc[started], scores, cutoffs
    )
    cut_offs = ", ".join(
        f"{c.short_name} >= {c.total_min}"
        + (f" (women >= {c.total_min_female})" if c.total_min_female is not None else "")
        for c in cutoffs
    )
    screens_signal = Signal(
        "positive_screens_after_start",
        proportion(int(np.count_nonzero(flagged)), n),
        positive_screens,
        f"a positive substance-use questionnaire after the first dose ({cut_offs}); "
        "self-report questionnaire screens, not urine drug screens",
        "; ".join([screens_source, *(f"{c.short_name}: {c.source}" for c in cutoffs)]),
        screened=proportion(int(np.count_nonzero(screened)), n),
    )

    intervals = ", ".join(
        f"{get_protocol(p).name} {minimum[p]:g} days"
        for p in sorted(minimum)
        if np.isfinite(minimum[p])
    )
    return MisuseSignals(
        patients=n,
        escalating_doses=signal(
            "escalating_doses",
            escalation,
            "a dose higher than the previous session's at two consecutive sessions (same protocol)",
            "ketacare registry signal (clinic review prompt, not a diagnosis)",
        ),
        early_requests=signal(
            "early_requests",
            early,
            "a session sooner after the previous one than the protocol's minimum interval "
            f"({intervals or 'none'})",
            "the protocol's induction data: its minimum interval between sessions",
        ),
        positive_screens_after_start=screens_signal,
    )
