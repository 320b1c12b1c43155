"""What the response model gives: the fitted model with its validation, or the reason it is
withheld, and a prediction per patient, each carrying ``LABEL``."""

from dataclasses import dataclass, field
from typing import Any

from ketacare.clinical.outcomes.cohort.proportions import Proportion

LABEL = (
    "Experimental: a model trained on this clinic's own patients; not validated elsewhere; "
    "it does not decide treatment."
)


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
