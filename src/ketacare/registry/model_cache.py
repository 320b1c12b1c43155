"""The clinic's experimental response model, kept in Django's cache between dashboard views.

Training it (``cv_folds`` cross-validation fits, a final fit and ``bootstrap_refits`` refits,
prediction.toml) costs far more than the rest of the dashboard, and what it trains on changes
far less often than the page is opened. The key is the clinic and the digest of everything
the training reads (``training.digest``: the labelled patients' features and labels, the
settings, the seed), so a kept model is never stale: a new score that changes what the model
learns from (a new outcome score, a first dose, a completed induction) gives another key and
a new fit, and one that does not (a score of a patient still in induction) leaves it alone,
as it leaves the model. Predictions are not kept: they are cheap, and they do change with
every score of a patient in induction.

ketacare sets no ``CACHES``, so Django's per-process local-memory cache holds the models: each
worker process trains its own once per data version, and a restart forgets them all (new code
never meets a model pickled by old code). A shared cache (``CACHES`` in the settings) keeps one
per data version for every process; clear it when upgrading ketacare.
"""

import pandas as pd
from django.core.cache import cache

from ketacare.clinical.outcomes.prediction.config import settings
from ketacare.clinical.outcomes.prediction.features import patient_features
from ketacare.clinical.outcomes.prediction.results import Model, Withheld
from ketacare.clinical.outcomes.prediction.training import digest, train_on

# A model of data that have since changed is never asked for again; a day lets the cache
# forget it, at the price of one fit a day for a clinic whose data stand still.
TIMEOUT_SECONDS = 24 * 60 * 60


def response_model(
    clinic_id: int, patients: pd.DataFrame, scores: pd.DataFrame
) -> Model | Withheld:
    """``training.train(patients, scores)`` for the clinic's cohort, fitted once per data
    version (see the module docstring)."""
    features = patient_features(patients, scores, settings())
    key = f"ketacare.registry.response-model:{clinic_id}:{digest(features)}"
    kept = cache.get(key)
    if isinstance(kept, Model | Withheld):
        return kept
    model = train_on(features)
    cache.set(key, model, TIMEOUT_SECONDS)
    return model
