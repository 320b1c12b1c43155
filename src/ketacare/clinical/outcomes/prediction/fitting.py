"""The model itself (median imputation with missing-value indicators, standardisation, an
L2-penalised logistic regression) and the numbers that judge it: the AUC, the calibration
table and percentile intervals."""

from typing import Any

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ketacare.clinical.outcomes.cohort.columns import Bools, Floats, Ints
from ketacare.clinical.outcomes.cohort.proportions import proportion
from ketacare.clinical.outcomes.prediction.config import Settings
from ketacare.clinical.outcomes.prediction.results import CalibrationBin


def _pipeline(config: Settings) -> Any:
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        # Newton steps: exact and fast when patients far outnumber the columns.
        LogisticRegression(C=config.l2_c, solver="newton-cholesky", max_iter=200),
    )


def fit(x: Floats, y: Ints, config: Settings) -> Any:
    """A fresh pipeline fitted to ``x`` and ``y``."""
    return _pipeline(config).fit(x, y)


def predicted_probability(pipeline: Any, x: Floats) -> Floats:
    """The pipeline's probability of response for each row of ``x``."""
    return np.asarray(pipeline.predict_proba(x)[:, 1], dtype=np.float64)


def auc(y: Ints, p: Floats) -> float:
    """The area under the ROC curve as the Mann-Whitney statistic (ties count one half); the
    same number as scikit-learn's ``roc_auc_score`` without its per-call overhead."""
    outcome = np.asarray(y, dtype=bool)
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    rank = (np.cumsum(counts) - (counts - 1) / 2)[inverse]  # mid-ranks from 1
    positives = np.count_nonzero(outcome)
    negatives = len(outcome) - positives
    wins = rank[outcome].sum() - positives * (positives + 1) / 2
    return float(wins / (positives * negatives))


def calibration_table(y: Bools, p: Floats, bins: int) -> tuple[CalibrationBin, ...]:
    """Predictions ``p`` in ``bins`` equal-width bins, each with its mean and the observed
    response rate of ``y``."""
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


def percentile_interval(values: Floats, level: float, axis: int = 0) -> tuple[Floats, Floats]:
    """The central ``level`` interval of ``values`` along ``axis`` (NaN ignored)."""
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(values, [tail, 100 - tail], axis=axis)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
