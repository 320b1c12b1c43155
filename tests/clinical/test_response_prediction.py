"""The experimental response model recovers a known logistic relation from synthetic clinics
(high cross-validated AUC, calibrated bins, intervals that cover the true probability), finds
nothing in noise, is withheld when the data are too few, and is the same for the same seed."""

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from ketacare.clinical.outcomes.cohort.response import response_remission
from ketacare.clinical.outcomes.prediction.config import settings
from ketacare.clinical.outcomes.prediction.features import patient_features
from ketacare.clinical.outcomes.prediction.predictions import predict
from ketacare.clinical.outcomes.prediction.results import LABEL, Model, Prediction, Withheld
from ketacare.clinical.outcomes.prediction.training import train

EPOCH = pd.Timestamp("2026-01-05 09:00", tz="UTC")
DAY = pd.Timedelta(days=1)
INDICATIONS = np.array(["trd", "mdd_with_suicidal_ideation", "ptsd", "anxiety"], dtype=object)
ROUTES = np.array(["iv_ketamine", "im_ketamine", "intranasal_esketamine"], dtype=object)


@dataclass(frozen=True)
class Clinic:
    patients: pd.DataFrame
    scores: pd.DataFrame
    truth: np.ndarray
    """Per patient (frame order), the true probability of response given its features."""


def true_probability(early_percent, baseline, intercept, per_early, per_baseline):
    logit = intercept + per_early * (early_percent + 25) + per_baseline * (baseline - 19)
    return 1 / (1 + np.exp(-logit))


def simulate(
    completers,
    rng,
    in_induction=0,
    intercept=-0.4,
    per_early=-0.06,
    per_baseline=0.08,
    noise=False,
):
    """A clinic where the chance of response is logistic in the early change (percent, as the
    model computes it from the rounded scores) and the baseline; age, trials, indication and
    route have no effect. ``noise``: every patient has the same chance."""
    n = completers + in_induction
    first = (EPOCH + pd.to_timedelta(rng.uniform(0, 300, n), unit="D")).round("s")
    completed = np.arange(n) < completers
    last = first + np.where(completed, 12.0, 8.5) * DAY
    baseline = rng.integers(10, 28, n)
    drift = rng.normal(-25, 25, n)
    early = np.clip(np.round(baseline * (1 + drift / 100)), 0, 27).astype(int)
    early_percent = 100 * (early - baseline) / baseline
    truth = true_probability(early_percent, baseline, intercept, per_early, per_baseline)
    if noise:
        truth = np.full(n, 0.4)
    responded = rng.random(n) < truth
    half = baseline // 2
    outcome = np.where(
        responded,
        rng.integers(0, half + 1),
        rng.integers(half + 1, np.minimum(baseline + 3, 27) + 1),
    )
    trials = rng.integers(0, 6, n).astype(object)
    trials[rng.random(n) < 0.2] = None
    indication = rng.choice(INDICATIONS, n)
    indication[rng.random(n) < 0.05] = None
    patients = pd.DataFrame(
        {
            "patient_id": np.arange(1, n + 1),
            "age_years": rng.integers(20, 70, n),
            "adequate_trials": trials,
            "indication": indication,
            "route": rng.choice(ROUTES, n),
            "started": True,
            "completed_induction": completed,
            "first_dose_at": first,
            "last_induction_dose_at": last,
        }
    )
    ids = patients["patient_id"].to_numpy()
    scores = pd.concat(
        [
            scores_frame(ids, baseline, first - DAY),
            scores_frame(ids, early, first + 8 * DAY),
            scores_frame(ids[completed], outcome[completed], last[completed] + 20 * DAY),
        ],
        ignore_index=True,
    )
    return Clinic(patients, scores, truth)


def scores_frame(patient_id, totals, at, instrument_id="phq9"):
    return pd.DataFrame(
        {
            "patient_id": np.asarray(patient_id),
            "instrument_id": instrument_id,
            "total": np.asarray(totals, dtype=int),
            "completed_at": pd.to_datetime(at),
        }
    )


@pytest.fixture(scope="module")
def signal_clinic():
    return simulate(1500, np.random.default_rng(1), in_induction=400)


@pytest.fixture(scope="module")
def signal_model(signal_clinic):
    model = train(signal_clinic.patients, signal_clinic.scores)
    assert isinstance(model, Model), model
    return model


# -- settings and labels -----------------------------------------------------------------------


def test_settings_come_from_the_data_file():
    config = settings()
    assert config.instrument_id == "phq9"
    assert config.early_change_min_days == 7
    assert config.events_per_feature == 10
    assert config.min_labelled_patients == 100
    assert "Peduzzi" in config.minimum_source
    assert config.version and config.source


def test_labels_are_cohort_response_for_completers(signal_clinic, signal_model):
    rates = response_remission(signal_clinic.patients, signal_clinic.scores, completed_only=True)
    assert signal_model.labelled == rates.n == 1500
    assert signal_model.responders == rates.responders
    assert "50 % below baseline" in signal_model.response_rule
    assert "14-31 days" in signal_model.response_rule


def test_early_change_is_the_first_score_at_least_n_days_in_and_before_the_last_dose():
    first = EPOCH
    patients = pd.DataFrame(
        {
            "patient_id": [1, 2],
            "started": True,
            "completed_induction": [True, False],
            "first_dose_at": [first, first],
            "last_induction_dose_at": [first + 12 * DAY, first + 9 * DAY],
        }
    )
    scores = pd.concat(
        [
            scores_frame([1, 2], [20, 20], [first - DAY] * 2),
            scores_frame([1, 2], [2, 2], [first + 3 * DAY] * 2),  # too early: ignored
            # Patient 1 completed: a score after the last dose is not early. Patient 2 is
            # still in induction: any score from day 7 on counts.
            scores_frame([1, 2], [15, 5], [first + 13 * DAY, first + 10 * DAY]),
            scores_frame([1, 2], [10, 10], [first + 7 * DAY + DAY, first + 11 * DAY]),
        ]
    )
    features = patient_features(patients, scores, settings())
    assert features.numbers[:, 3].tolist() == [-50.0, -75.0]
    assert features.numbers[:, 0].tolist() == [20.0, 20.0]


# -- validation --------------------------------------------------------------------------------


def test_cross_validated_auc_is_high_when_response_depends_on_early_change(signal_model):
    model = signal_model
    assert model.auc > 0.75
    assert model.auc_ci_lower < model.auc < model.auc_ci_upper
    assert model.auc_ci_lower > 0.7
    assert len(model.fold_aucs) == 5
    assert all(auc > 0.7 for auc in model.fold_aucs)
    coefficient = {c.feature: c.coefficient for c in model.coefficients}
    assert coefficient["early_change_percent"] < -1  # a larger drop: likelier response
    assert coefficient["baseline_phq9"] > 0
    # No effect was simulated for these; with 1500 patients they stay small.
    assert abs(coefficient["age_years"]) < 0.2
    assert abs(coefficient["adequate_trials"]) < 0.2
    assert "adequate_trials missing" in coefficient
    assert "indication=(not recorded)" in coefficient
    assert model.degrees_of_freedom == 4 + 1 + 4 + 2  # numbers, trials indicator, levels - 1


def test_calibration_bins_observe_what_they_predict(signal_model):
    bins = signal_model.calibration
    assert len(bins) == 5
    assert sum(b.observed.n for b in bins) == signal_model.labelled
    for b in bins:
        if b.observed.n >= 40:
            assert b.lower <= b.mean_predicted <= b.upper
            assert abs(b.observed.rate - b.mean_predicted) < 0.1, b
    assert sum(b.observed.n >= 40 for b in bins) >= 4


def test_auc_is_near_one_half_when_response_is_noise():
    clinic = simulate(800, np.random.default_rng(2), noise=True)
    model = train(clinic.patients, clinic.scores)
    assert isinstance(model, Model)
    assert model.auc_ci_lower <= 0.5 <= model.auc_ci_upper
    assert abs(model.auc - 0.5) < 0.08


# -- too little data ---------------------------------------------------------------------------


def test_too_few_labelled_patients_withhold_the_model():
    clinic = simulate(60, np.random.default_rng(3))
    result = train(clinic.patients, clinic.scores)
    assert isinstance(result, Withheld)
    assert result.labelled == 60
    assert result.minimum_labelled == 100
    assert "60 labelled patients" in result.reason and "100" in result.reason
    assert "Peduzzi" in result.source
    assert result.label == LABEL


def test_too_few_of_one_outcome_withhold_the_model():
    clinic = simulate(600, np.random.default_rng(4), intercept=-3.5)
    result = train(clinic.patients, clinic.scores)
    assert isinstance(result, Withheld)
    assert result.responders < result.minimum_per_class == 10 * 11
    assert f"{result.responders} responders" in result.reason
    assert "10 x 11 = 110" in result.reason


# -- determinism -------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_model_and_predictions(signal_clinic, signal_model):
    clinic = signal_clinic
    again = train(clinic.patients, clinic.scores)
    assert again == signal_model
    assert predict(again, clinic.patients, clinic.scores) == predict(
        signal_model, clinic.patients, clinic.scores
    )
    other = train(clinic.patients, clinic.scores, seed=7)
    assert isinstance(other, Model)
    assert other.fold_aucs != signal_model.fold_aucs
    assert other.coefficients == signal_model.coefficients  # the final fit uses every patient


# -- prediction --------------------------------------------------------------------------------


def test_prediction_intervals_contain_the_true_probability_for_most_patients(
    signal_clinic, signal_model
):
    predictions = predict(signal_model, signal_clinic.patients, signal_clinic.scores)
    assert len(predictions) == 400  # the patients still in induction
    truth = dict(zip(signal_clinic.patients["patient_id"], signal_clinic.truth, strict=True))
    covered = [p.ci_lower <= truth[p.patient_id] <= p.ci_upper for p in predictions]
    assert np.mean(covered) >= 0.8
    assert all(p.ci_lower <= p.probability <= p.ci_upper for p in predictions)
    assert np.median([p.ci_upper - p.ci_lower for p in predictions]) < 0.25
    error = [abs(p.probability - truth[p.patient_id]) for p in predictions]
    assert np.mean(error) < 0.05


def test_predictions_name_missing_features_and_need_a_baseline(signal_model):
    first = EPOCH
    patients = pd.DataFrame(
        {
            "patient_id": [1, 2, 3],
            "age_years": [40, None, 50],
            "adequate_trials": [2, None, 3],
            "indication": ["trd", "ocd", None],
            "route": ["iv_ketamine", "iv_ketamine", "iv_ketamine"],
            "started": True,
            "completed_induction": False,
            "first_dose_at": [first] * 3,
            "last_induction_dose_at": [first + 3 * DAY] * 3,
        }
    )
    scores = pd.concat(
        [
            scores_frame([1, 2], [20, 20], [first - DAY] * 2),
            scores_frame([1, 3], [8, 8], [first + 8 * DAY] * 2),
        ]
    )
    complete, sparse, no_baseline = predict(signal_model, patients, scores)
    assert complete.missing == ()
    assert complete.early_change_percent == -60.0 and complete.baseline == 20
    assert 0 < complete.ci_lower <= complete.probability <= complete.ci_upper < 1
    # "ocd" was never seen in training: it counts as missing.
    assert sparse.missing == ("age_years", "adequate_trials", "early_change_percent", "indication")
    assert sparse.probability is not None
    assert no_baseline.probability is None and no_baseline.ci_lower is None
    assert no_baseline.withheld and "baseline" in no_baseline.withheld
    assert "baseline_phq9" in no_baseline.missing


def test_every_result_carries_the_experimental_label(signal_clinic, signal_model):
    assert LABEL.startswith("Experimental:") and "does not decide treatment" in LABEL
    assert signal_model.label == LABEL
    predictions = predict(signal_model, signal_clinic.patients, signal_clinic.scores)
    assert {p.label for p in predictions} == {LABEL}
    assert Prediction(1, None, None, None, (), None, None).label == LABEL
    assert "label" in {f.name for f in dataclasses.fields(Withheld)}


def test_no_one_in_induction_gives_no_predictions(signal_clinic, signal_model):
    completers = signal_clinic.patients[signal_clinic.patients["completed_induction"]]
    assert predict(signal_model, completers, signal_clinic.scores) == []
