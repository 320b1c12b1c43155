"""The de-identified research export: a cohort's registry tables with the HIPAA Safe Harbor
identifiers removed (45 CFR 164.514(b)(2)), as Parquet and CSV (one file per table) with a
data dictionary, and as FHIR Bulk Data-style NDJSON.

What is done to the registry dataset (``dataset.load``):

- Only patients whose latest research-registry consent record (``ConsentRecord`` of kind
  ``research_registry``, the latest signed) says "granted" are exported; one who never gave
  it or withdrew it is in no file. This is the clinic's policy, not a Safe Harbor condition
  (de-identified data needs no authorization under HIPAA): patients were asked, so their
  answer is kept. The README and the export page say how many were left out, a count the
  researcher role sees only from the small-cell minimum up (cohort.toml), as on the dashboard.
- A patient whose record holds a date outside ketacare's bounds (``bounds.py``: 1900-01-01 to
  ten years ahead; say a date of birth of 0001-01-01 stored before the bounds were enforced)
  is left out of every file, and of the registry's figures (``dataset.plausible_only``): no
  age, interval or shifted date can be computed from it. The README says how many, with the
  same small-cell rule as the consent count, and the audit event records it.
- Names, MRN, address, phone, e-mail and database ids never reach the export: the tables are
  rebuilt column by column from an allow-list (``COLUMNS``), so a column added to the dataset
  later stays out until someone describes it here.
- Each patient gets a research id, ``R`` + 16 hex digits of HMAC-SHA256(key, patient id).
- Every date and timestamp of a patient is moved by the same whole number of days, between
  -365 and +365 and never 0, taken from a second HMAC (so the research id, which recipients
  see, says nothing about the shift). Timestamps are cut to the minute. Intervals within a
  patient are kept (to the minute); calendar dates, weekdays and seasons are not.
- Rows are ordered by research id, not by when patients were registered.
- Birth date: the year only, and no year for anyone 90 or older on the day of export (Safe
  Harbor puts every date element that shows an age over 89, the year included, into one
  category); ages over 89 are "90+".
- ZIP: the first three digits, or "000" where the three-digit area has 20,000 people or fewer.
- Sessions and plans are numbered per patient (``R…-1``, ``R…-2``) instead of by database id.

The key: ``installation_key()`` is derived from the installation's SECRET_KEY, so a patient
keeps the same research id and shift in every export of this installation (a registry can be
refreshed and joined to earlier exports). It is never written into an export, and anyone
holding it and the database can map research ids back to patients, as the clinic can anyway.
Rotating SECRET_KEY starts new research ids and shifts. ``export_cohort`` and ``deidentify``
take another key (e.g. ``secrets.token_bytes(32)`` per export) for pseudonyms that differ
from export to export.

The cohort filter must not be finer than the export: a cohort of a single day would reveal the
real date, and from it the patient's shift. Callers therefore filter by whole years and by age
bands that put everyone of 90 or over together (see ``year_range`` and ``AGE_BANDS``).

The modules: ``safe_harbor`` (the pseudonyms, the date shift, the coarsened ages and ZIP
codes, ``deidentify`` and the cohort filters no finer than the export), ``consent`` (who may
be exported, and how many were left out as the viewer may see it), ``dictionary`` (the
columns of each table, their types and meanings), ``fhir`` (the FHIR R4 resources),
``writers`` (Parquet, CSV, NDJSON, the data dictionary, the README and the zip) and
``actions`` (``export_cohort``, the audited export).
"""
