"""One instrument's scores of the started patients with each patient's baseline
(``ScoreSeries``), and the instrument's response and remission rules applied to whole
columns, exactly as ``trajectory`` applies them to one patient."""

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

import numpy as np
import pandas as pd

from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.outcomes.cohort.columns import (
    Bools,
    Floats,
    Ints,
    column_of,
    each_patient,
    epoch_days,
    epoch_nanos,
    flag_of,
    nanos_to_days,
)
from ketacare.clinical.outcomes.trajectory import baseline_rule, in_baseline_window


def outcome_rules(instrument_id: str) -> tuple[float, int | None, str, str, str]:
    """The instrument's response drop (percent), remission maximum, the two rules in words,
    and their source."""
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
class ScoreSeries:
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


def score_series(patients: pd.DataFrame, scores: pd.DataFrame, instrument_id: str) -> ScoreSeries:
    """The scores of ``instrument_id`` of the patients with a first dose (in frame order),
    with each one's baseline as ``trajectory`` defines it."""
    first_nanos, no_dose = epoch_nanos(column_of(patients, "first_dose_at"))
    keep = ~no_dose
    ids = column_of(patients, "patient_id").to_numpy()[keep]
    first_dose_ns = first_nanos[keep]
    first_dose = nanos_to_days(first_dose_ns, no_dose[keep])
    last_induction = epoch_days(column_of(patients, "last_induction_dose_at"))[keep]
    completed = flag_of(patients, "completed_induction")[keep]

    chosen = scores.loc[column_of(scores, "instrument_id").to_numpy() == instrument_id]
    row = pd.Index(ids).get_indexer(column_of(chosen, "patient_id").to_numpy())
    known = row >= 0
    patient = np.asarray(row[known], dtype=np.int64)
    t_nanos, t_missing = epoch_nanos(column_of(chosen, "completed_at"))
    t_ns, t = t_nanos[known], nanos_to_days(t_nanos, t_missing)[known]
    total = np.asarray(
        pd.to_numeric(column_of(chosen, "total"), errors="coerce").to_numpy(dtype=float)[known]
    )
    valid = ~np.isnan(t) & ~np.isnan(total)
    patient, t, t_ns, totals = patient[valid], t[valid], t_ns[valid], total[valid].astype(np.int64)

    # The baseline is trajectory's (the measures page's): the same window test, on exact
    # nanoseconds so that a score exactly at either end counts as it does there.
    lookback_ns = (baseline_rule().lookback // timedelta(microseconds=1)) * 1000
    before = in_baseline_window(t_ns, first_dose_ns[patient], lookback_ns)
    last = each_patient(patient, t, np.flatnonzero(before), last=True)
    baseline_total = np.full(len(ids), -1, dtype=np.int64)
    baseline_t = np.full(len(ids), np.nan)
    baseline_total[patient[last]] = totals[last]
    baseline_t[patient[last]] = t[last]
    return ScoreSeries(
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


def responds(baseline: Ints, total: Ints, drop_percent: float) -> Bools:
    """Whether each ``total`` meets the response rule against its ``baseline``."""
    # The same exact arithmetic as trajectory._responded, on integer arrays: a 50 % drop
    # from 15 is 7.5, so 7 counts and 8 does not; no response is possible from a 0 baseline.
    drop = Fraction(str(drop_percent))
    met = (baseline - total) * 100 * drop.denominator >= drop.numerator * baseline
    return np.asarray(met & (baseline > 0), dtype=bool)


def after_baseline(s: ScoreSeries) -> Ints:
    """Positions of the scores taken after their patient's baseline (trajectory's 'after')."""
    return np.asarray(np.flatnonzero(s.t > s.baseline_t[s.patient]), dtype=np.int64)
