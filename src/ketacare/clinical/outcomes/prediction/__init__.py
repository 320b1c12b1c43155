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

The modules: ``config`` (the numbers of ``outcomes/data/prediction.toml``), ``features`` (the
features and labels per patient, and the model matrix), ``fitting`` (the scikit-learn
pipeline, the AUC, the calibration table and percentile intervals), ``training`` (``train``:
cross-validation, the final fit and the bootstrap refits, or the reason the model is
withheld), ``predictions`` (``predict`` for the patients in induction) and ``results`` (what
they return, each carrying ``LABEL``).
"""
