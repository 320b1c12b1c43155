"""The model's features and labels per started patient, and the model matrix: numbers with
NaN for missing, then one-hot category levels (see the package docstring for each feature)."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ketacare.clinical.outcomes.cohort import config as cohort_config
from ketacare.clinical.outcomes.cohort.columns import (
    Bools,
    Floats,
    Ints,
    column_of,
    each_patient,
    epoch_days,
)
from ketacare.clinical.outcomes.cohort.scores import (
    ScoreSeries,
    outcome_rules,
    responds,
    score_series,
)
from ketacare.clinical.outcomes.prediction.config import Settings

NUMERIC = ("baseline_phq9", "age_years", "adequate_trials", "early_change_percent")
CATEGORICAL = ("indication", "route")
FEATURES = NUMERIC + CATEGORICAL
NOT_RECORDED = "(not recorded)"
MISSING_RULE = (
    "a missing number: the training median plus a '<feature> missing' indicator; a missing "
    f"category: its own level '{NOT_RECORDED}'; a level not seen in training: no level "
    "(reported as missing); no baseline: no prediction"
)
Objects = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Features:
    """Per started patient (in ``cohort.scores.score_series`` order)."""

    ids: Objects
    numbers: Floats  # started x len(NUMERIC), NaN when missing
    categories: tuple[Objects, ...]  # per CATEGORICAL, NOT_RECORDED when missing
    completed: Bools
    label: Ints  # 1 responded, 0 did not, -1 not labelled (training population only)


def patient_features(patients: pd.DataFrame, scores: pd.DataFrame, config: Settings) -> Features:
    """The features and labels of every started patient."""
    s = score_series(patients, scores, config.instrument_id)
    # score_series keeps the patients with a first dose, in frame order; so does this.
    started = np.flatnonzero(~np.isnan(epoch_days(column_of(patients, "first_dose_at"))))
    rows = patients.iloc[started]
    baseline = np.where(s.baseline_total >= 0, s.baseline_total, np.nan).astype(float)

    def number(name: str) -> Floats:
        values = pd.to_numeric(column_of(rows, name), errors="coerce")
        return np.asarray(values.to_numpy(dtype=float, na_value=np.nan), dtype=np.float64)

    numbers = np.column_stack(
        [baseline, number("age_years"), number("adequate_trials"), _early_change(s, config)]
    )
    categories = tuple(_category(column_of(rows, name)) for name in CATEGORICAL)
    return Features(
        ids=column_of(rows, "patient_id").to_numpy(),
        numbers=numbers,
        categories=categories,
        completed=s.completed,
        label=_labels(s, config),
    )


def _category(values: pd.Series) -> Objects:
    missing = pd.isna(values).to_numpy()
    text = np.asarray(values.astype(object).astype(str).to_numpy(), dtype=object)
    text[missing] = NOT_RECORDED
    return text


def _early_change(s: ScoreSeries, config: Settings) -> Floats:
    """Percent change from the baseline to the early score (NaN without either)."""
    patient = s.patient
    during = ~s.completed[patient] | (s.t < s.last_induction[patient])
    early = (
        (s.t >= s.first_dose[patient] + config.early_change_min_days)
        & (s.t > s.baseline_t[patient])
        & during
    )
    first = each_patient(patient, s.t, np.flatnonzero(early), last=False)
    change = np.full(s.started, np.nan)
    base = s.baseline_total[patient[first]].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        change[patient[first]] = np.where(base > 0, 100 * (s.total[first] - base) / base, np.nan)
    return change


def _labels(s: ScoreSeries, config: Settings) -> Ints:
    """cohort.response_remission's outcome (completed_only=True), per started patient."""
    low, high = cohort_config.settings().outcome_window_days
    drop = outcome_rules(config.instrument_id)[0]
    population = ~np.isnan(s.last_induction) & s.completed & (s.baseline_total >= 0)
    elapsed = s.t - s.last_induction[s.patient]
    whole = np.floor(elapsed)
    in_window = (elapsed > 0) & (whole >= low) & (whole <= high) & population[s.patient]
    outcome = each_patient(s.patient, s.t, np.flatnonzero(in_window), last=True)
    label = np.full(s.started, -1, dtype=np.int64)
    who = s.patient[outcome]
    label[who] = responds(s.baseline_total[who], s.total[outcome], drop).astype(np.int64)
    return label


def levels_seen(f: Features, rows: Ints) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per category feature, the levels among ``rows`` (the training patients)."""
    return tuple(
        (name, tuple(sorted({str(v) for v in values[rows]})))
        for name, values in zip(CATEGORICAL, f.categories, strict=True)
    )


def encode(
    f: Features, levels: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[Floats, tuple[str, ...]]:
    """The model matrix (numbers with NaN for missing, then one-hot levels) and its column
    names."""
    blocks = [f.numbers]
    names = list(NUMERIC)
    for (name, known), values in zip(levels, f.categories, strict=True):
        blocks.append(np.column_stack([values == level for level in known]).astype(float))
        names.extend(f"{name}={level}" for level in known)
    return np.asarray(np.column_stack(blocks), dtype=np.float64), tuple(names)


def degrees_of_freedom(
    f: Features, rows: Ints, levels: tuple[tuple[str, tuple[str, ...]], ...]
) -> int:
    """The model's degrees of freedom for the events-per-variable rule: one per number that
    varies and one per missing-value indicator, levels - 1 per category."""
    dof = 0
    for j in range(len(NUMERIC)):
        values = f.numbers[rows, j]
        missing = np.isnan(values)
        dof += int(len(np.unique(values[~missing])) > 1)
        dof += int(0 < np.count_nonzero(missing) < len(values))
    return dof + sum(max(len(known) - 1, 0) for _, known in levels)
