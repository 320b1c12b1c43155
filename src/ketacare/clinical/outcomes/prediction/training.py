"""``train``: the stratified cross-validation, the final fit and the bootstrap refits of the
response model, or the reason it is withheld; and the digest of what it trains on."""

import hashlib

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from ketacare.clinical.outcomes.cohort import config as cohort_config
from ketacare.clinical.outcomes.cohort.columns import Ints
from ketacare.clinical.outcomes.cohort.scores import outcome_rules
from ketacare.clinical.outcomes.prediction.config import Settings, settings
from ketacare.clinical.outcomes.prediction.features import (
    MISSING_RULE,
    Features,
    degrees_of_freedom,
    encode,
    levels_seen,
    patient_features,
)
from ketacare.clinical.outcomes.prediction.fitting import (
    auc,
    calibration_table,
    fit,
    percentile_interval,
    predicted_probability,
)
from ketacare.clinical.outcomes.prediction.results import Coefficient, Model, Withheld


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
    return train_on(patient_features(patients, scores, settings()), seed)


def train_on(f: Features, seed: int | None = None) -> Model | Withheld:
    """``train`` on features already drawn from the registry tables (``patient_features``):
    the model depends on nothing else, so the same features, settings and seed give the same
    model (what lets ``registry.model_cache`` keep it)."""
    config = settings()
    seed = config.seed if seed is None else seed
    rows = np.flatnonzero(f.label >= 0)
    y = f.label[rows]
    responders = int(np.count_nonzero(y))
    labelled = len(rows)
    withheld = _withheld(f, rows, labelled, responders, config)
    if withheld is not None:
        return withheld

    levels = levels_seen(f, rows)
    x_all, columns = encode(f, levels)
    x = x_all[rows]
    level = cohort_config.settings().confidence_level
    rng = np.random.default_rng(seed)

    folds = StratifiedKFold(n_splits=config.cv_folds, shuffle=True, random_state=seed)
    out_of_fold = np.empty(labelled)
    fold_aucs = []
    for fit_rows, test_rows in folds.split(x, y):
        fold = fit(x[fit_rows], y[fit_rows], config)
        out_of_fold[test_rows] = predicted_probability(fold, x[test_rows])
        fold_aucs.append(auc(y[test_rows], out_of_fold[test_rows]))
    final = fit(x, y, config)
    # Each refit is tested on the patients it did not draw. Its spread, unlike a bootstrap of
    # the fixed out-of-fold predictions, includes how much the fit itself varies (that one
    # missed 0.5 in 15 % of simulated pure-noise clinics of 800; this one in 1 of 100).
    refits, out_of_bag = [], []
    for _ in range(config.bootstrap_refits):
        sample = rng.integers(0, labelled, size=labelled)
        unseen = np.ones(labelled, dtype=bool)
        unseen[sample] = False
        if len(np.unique(y[sample])) == 2 and len(np.unique(y[unseen])) == 2:
            refit = fit(x[sample], y[sample], config)
            refits.append(refit)
            out_of_bag.append(auc(y[unseen], predicted_probability(refit, x[unseen])))
    auc_low, auc_high = percentile_interval(np.asarray(out_of_bag, dtype=np.float64), level)

    imputer = final.named_steps["simpleimputer"]
    indicated = tuple(f"{columns[j]} missing" for j in imputer.indicator_.features_)
    logistic = final.named_steps["logisticregression"]
    return Model(
        instrument_id=config.instrument_id,
        labelled=labelled,
        responders=responders,
        degrees_of_freedom=degrees_of_freedom(f, rows, levels),
        columns=columns + indicated,
        levels=levels,
        intercept=float(logistic.intercept_[0]),
        coefficients=tuple(
            Coefficient(name, float(c), float(np.exp(c)))
            for name, c in zip(columns + indicated, logistic.coef_[0], strict=True)
        ),
        auc=auc(y, out_of_fold),
        auc_ci_lower=float(auc_low),
        auc_ci_upper=float(auc_high),
        fold_aucs=tuple(fold_aucs),
        calibration=calibration_table(y.astype(bool), out_of_fold, config.calibration_bins),
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


def digest(f: Features, seed: int | None = None) -> str:
    """A digest of all that ``train_on(f, seed)`` reads: the labelled patients' features and
    labels in their order (the folds and the bootstrap samples are drawn by position), the
    settings of prediction.toml and cohort.toml, the instrument's response rule and the seed.
    Equal digests, equal models. Patients without a label (in induction, or without an
    outcome score) are not in it: their scores change the predictions, not the model."""
    config = settings()
    rows = np.flatnonzero(f.label >= 0)
    text = (
        repr(config),
        repr(cohort_config.settings()),
        repr(outcome_rules(config.instrument_id)),
        MISSING_RULE,
        str(config.seed if seed is None else seed),
        str(len(rows)),
        *("\x1f".join(str(v) for v in values[rows]) for values in f.categories),
    )
    hashed = hashlib.sha256("\0".join(text).encode())
    numbers = f.numbers[rows]
    hashed.update(np.where(np.isnan(numbers), np.nan, numbers).tobytes())  # one NaN pattern
    hashed.update(f.label[rows].tobytes())
    return hashed.hexdigest()


def _response_rule(config: Settings) -> str:
    low, high = cohort_config.settings().outcome_window_days
    rule = outcome_rules(config.instrument_id)[2]
    return (
        f"{rule} at the last score {low}-{high} days after the induction's last dose "
        "(patients who completed the induction)"
    )


def _withheld(
    f: Features, rows: Ints, labelled: int, responders: int, config: Settings
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
    dof = degrees_of_freedom(f, rows, levels_seen(f, rows))
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
