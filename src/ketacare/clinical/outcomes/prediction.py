"""EXPERIMENTAL response prediction: decision support, never a decision.

A logistic regression (standardised features, L2 penalty) trained on the clinic's own registry
tables (``ketacare.registry.dataset``) estimates, for a patient still in induction, the
probability of responding after the induction. Every result carries ``LABEL``.

Who trains the model: patients who completed the induction, with a baseline and an outcome
score. The label is ``cohort.response_remission``'s rule with ``completed_only=True``: the
instrument's response rule comparing the last score 14-31 whole days after the induction's
last dose with the baseline (the last score on or before the first dose, within
``baseline_lookback_days``). Training on completers only keeps "no early score" from meaning
"dropped out": the probability is that of responding *if the induction is completed*.

Features per patient (``FEATURES``):

- ``baseline_phq9``: the baseline total;
- ``age_years``, ``adequate_trials``: as the dataset holds them;
- ``early_change_percent``: 100 * (early - baseline) / baseline, negative is improvement, where
  the early score is the first one at least ``early_change_min_days`` after the first dose
  (and, for a patient who completed the induction, before its last dose; a patient still in
  induction has had no last dose yet, so every later score counts);
- ``indication``, ``route``: one-hot over the levels seen in training.

Missing values are kept and marked, not dropped: a missing number is replaced by the training
median and a "<feature> missing" indicator column is added (for each number missing in some
training patient); a missing category is its own level, "(not recorded)". A category level not
seen in training is encoded as no level and reported as missing. A patient without a baseline
gets no probability: response is defined against the baseline.

Validation (``train``): stratified k-fold cross-validation; the AUC (pooled over the
out-of-fold predictions, and per fold) and the calibration table come from out-of-fold
predictions only, each fold fitting its own medians and scaling. The whole model is also
refitted on bootstrap samples of the patients: the AUC interval is the percentile spread of
each refit's AUC on the patients it did not draw (out of bag), and the interval of each
prediction (``predict``) is the percentile spread of the refits' probabilities. Numbers are in
``outcomes/data/prediction.toml``; every interval is at cohort.toml's confidence level. Same
data and seed, same model.
"""

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ketacare.clinical.datafiles import load
from ketacare.clinical.outcomes.cohort import (
    Bools,
    Floats,
    Ints,
    Proportion,
    _column,
    _days,
    _each,
    _outcome_rules,
    _responds,
    _Series,
    _series,
    proportion,
)
from ketacare.clinical.outcomes.cohort import settings as cohort_settings

LABEL = (
    "Experimental: a model trained on this clinic's own patients; not validated elsewhere; "
    "it does not decide treatment."
)
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


# ---------------------------------------------------------------------------------------------
# Settings and result types


@dataclass(frozen=True)
class Settings:
    """The numbers of ``outcomes/data/prediction.toml``."""

    instrument_id: str
    early_change_min_days: float
    min_labelled_patients: int
    events_per_feature: int
    l2_c: float
    cv_folds: int
    calibration_bins: int
    bootstrap_refits: int
    seed: int
    version: str
    source: str
    minimum_source: str
    """Where the minimum-data numbers come from (shown when the model is withheld)."""


@cache
def settings() -> Settings:
    """The prediction settings from ``outcomes/data/prediction.toml``."""
    data = load("prediction", package="ketacare.clinical.outcomes")
    config = Settings(
        instrument_id=str(data["instrument_id"]),
        early_change_min_days=float(data["early_change_min_days"]),
        min_labelled_patients=int(data["min_labelled_patients"]),
        events_per_feature=int(data["events_per_feature"]),
        l2_c=float(data["l2_c"]),
        cv_folds=int(data["cv_folds"]),
        calibration_bins=int(data["calibration_bins"]),
        bootstrap_refits=int(data["bootstrap_refits"]),
        seed=int(data["seed"]),
        version=str(data["version"]),
        source=str(data["source"]),
        minimum_source=(f"{data['min_labelled_source']}; {data['events_per_feature_source']}"),
    )
    if config.early_change_min_days <= 0:
        raise ValueError("early_change_min_days must be positive (the baseline is not early)")
    if config.cv_folds < 2 or config.calibration_bins < 1 or config.bootstrap_refits < 20:
        raise ValueError(
            "prediction.toml needs cv_folds >= 2, calibration_bins >= 1, bootstrap_refits >= 20"
        )
    return config


@dataclass(frozen=True)
class Coefficient:
    """One model column: log-odds per standard deviation of the (standardised) column, and
    the odds ratio per standard deviation."""

    feature: str
    coefficient: float
    odds_ratio: float


@dataclass(frozen=True)
class CalibrationBin:
    """Out-of-fold predictions in ``[lower, upper)`` (the last bin includes 1): their mean and
    the observed response rate with its Wilson interval (``observed.n`` patients)."""

    lower: float
    upper: float
    mean_predicted: float | None
    observed: Proportion


@dataclass(frozen=True)
class Withheld:
    """No model: too little data. ``reason`` says which minimum was not met."""

    reason: str
    labelled: int
    responders: int
    non_responders: int
    minimum_labelled: int
    minimum_per_class: int | None
    """None when the labelled patients are too few to count the model's features."""
    source: str
    label: str = LABEL


@dataclass(frozen=True)
class Model:
    """A fitted, cross-validated model. ``auc`` (pooled) and ``fold_aucs``, and
    ``calibration``, are out-of-fold; ``auc_ci_lower``/``auc_ci_upper`` the percentile spread
    of the bootstrap refits' out-of-bag AUCs; ``coefficients`` are the final fit's on all
    ``labelled`` patients (log-odds per standard deviation, comparable across columns).
    ``pipeline`` and ``refits`` are the fitted scikit-learn pipelines (the final one and the
    bootstrap refits; not compared, not shown)."""

    instrument_id: str
    labelled: int
    responders: int
    degrees_of_freedom: int
    columns: tuple[str, ...]
    levels: tuple[tuple[str, tuple[str, ...]], ...]
    """Per category feature, the levels seen in training (its one-hot columns)."""
    intercept: float
    coefficients: tuple[Coefficient, ...]
    auc: float
    auc_ci_lower: float
    auc_ci_upper: float
    fold_aucs: tuple[float, ...]
    calibration: tuple[CalibrationBin, ...]
    confidence_level: float
    seed: int
    response_rule: str
    early_change_rule: str
    missing_rule: str
    version: str
    source: str
    label: str = LABEL
    pipeline: Any = field(default=None, repr=False, compare=False)
    refits: tuple[Any, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class Prediction:
    """One patient in induction: the probability of responding after the induction (if it is
    completed) and its bootstrap interval; None, with ``withheld`` saying why, when no
    prediction can be made. ``missing`` names the features the model had to fill in."""

    patient_id: int
    probability: float | None
    ci_lower: float | None
    ci_upper: float | None
    missing: tuple[str, ...]
    baseline: int | None
    early_change_percent: float | None
    withheld: str | None = None
    label: str = LABEL


# ---------------------------------------------------------------------------------------------
# Features and labels


@dataclass(frozen=True)
class _Features:
    """Per started patient (in ``cohort._series`` order)."""

    ids: Objects
    numbers: Floats  # started x len(NUMERIC), NaN when missing
    categories: tuple[Objects, ...]  # per CATEGORICAL, NOT_RECORDED when missing
    completed: Bools
    label: Ints  # 1 responded, 0 did not, -1 not labelled (training population only)


def _features(patients: pd.DataFrame, scores: pd.DataFrame, config: Settings) -> _Features:
    s = _series(patients, scores, config.instrument_id)
    # _series keeps the patients with a first dose, in frame order; so does this.
    started = np.flatnonzero(~np.isnan(_days(_column(patients, "first_dose_at"))))
    rows = patients.iloc[started]
    baseline = np.where(s.baseline_total >= 0, s.baseline_total, np.nan).astype(float)

    def number(name: str) -> Floats:
        values = pd.to_numeric(_column(rows, name), errors="coerce")
        return np.asarray(values.to_numpy(dtype=float, na_value=np.nan), dtype=np.float64)

    numbers = np.column_stack(
        [baseline, number("age_years"), number("adequate_trials"), _early_change(s, config)]
    )
    categories = tuple(_category(_column(rows, name)) for name in CATEGORICAL)
    return _Features(
        ids=_column(rows, "patient_id").to_numpy(),
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


def _early_change(s: _Series, config: Settings) -> Floats:
    """Percent change from the baseline to the early score (NaN without either)."""
    patient = s.patient
    during = ~s.completed[patient] | (s.t < s.last_induction[patient])
    early = (
        (s.t >= s.first_dose[patient] + config.early_change_min_days)
        & (s.t > s.baseline_t[patient])
        & during
    )
    first = _each(patient, s.t, np.flatnonzero(early), last=False)
    change = np.full(s.started, np.nan)
    base = s.baseline_total[patient[first]].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        change[patient[first]] = np.where(base > 0, 100 * (s.total[first] - base) / base, np.nan)
    return change


def _labels(s: _Series, config: Settings) -> Ints:
    """cohort.response_remission's outcome (completed_only=True), per started patient."""
    low, high = cohort_settings().outcome_window_days
    drop = _outcome_rules(config.instrument_id)[0]
    population = ~np.isnan(s.last_induction) & s.completed & (s.baseline_total >= 0)
    elapsed = s.t - s.last_induction[s.patient]
    whole = np.floor(elapsed)
    in_window = (elapsed > 0) & (whole >= low) & (whole <= high) & population[s.patient]
    outcome = _each(s.patient, s.t, np.flatnonzero(in_window), last=True)
    label = np.full(s.started, -1, dtype=np.int64)
    who = s.patient[outcome]
    label[who] = _responds(s.baseline_total[who], s.total[outcome], drop).astype(np.int64)
    return label


def _levels(f: _Features, rows: Ints) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (name, tuple(sorted({str(v) for v in values[rows]})))
        for name, values in zip(CATEGORICAL, f.categories, strict=True)
    )


def _encode(
    f: _Features, levels: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[Floats, tuple[str, ...]]:
    """The model matrix (numbers with NaN for missing, then one-hot levels) and its column
    names."""
    blocks = [f.numbers]
    names = list(NUMERIC)
    for (name, known), values in zip(levels, f.categories, strict=True):
        blocks.append(np.column_stack([values == level for level in known]).astype(float))
        names.extend(f"{name}={level}" for level in known)
    return np.asarray(np.column_stack(blocks), dtype=np.float64), tuple(names)


def _degrees_of_freedom(
    f: _Features, rows: Ints, levels: tuple[tuple[str, tuple[str, ...]], ...]
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


# ---------------------------------------------------------------------------------------------
# Fitting and validation


def _pipeline(config: Settings) -> Any:
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        # Newton steps: exact and fast when patients far outnumber the columns.
        LogisticRegression(C=config.l2_c, solver="newton-cholesky", max_iter=200),
    )


def _fit(x: Floats, y: Ints, config: Settings) -> Any:
    return _pipeline(config).fit(x, y)


def _probability(pipeline: Any, x: Floats) -> Floats:
    return np.asarray(pipeline.predict_proba(x)[:, 1], dtype=np.float64)


def _auc(y: Ints, p: Floats) -> float:
    """The area under the ROC curve as the Mann-Whitney statistic (ties count one half); the
    same number as scikit-learn's ``roc_auc_score`` without its per-call overhead."""
    outcome = np.asarray(y, dtype=bool)
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    rank = (np.cumsum(counts) - (counts - 1) / 2)[inverse]  # mid-ranks from 1
    positives = np.count_nonzero(outcome)
    negatives = len(outcome) - positives
    wins = rank[outcome].sum() - positives * (positives + 1) / 2
    return float(wins / (positives * negatives))


def _calibration(y: Bools, p: Floats, bins: int) -> tuple[CalibrationBin, ...]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    table = []
    for b in range(bins):
        inside = which == b
        n = int(np.count_nonzero(inside))
        table.append(
            CalibrationBin(
                lower=float(edges[b]),
                upper=float(edges[b + 1]),
                mean_predicted=float(p[inside].mean()) if n else None,
                observed=proportion(int(np.count_nonzero(y[inside])), n),
            )
        )
    return tuple(table)


def _percentiles(values: Floats, level: float, axis: int = 0) -> tuple[Floats, Floats]:
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(values, [tail, 100 - tail], axis=axis)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def _early_change_rule(config: Settings) -> str:
    return (
        f"percent change from the baseline to the first {config.instrument_id} score at least "
        f"{config.early_change_min_days:g} days after the first dose and before the "
        "induction's last dose"
    )


def train(
    patients: pd.DataFrame, scores: pd.DataFrame, seed: int | None = None
) -> Model | Withheld:
    """EXPERIMENTAL: fit the response model on the patients who completed the induction with
    a baseline and an outcome score, or withhold it when they are too few.

    Withheld when fewer than ``min_labelled_patients`` are labelled, or when responders or
    non-responders number fewer than ``events_per_feature`` times the model's degrees of
    freedom (Peduzzi 1996's rule of thumb; at least ``cv_folds``). Otherwise: the stratified
    ``cv_folds``-fold out-of-fold AUC (pooled, and per fold) and calibration table; the final
    fit (every labelled patient) and its coefficients; ``bootstrap_refits`` refits for
    ``predict``'s intervals, whose out-of-bag AUCs give the AUC interval. ``seed`` (default
    prediction.toml's) fixes the folds and the bootstraps: the same inputs give the same
    model."""
    config = settings()
    seed = config.seed if seed is None else seed
    f = _features(patients, scores, config)
    rows = np.flatnonzero(f.label >= 0)
    y = f.label[rows]
    responders = int(np.count_nonzero(y))
    labelled = len(rows)
    withheld = _withheld(f, rows, labelled, responders, config)
    if withheld is not None:
        return withheld

    levels = _levels(f, rows)
    x_all, columns = _encode(f, levels)
    x = x_all[rows]
    level = cohort_settings().confidence_level
    rng = np.random.default_rng(seed)

    folds = StratifiedKFold(n_splits=config.cv_folds, shuffle=True, random_state=seed)
    out_of_fold = np.empty(labelled)
    fold_aucs = []
    for fit_rows, test_rows in folds.split(x, y):
        fold = _fit(x[fit_rows], y[fit_rows], config)
        out_of_fold[test_rows] = _probability(fold, x[test_rows])
        fold_aucs.append(_auc(y[test_rows], out_of_fold[test_rows]))
    final = _fit(x, y, config)
    # Each refit is tested on the patients it did not draw. Its spread, unlike a bootstrap of
    # the fixed out-of-fold predictions, includes how much the fit itself varies (that one
    # missed 0.5 in 15 % of simulated pure-noise clinics of 800; this one in 1 of 100).
    refits, out_of_bag = [], []
    for _ in range(config.bootstrap_refits):
        sample = rng.integers(0, labelled, size=labelled)
        unseen = np.ones(labelled, dtype=bool)
        unseen[sample] = False
        if len(np.unique(y[sample])) == 2 and len(np.unique(y[unseen])) == 2:
            refit = _fit(x[sample], y[sample], config)
            refits.append(refit)
            out_of_bag.append(_auc(y[unseen], _probability(refit, x[unseen])))
    auc_low, auc_high = _percentiles(np.asarray(out_of_bag, dtype=np.float64), level)

    imputer = final.named_steps["simpleimputer"]
    indicated = tuple(f"{columns[j]} missing" for j in imputer.indicator_.features_)
    logistic = final.named_steps["logisticregression"]
    return Model(
        instrument_id=config.instrument_id,
        labelled=labelled,
        responders=responders,
        degrees_of_freedom=_degrees_of_freedom(f, rows, levels),
        columns=columns + indicated,
        levels=levels,
        intercept=float(logistic.intercept_[0]),
        coefficients=tuple(
            Coefficient(name, float(c), float(np.exp(c)))
            for name, c in zip(columns + indicated, logistic.coef_[0], strict=True)
        ),
        auc=_auc(y, out_of_fold),
        auc_ci_lower=float(auc_low),
        auc_ci_upper=float(auc_high),
        fold_aucs=tuple(fold_aucs),
        calibration=_calibration(y.astype(bool), out_of_fold, config.calibration_bins),
        confidence_level=level,
        seed=seed,
        response_rule=_response_rule(config),
        early_change_rule=_early_change_rule(config),
        missing_rule=MISSING_RULE,
        version=config.version,
        source=config.source,
        pipeline=final,
        refits=tuple(refits),
    )


def _response_rule(config: Settings) -> str:
    low, high = cohort_settings().outcome_window_days
    rule = _outcome_rules(config.instrument_id)[2]
    return (
        f"{rule} at the last score {low}-{high} days after the induction's last dose "
        "(patients who completed the induction)"
    )


def _withheld(
    f: _Features, rows: Ints, labelled: int, responders: int, config: Settings
) -> Withheld | None:
    non_responders = labelled - responders
    if labelled < config.min_labelled_patients:
        return Withheld(
            reason=(
                f"too little data: {labelled} labelled patients (completed the induction, "
                f"with a baseline and an outcome score); at least "
                f"{config.min_labelled_patients} are needed"
            ),
            labelled=labelled,
            responders=responders,
            non_responders=non_responders,
            minimum_labelled=config.min_labelled_patients,
            minimum_per_class=None,
            source=config.minimum_source,
        )
    dof = _degrees_of_freedom(f, rows, _levels(f, rows))
    per_class = max(config.events_per_feature * dof, config.cv_folds)
    smaller = min(responders, non_responders)
    if smaller < per_class:
        which = "responders" if responders <= non_responders else "non-responders"
        return Withheld(
            reason=(
                f"too little data: {smaller} {which}; the model has {dof} degrees of freedom, "
                f"so at least {config.events_per_feature} x {dof} = {per_class} of each "
                "outcome are needed"
            ),
            labelled=labelled,
            responders=responders,
            non_responders=non_responders,
            minimum_labelled=config.min_labelled_patients,
            minimum_per_class=per_class,
            source=config.minimum_source,
        )
    return None


# ---------------------------------------------------------------------------------------------
# Prediction


def predict(model: Model, patients: pd.DataFrame, scores: pd.DataFrame) -> list[Prediction]:
    """EXPERIMENTAL: for each patient in induction (started, not completed: the dataset cannot
    tell a patient who stopped from one still in induction), the model's probability of
    responding after the induction if it is completed, with the percentile interval over the
    model's bootstrap refits, the features the model had to fill in, and the patient's
    baseline and early change. A patient without a baseline gets no probability."""
    config = settings()
    f = _features(patients, scores, config)
    rows = np.flatnonzero(~f.completed)
    if not len(rows):
        return []
    x, _ = _encode(f, model.levels)
    x = x[rows]
    has_baseline = ~np.isnan(x[:, 0])
    probability = np.full(len(rows), np.nan)
    low = np.full(len(rows), np.nan)
    high = np.full(len(rows), np.nan)
    scored = np.flatnonzero(has_baseline)
    if len(scored):
        probability[scored] = _probability(model.pipeline, x[scored])
        if model.refits:
            spread = np.vstack([_probability(r, x[scored]) for r in model.refits])
            low[scored], high[scored] = _percentiles(spread, model.confidence_level)

    missing_number = np.isnan(f.numbers[rows])
    unknown = [
        ~np.isin(values[rows], known) | (values[rows] == NOT_RECORDED)
        for (_, known), values in zip(model.levels, f.categories, strict=True)
    ]
    predictions = []
    for i, row in enumerate(rows):
        missing = tuple(
            name for name, gone in zip(NUMERIC, missing_number[i], strict=True) if gone
        ) + tuple(name for name, gone in zip(CATEGORICAL, unknown, strict=True) if gone[i])
        baseline = f.numbers[row, 0]
        change = f.numbers[row, 3]
        predictions.append(
            Prediction(
                patient_id=int(f.ids[row]),
                probability=_number(probability[i]),
                ci_lower=_number(low[i]),
                ci_upper=_number(high[i]),
                missing=missing,
                baseline=None if np.isnan(baseline) else int(baseline),
                early_change_percent=_number(change),
                withheld=None
                if has_baseline[i]
                else (f"no baseline {config.instrument_id} score: response is defined against it"),
            )
        )
    return predictions


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
