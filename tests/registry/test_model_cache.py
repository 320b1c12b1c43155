"""The response model is fitted once per clinic and data version: a second dashboard view of
the same data fits nothing, and a score that changes what the model learns from fits it
again. Fits are counted by wrapping the real fitting function (the model is still fitted)."""

import numpy as np
import pandas as pd
import pytest
from django.core.cache import cache

from ketacare.clinical.outcomes.prediction import training
from ketacare.clinical.outcomes.prediction.config import settings
from ketacare.clinical.outcomes.prediction.features import patient_features
from ketacare.clinical.outcomes.prediction.results import Model
from ketacare.registry.model_cache import response_model
from tests.clinical.test_response_prediction import DAY, scores_frame, simulate


@pytest.fixture(scope="module")
def clinic():
    return simulate(700, np.random.default_rng(3), in_induction=60)


@pytest.fixture
def fits(monkeypatch):
    """Every fit ``train_on`` makes, counted (and made)."""
    cache.clear()
    made = []
    fit = training.fit

    def counted(*args, **kwargs):
        made.append(1)
        return fit(*args, **kwargs)

    monkeypatch.setattr(training, "fit", counted)
    yield made
    cache.clear()


def with_score(clinic, patient_id, total, at):
    extra = scores_frame([patient_id], [total], [at])
    return pd.concat([clinic.scores, extra], ignore_index=True)


def labelled(clinic, label):
    """A patient the model learns from, with that outcome (1 responded, 0 did not)."""
    f = patient_features(clinic.patients, clinic.scores, settings())
    return int(f.ids[np.flatnonzero(f.label == label)[0]])


def test_a_second_view_of_the_same_data_fits_nothing(clinic, fits):
    first = response_model(1, clinic.patients, clinic.scores)
    assert isinstance(first, Model)
    config = settings()
    assert len(fits) >= config.cv_folds + 1 + config.bootstrap_refits // 2
    fitted = len(fits)
    again = response_model(1, clinic.patients, clinic.scores.copy())
    assert len(fits) == fitted
    assert again == first
    assert again.pipeline is not None and len(again.refits) == len(first.refits)


def test_a_new_outcome_score_fits_the_model_again(clinic, fits):
    first = response_model(1, clinic.patients, clinic.scores)
    fitted = len(fits)
    # A responder's later score in the outcome window, at the baseline's level: the last
    # score in the window decides, so the patient no longer counts as a responder.
    responder = labelled(clinic, 1)
    row = clinic.patients.loc[clinic.patients["patient_id"] == responder].iloc[0]
    scores = with_score(clinic, responder, 27, row["last_induction_dose_at"] + 30 * DAY)
    second = response_model(1, clinic.patients, scores)
    assert len(fits) > fitted
    assert isinstance(second, Model) and second.responders == first.responders - 1
    # The new version is kept in turn, and the old one is still there for the old data.
    fitted = len(fits)
    assert response_model(1, clinic.patients, scores) == second
    assert response_model(1, clinic.patients, clinic.scores) == first
    assert len(fits) == fitted


def test_a_score_the_model_does_not_learn_from_keeps_it(clinic, fits):
    first = response_model(1, clinic.patients, clinic.scores)
    fitted = len(fits)
    in_induction = clinic.patients.loc[~clinic.patients["completed_induction"]].iloc[0]
    scores = with_score(
        clinic, int(in_induction["patient_id"]), 5, in_induction["first_dose_at"] + 9 * DAY
    )
    assert response_model(1, clinic.patients, scores) == first
    assert len(fits) == fitted


def test_each_clinic_has_its_own_model(clinic, fits):
    response_model(1, clinic.patients, clinic.scores)
    fitted = len(fits)
    response_model(2, clinic.patients, clinic.scores)
    assert len(fits) > fitted


def test_the_digest_follows_the_seed_and_the_order_of_the_patients(clinic):
    f = patient_features(clinic.patients, clinic.scores, settings())
    assert training.digest(f) == training.digest(f, seed=settings().seed)
    assert training.digest(f, seed=1) != training.digest(f)
    # The folds and bootstrap samples are drawn by position: another order, another model.
    shuffled = clinic.patients.iloc[::-1].reset_index(drop=True)
    g = patient_features(shuffled, clinic.scores, settings())
    assert training.digest(g) != training.digest(f)
