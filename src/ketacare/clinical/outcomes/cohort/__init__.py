"""Cohort statistics over the registry tables (``ketacare.registry.dataset``): the patient
flow, response and remission with Wilson intervals, time to response, Kaplan-Meier durability,
safety and misuse signals, and small-cell suppression for the researcher role.

Every function takes the DataFrames as the dataset contract describes them and works column
by column (no Python loop over patients, sessions or scores), so a clinic of 100,000 patients
and 3 M scores is answered in seconds. Timestamps may be naive or time-zone aware (naive ones
are read as UTC); every "days" figure is elapsed time in (fractional) days unless it says
"whole days". The response, remission and relapse rules are the ones ``trajectory.assess``
uses for a single patient: the instrument's ``[outcomes]`` and ``data/relapse.toml``.

The modules, each with the statistic and the result type it returns:

- ``config``: the analysis numbers of ``outcomes/data/cohort.toml`` (read them through
  ``config.settings()``, so that a test can change them in one place);
- ``proportions``: a count of n with its Wilson interval;
- ``suppression``: the small-cell rule and ``suppress``, the researcher's view of any result;
- ``columns`` and ``scores``: the column-wise helpers (frame columns, epoch days, each
  patient's first or last row) and one instrument's scores with each patient's baseline;
- ``flow``: screened -> evaluated -> eligible -> started -> completed induction -> follow-up;
- ``response``: response and remission at the outcome window, and time to response;
- ``durability``: Kaplan-Meier time from the first response to relapse;
- ``doses``, ``safety``: adverse events, severe hypertension, gate overrides, titration;
- ``misuse``: escalating doses, early requests, positive substance-use screens.
"""
