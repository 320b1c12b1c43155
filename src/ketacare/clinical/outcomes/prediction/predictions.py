"""``predict``: the response model applied to the patients still in induction."""

import numpy as np
import pandas as pd

from ketacare.clinical.outcomes.prediction.config import settings
from ketacare.clinical.outcomes.prediction.features import (
    CATEGORICAL,
    NOT_RECORDED,
    NUMERIC,
    encode,
    patient_features,
)
from ketacare.clinical.outcomes.prediction.fitting import (
    percentile_interval,
    predicted_probability,
)
from ketacare.clinical.outcomes.prediction.results import Model, Prediction


def predict(model: Model, patients: pd.DataFrame, scores: pd.DataFrame) -> list[Prediction]:
    """EXPERIMENTAL: for each patient in induction (started, not completed: the dataset cannot
    tell a patient who stopped from one still in induction), the model's probability of
    responding after the induction if it is completed, with the percentile interval over the
    model's bootstrap refits, the features the model had to fill in, and the patient's
    baseline and early change. A patient without a baseline gets no probability."""
    config = settings()
    f = patient_features(patients, scores, config)
    rows = np.flatnonzero(~f.completed)
    if not len(rows):
        return []
    x, _ = encode(f, model.levels)
    x = x[rows]
    has_baseline = ~np.isnan(x[:, 0])
    probability = np.full(len(rows), np.nan)
    low = np.full(len(rows), np.nan)
    high = np.full(len(rows), np.nan)
    scored = np.flatnonzero(has_baseline)
    if len(scored):
        probability[scored] = predicted_probability(model.pipeline, x[scored])
        if model.refits:
            spread = np.vstack([predicted_probability(r, x[scored]) for r in model.refits])
            low[scored], high[scored] = percentile_interval(spread, model.confidence_level)

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
