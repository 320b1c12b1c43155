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
"""

import csv
import hashlib
import hmac
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ketacare.accounts.access import SYSTEM, Actor
from ketacare.accounts.models import Clinic
from ketacare.accounts.permissions import allowed
from ketacare.audit.record import Action, record
from ketacare.bounds import EARLIEST_DATE, YEARS_AHEAD
from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.measurements import age_in_years
from ketacare.clinical.outcomes.cohort import settings as cohort_settings
from ketacare.clinical.protocols.library import get_protocol
from ketacare.measures.fhir import SURVEY
from ketacare.measures.fhir import _code as fhir_code
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.registry.dataset import Cohort, Dataset, load, plausible_only

FORMATS = ("parquet", "csv", "ndjson")
TABLES = ("patients", "sessions", "adverse_events", "scores")
MAX_SHIFT_DAYS = 365
OLDEST_AGE = 89  # Safe Harbor: ages over 89 are one category, "90+"

# Three-digit ZIP areas with 20,000 people or fewer (2000 Census), whose first three digits
# Safe Harbor requires to be replaced by "000". Source: HHS Office for Civil Rights, "Guidance
# Regarding Methods for De-identification of Protected Health Information in Accordance with
# the HIPAA Privacy Rule" (26 Nov 2012), section 3.3, https://www.hhs.gov/hipaa/for-
# professionals/privacy/special-topics/de-identification/index.html. HHS asks that the list
# follow the current census; review it when the Census Bureau publishes new ZCTA populations.
RESTRICTED_ZIP3 = frozenset(
    {"036", "059", "063", "102", "203", "556", "692", "790", "821"}
    | {"823", "830", "831", "878", "879", "884", "890", "893"}
)

# Age bands a cohort may be cut by: (value, label, min age, max age). 90+ is one band.
AGE_BANDS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("under-18", "Under 18", None, 17),
    ("18-29", "18–29", 18, 29),
    ("30-39", "30–39", 30, 39),
    ("40-49", "40–49", 40, 49),
    ("50-59", "50–59", 50, 59),
    ("60-69", "60–69", 60, 69),
    ("70-79", "70–79", 70, 79),
    ("80-89", "80–89", 80, 89),
    ("90+", "90 or older", 90, None),
)

PSEUDONYMISED = {
    "security": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "PSEUDED",
            "display": "pseudonymized",
        }
    ]
}
BIRTH_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
BIRTH_SEX_CODE = {"female": "F", "male": "M"}  # intersex and unknown: UNK
SNOMED = "http://snomed.info/sct"
ROUTE_CODING = {
    "iv": {"system": SNOMED, "code": "47625008", "display": "Intravenous route"},
    "im": {"system": SNOMED, "code": "78421000", "display": "Intramuscular route"},
    "intranasal": {"system": SNOMED, "code": "46713006", "display": "Nasal route"},
}
DRUG_TEXT = {"racemic_ketamine": "Ketamine (racemic)", "esketamine": "Esketamine"}
UCUM = "http://unitsofmeasure.org"
IMPLAUSIBLE_RULE = (
    f"A patient whose record holds a date outside {EARLIEST_DATE} to {YEARS_AHEAD} years "
    "from the day of export (a data-entry mistake no age or shifted date can be computed "
    "from) is left out of every file until the record is corrected."
)
CONSENT_RULE = (
    "Clinic policy: a patient is exported only while their latest research-registry consent "
    "is granted; patients who never gave it or withdrew it are left out of every file."
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a pyarrow type name, as written in the data dictionary
    meaning: str


def _shifted(what: str) -> str:
    return f"{what}, moved by the patient's date shift"


COLUMNS: dict[str, tuple[Column, ...]] = {
    "patients": (
        Column("research_id", "string", "The patient's research id; the same in every table."),
        Column("sex", "string", "Sex at birth: female, male, intersex or unknown."),
        Column("birth_year", "int64", "Year of birth; empty when the age is 90 or older."),
        Column(
            "age",
            "string",
            "Age in whole years at the first dose (else at the first signed evaluation, else "
            'on the day of export); "90+" for 90 or older.',
        ),
        Column(
            "zip3",
            "string",
            'First three digits of the ZIP code; "000" for areas of 20,000 people or fewer; '
            "empty when the address has no ZIP.",
        ),
        Column(
            "indication",
            "string",
            "Indication at the first signed evaluation (trd, mdd_with_suicidal_ideation, "
            "anxiety, ptsd, ocd, other).",
        ),
        Column("adequate_trials", "int64", "Adequate antidepressant trials at that evaluation."),
        Column("evaluated", "bool", "Whether a pre-treatment evaluation was signed."),
        Column("evaluated_on", "date32", _shifted("Day the first evaluation was signed")),
        Column("eligible", "bool", "Some route not blocked, or a blocked one overridden."),
        Column("started", "bool", "Whether a dose was given."),
        Column(
            "protocol_id",
            "string",
            "Protocol of the first dosed session's plan, else of the latest signed plan.",
        ),
        Column(
            "route",
            "string",
            "That protocol's route: iv_ketamine, im_ketamine or intranasal_esketamine.",
        ),
        Column("induction_planned", "int64", "Induction sessions in that plan."),
        Column(
            "induction_done", "int64", "Induction sessions of that plan discharged or transferred."
        ),
        Column("completed_induction", "bool", "Whether every planned induction session was done."),
        Column("first_dose_at", "timestamp[us, tz=UTC]", _shifted("Start of the first dose")),
        Column(
            "last_induction_dose_at",
            "timestamp[us, tz=UTC]",
            _shifted("Start of the last induction dose of the first plan"),
        ),
    ),
    "sessions": (
        Column("research_id", "string", "The patient's research id."),
        Column(
            "session_ref",
            "string",
            "The session: research id and its order among the patient's dosed sessions.",
        ),
        Column("plan_number", "int64", "The plan, numbered per patient in order of first dose."),
        Column("protocol_id", "string", "Protocol of the plan."),
        Column("route", "string", "iv_ketamine, im_ketamine or intranasal_esketamine."),
        Column("number", "int64", "The session's number in its plan."),
        Column("date", "date32", _shifted("Day of the session")),
        Column("state", "string", "dosing, monitoring, discharged or transferred (at export)."),
        Column("dose_mg", "float64", "Dose given, mg."),
        Column("dose_started_at", "timestamp[us, tz=UTC]", _shifted("Start of the dose")),
        Column("gate_overridden", "bool", "A prescriber overrode the pre-dose vital-sign gate."),
        Column("severe_hypertension", "bool", "A severe-hypertension alert was raised."),
    ),
    "adverse_events": (
        Column("research_id", "string", "The patient's research id."),
        Column("session_ref", "string", "The session (see sessions.session_ref)."),
        Column(
            "kind",
            "string",
            "nausea, vomiting, headache, hypertension, tachycardia, "
            "emergence, desaturation or other.",
        ),
        Column("severity", "string", "mild, moderate or severe."),
    ),
    "scores": (
        Column("research_id", "string", "The patient's research id."),
        Column("instrument_id", "string", "Questionnaire (phq9, gad7, madrs, ...)."),
        Column("total", "int64", "Total score."),
        Column("completed_at", "timestamp[us, tz=UTC]", _shifted("Time it was completed")),
    ),
}
ARROW_TYPES = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date32": pa.date32(),
    "timestamp[us, tz=UTC]": pa.timestamp("us", tz="UTC"),
}


# --- pseudonyms ------------------------------------------------------------------------------


def installation_key() -> bytes:
    """This installation's export key: derived from SECRET_KEY, never written to an export."""
    return hmac.new(
        settings.SECRET_KEY.encode(), b"ketacare.registry.research-export/v1", hashlib.sha256
    ).digest()


def _hmac(key: bytes, purpose: str, patient_id: int) -> bytes:
    return hmac.new(key, f"{purpose}:{patient_id}".encode(), hashlib.sha256).digest()


def research_id(key: bytes, patient_id: int) -> str:
    return "R" + _hmac(key, "research-id", patient_id).hex()[:16]


def shift_days(key: bytes, patient_id: int) -> int:
    """The patient's date shift: -365…-1 or 1…365 days, evenly spread."""
    n = int.from_bytes(_hmac(key, "date-shift", patient_id)[:8], "big") % (2 * MAX_SHIFT_DAYS)
    return n - MAX_SHIFT_DAYS if n < MAX_SHIFT_DAYS else n - MAX_SHIFT_DAYS + 1


def zip3(zip_code: str | None) -> str:
    if not zip_code or len(zip_code) < 3 or not zip_code[:3].isdigit():
        return ""
    return "000" if zip_code[:3] in RESTRICTED_ZIP3 else zip_code[:3]


def age_group(age: Any) -> str | None:
    if age is None or pd.isna(age):
        return None
    return "90+" if int(age) > OLDEST_AGE else str(int(age))


def year_range(first: int | None, last: int | None) -> tuple[date | None, date | None]:
    """A cohort's date range in whole calendar years (the finest the export allows)."""
    return (date(first, 1, 1) if first else None, date(last, 12, 31) if last else None)


def age_band(value: str) -> tuple[int | None, int | None]:
    return next((low, high) for v, _, low, high in AGE_BANDS if v == value)


# --- research-registry consent ---------------------------------------------------------------


def _research_consent() -> Coalesce:
    """Per patient, the decision of the latest research-registry consent record ("" when there
    is none): the latest signed, then the latest recorded, as the dosing-day check reads the
    treatment consent."""
    latest = (
        ConsentRecord.objects.filter(
            patient=OuterRef("pk"), kind=ConsentRecord.Kind.RESEARCH_REGISTRY
        )
        .order_by("-signed_at", "-id")
        .values("decision")[:1]
    )
    return Coalesce(Subquery(latest), Value(""))


def consenting(clinic_id: int) -> QuerySet[Patient]:
    """The clinic's patients whose latest research-registry consent is granted."""
    return (
        Patient.objects.filter(clinic_id=clinic_id)
        .alias(research_consent=_research_consent())
        .filter(research_consent=ConsentRecord.Decision.GRANTED)
    )


def without_consent(clinic_id: int) -> int:
    """How many of the clinic's patients an export would leave out for want of consent."""
    return (
        Patient.objects.filter(clinic_id=clinic_id)
        .alias(research_consent=_research_consent())
        .exclude(research_consent=ConsentRecord.Decision.GRANTED)
        .count()
    )


def consented_only(dataset: Dataset, consented: set[int]) -> tuple[Dataset, int]:
    """The dataset without the patients outside ``consented``, in every table, and how many
    of its patients that left out."""

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        return frame[frame["patient_id"].isin(consented)].reset_index(drop=True)

    patients = keep(dataset.patients)
    return (
        Dataset(
            patients,
            keep(dataset.sessions),
            keep(dataset.adverse_events),
            keep(dataset.scores),
        ),
        len(dataset.patients) - len(patients),
    )


@dataclass(frozen=True)
class LeftOut:
    """Patients left out for want of research-registry consent, as the viewer may see the
    count: None below the small-cell minimum for a viewer who may not see small cells."""

    count: int | None
    minimum: int

    def __str__(self) -> str:
        return f"< {self.minimum}" if self.count is None else str(self.count)


def left_out_for(actor: Actor, count: int) -> LeftOut:
    """``count`` as ``actor`` may see it: exact for staff who may see the patients behind the
    registry's figures (and for the management command, run with the database at hand); for
    the researcher, hidden below cohort.toml's small-cell minimum, 0 included, as on the
    dashboard."""
    minimum = cohort_settings().small_cell_minimum
    exact = actor.role == SYSTEM.role or allowed(actor.role, "registry.patients")
    return LeftOut(count if exact or count >= minimum else None, minimum)


# --- de-identification -----------------------------------------------------------------------


def _shift_dates(values: pd.Series, days: pd.Series) -> pd.Series:
    return pd.Series(
        [
            None if v is None or pd.isna(v) else v + timedelta(days=int(d))
            for v, d in zip(values, days, strict=True)
        ],
        index=values.index,
        dtype=object,
    )


def _shift_times(values: pd.Series, days: pd.Series) -> pd.Series:
    # To the minute: seconds and microseconds would match a record to the same moment
    # elsewhere (an audit log, another export) and add nothing clinical.
    moments = pd.to_datetime(values, utc=True).dt.floor("min")
    return moments + pd.to_timedelta(days.astype("int64"), unit="D")


def _frame(columns: dict[str, Any], table: str) -> pd.DataFrame:
    """A table in the dictionary's column order; ``{}`` for an empty one."""
    names = [c.name for c in COLUMNS[table]]
    if not columns:
        return pd.DataFrame({name: [] for name in names})
    assert set(columns) == set(names), f"{table}: columns differ from the data dictionary"
    return pd.DataFrame({name: columns[name] for name in names})


def _patients(p: pd.DataFrame, rid: pd.Series, shift: pd.Series, today: date) -> pd.DataFrame:
    # The year of birth shows today's age too, so it goes once the patient is 90 today.
    birth_year = [
        None if age_in_years(born, today) > OLDEST_AGE else born.year for born in p["birth_date"]
    ]
    return _frame(
        {
            "research_id": rid,
            "sex": p["sex"],
            "birth_year": pd.Series(birth_year, index=p.index, dtype="Int64"),
            "age": p["age_years"].map(age_group),
            "zip3": p["zip"].map(zip3),
            "indication": p["indication"],
            "adequate_trials": p["adequate_trials"].astype("Int64"),
            "evaluated": p["evaluated"],
            "evaluated_on": _shift_dates(p["evaluated_on"], shift),
            "eligible": p["eligible"],
            "started": p["started"],
            "protocol_id": p["protocol_id"],
            "route": p["route"],
            "induction_planned": p["induction_planned"],
            "induction_done": p["induction_done"],
            "completed_induction": p["completed_induction"],
            "first_dose_at": _shift_times(p["first_dose_at"], shift),
            "last_induction_dose_at": _shift_times(p["last_induction_dose_at"], shift),
        },
        "patients",
    )


def deidentify(dataset: Dataset, key: bytes, today: date | None = None) -> Dataset:
    """The dataset with Safe Harbor's identifiers removed, dates shifted per patient and the
    patient id replaced by a research id from ``key`` (see the module docstring). ``today``,
    the day of export, decides whose year of birth shows an age over 89."""
    today = today or timezone.localdate()
    # A date outside ketacare's bounds would move off the calendar: its patient is left out.
    dataset = plausible_only(dataset, today)
    p = dataset.patients
    ids = {int(pid) for pid in p["patient_id"]} if len(p) else set()
    rid = {pid: research_id(key, pid) for pid in ids}
    shift = {pid: shift_days(key, pid) for pid in ids}

    def of(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        pids = frame["patient_id"].astype("int64")
        return pids.map(rid).astype(object), pids.map(shift)

    patients = _patients(p, *of(p), today) if len(p) else _frame({}, "patients")
    patients = patients.sort_values("research_id", ignore_index=True)

    s = dataset.sessions.sort_values(["patient_id", "dose_started_at", "session_id"])
    s_rid, s_shift = of(s)
    order = s.groupby("patient_id").cumcount() + 1
    plan_order = (
        s.drop_duplicates("plan_id")
        .assign(n=lambda f: f.groupby("patient_id").cumcount() + 1)
        .set_index("plan_id")["n"]
    )
    session_ref = s_rid + "-" + order.astype(str)
    sessions = _frame(
        {
            "research_id": s_rid,
            "session_ref": session_ref,
            "plan_number": s["plan_id"].map(plan_order),
            "protocol_id": s["protocol_id"],
            "route": s["route"],
            "number": s["number"],
            "date": _shift_dates(s["date"], s_shift),
            "state": s["state"],
            "dose_mg": s["dose_mg"],
            "dose_started_at": _shift_times(s["dose_started_at"], s_shift),
            "gate_overridden": s["gate_overridden"],
            "severe_hypertension": s["severe_hypertension"],
        },
        "sessions",
    ).sort_values(["research_id", "dose_started_at"], ignore_index=True)

    e = dataset.adverse_events
    e_rid, _ = of(e)
    ref_of = dict(zip(s["session_id"], session_ref, strict=True))
    events = _frame(
        {
            "research_id": e_rid,
            "session_ref": e["session_id"].map(ref_of).astype(object),
            "kind": e["kind"],
            "severity": e["severity"],
        },
        "adverse_events",
    ).sort_values(["research_id", "session_ref", "kind"], ignore_index=True)

    sc = dataset.scores
    sc_rid, sc_shift = of(sc)
    scores = _frame(
        {
            "research_id": sc_rid,
            "instrument_id": sc["instrument_id"],
            "total": sc["total"],
            "completed_at": _shift_times(sc["completed_at"], sc_shift),
        },
        "scores",
    ).sort_values(["research_id", "completed_at", "instrument_id"], ignore_index=True)
    return Dataset(patients, sessions, events, scores, implausible=dataset.implausible)


# --- files -----------------------------------------------------------------------------------


def _arrow(frame: pd.DataFrame, table: str) -> pa.Table:
    schema = pa.schema([(c.name, ARROW_TYPES[c.type]) for c in COLUMNS[table]])
    arrays = []
    for column in COLUMNS[table]:
        values = frame[column.name]
        if column.type.startswith("timestamp"):
            values = pd.to_datetime(values, utc=True)
        values = values.astype(object).where(values.notna(), None)
        arrays.append(pa.array(values.tolist(), type=ARROW_TYPES[column.type]))
    return pa.Table.from_arrays(arrays, schema=schema)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _csv(table: pa.Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow([_csv_cell(v) for v in row.values()])
    return out.getvalue().encode()


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    # No pandas metadata: the file holds the columns and the dictionary's types, nothing else.
    pq.write_table(table.replace_schema_metadata(None), out)
    return out.getvalue()


def _subject(rid: str) -> dict[str, str]:
    return {"reference": f"Patient/{rid}"}


def fhir_resources(research: Dataset) -> dict[str, list[dict[str, Any]]]:
    """The de-identified cohort as FHIR R4 resources, by type (one NDJSON file per type)."""
    patients = []
    for row in _arrow(research.patients, "patients").to_pylist():
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": row["research_id"],
            "meta": PSEUDONYMISED,
            "extension": [{"url": BIRTH_SEX, "valueCode": BIRTH_SEX_CODE.get(row["sex"], "UNK")}],
        }
        if row["birth_year"] is not None:
            resource["birthDate"] = str(row["birth_year"])
        patients.append(resource)
    observations = []
    numbers: Counter[str] = Counter()
    for row in _arrow(research.scores, "scores").to_pylist():
        instrument = get_instrument(row["instrument_id"])
        numbers[row["research_id"]] += 1
        observations.append(
            {
                "resourceType": "Observation",
                "id": f"{row['research_id']}-score-{numbers[row['research_id']]}",
                "meta": PSEUDONYMISED,
                "status": "final",
                "category": [SURVEY],
                "code": fhir_code(instrument.loinc_total, f"{instrument.short_name} total score"),
                "subject": _subject(row["research_id"]),
                "effectiveDateTime": row["completed_at"].isoformat(),
                "valueInteger": row["total"],
            }
        )
    administrations = []
    for row in _arrow(research.sessions, "sessions").to_pylist():
        protocol = get_protocol(row["protocol_id"])
        dosage: dict[str, Any] = {
            "dose": {"value": row["dose_mg"], "unit": "mg", "system": UCUM, "code": "mg"}
        }
        if protocol.route in ROUTE_CODING:
            dosage["route"] = {"coding": [ROUTE_CODING[protocol.route]]}
        administrations.append(
            {
                "resourceType": "MedicationAdministration",
                "id": row["session_ref"],
                "meta": PSEUDONYMISED,
                "status": "in-progress" if row["state"] == "dosing" else "completed",
                "medicationCodeableConcept": {
                    "coding": [
                        {
                            "system": "urn:ketacare:drug",
                            "code": protocol.drug,
                            "display": DRUG_TEXT.get(protocol.drug, protocol.drug),
                        }
                    ],
                    "text": DRUG_TEXT.get(protocol.drug, protocol.drug),
                },
                "subject": _subject(row["research_id"]),
                "effectiveDateTime": row["dose_started_at"].isoformat(),
                "dosage": dosage,
            }
        )
    return {
        "Patient": patients,
        "Observation": observations,
        "MedicationAdministration": administrations,
    }


def _ndjson(resources: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in resources).encode()


def dictionary() -> dict[str, Any]:
    return {
        table: [{"name": c.name, "type": c.type, "meaning": c.meaning} for c in columns]
        for table, columns in COLUMNS.items()
    }


def _readme(
    formats: Iterable[str],
    rows: Mapping[str, int],
    left_out: LeftOut,
    implausible: LeftOut | None = None,
) -> bytes:
    lines = [
        "# ketacare research export",
        "",
        "De-identified under the HIPAA Safe Harbor method (45 CFR 164.514(b)(2)): no names,",
        "record numbers, addresses, telephone numbers, e-mail addresses or database ids.",
        "",
        "- `research_id`: a pseudonym per patient, the same in every table (and in later exports",
        "  made with the same key). The key is not part of the export.",
        "- Dates and timestamps: each patient's are moved by one secret number of days, between",
        f"  -{MAX_SHIFT_DAYS} and +{MAX_SHIFT_DAYS} (never 0); timestamps are cut to the minute.",
        "  Intervals within a patient are kept; calendar dates, weekdays and seasons are not",
        "  real, and dates of different patients cannot be compared.",
        "- Rows are ordered by research id.",
        "- Birth: the year only; none for ages 90 or older, whose age is `90+`.",
        "- ZIP: the first three digits; `000` for areas of 20,000 people or fewer.",
        f"- Consent. {CONSENT_RULE}",
        f"  Patients of this cohort left out for want of that consent: {left_out}.",
        f"- Dates. {IMPLAUSIBLE_RULE}",
        f"  Patients of the clinic left out so: {implausible or 0}.",
        "",
        f"Formats: {', '.join(formats)}. Rows: "
        + ", ".join(f"{table} {n}" for table, n in rows.items())
        + ".",
        "",
        "Tables: `<table>.parquet` / `<table>.csv`; FHIR R4 resources: `fhir/<Type>.ndjson`.",
        "Column types and meanings: `data_dictionary.json`, and below.",
    ]
    for table, columns in COLUMNS.items():
        lines += ["", f"## {table}", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {c.meaning} |" for c in columns]
    return ("\n".join(lines) + "\n").encode()


def export_files(
    research: Dataset,
    formats: Iterable[str],
    left_out: LeftOut,
    implausible: LeftOut | None = None,
) -> dict[str, bytes]:
    """The export's files by name: tables, FHIR NDJSON, data dictionary and README (which
    says how many patients were ``left_out`` for want of consent, and how many for a date
    outside the bounds: ``implausible``)."""
    formats = [f for f in FORMATS if f in set(formats)]
    files: dict[str, bytes] = {}
    for table in TABLES:
        arrow = _arrow(getattr(research, table), table)
        if "parquet" in formats:
            files[f"{table}.parquet"] = _parquet(arrow)
        if "csv" in formats:
            files[f"{table}.csv"] = _csv(arrow)
    if "ndjson" in formats:
        for kind, resources in fhir_resources(research).items():
            files[f"fhir/{kind}.ndjson"] = _ndjson(resources)
    files["data_dictionary.json"] = (json.dumps(dictionary(), indent=2) + "\n").encode()
    files["README.md"] = _readme(formats, row_counts(research), left_out, implausible)
    return files


def row_counts(dataset: Dataset) -> dict[str, int]:
    return {table: len(getattr(dataset, table)) for table in TABLES}


def zipped(files: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            # A fixed timestamp: the archive carries no date of its own.
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return out.getvalue()


def write_directory(files: Mapping[str, bytes], directory: Path) -> None:
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


# --- the audited action ----------------------------------------------------------------------


def _cohort_facts(cohort: Cohort) -> dict[str, Any]:
    return {
        "clinic_id": cohort.clinic_id,
        "start": cohort.start.isoformat() if cohort.start else None,
        "end": cohort.end.isoformat() if cohort.end else None,
        "indication": cohort.indication,
        "route": cohort.route,
        "min_age": cohort.min_age,
        "max_age": cohort.max_age,
        "sex": cohort.sex,
    }


@dataclass(frozen=True)
class Export:
    """The files of one export by name, and its count of patients left out for want of
    consent as the exporting actor may see it."""

    files: dict[str, bytes]
    left_out: LeftOut


def export_cohort(
    actor: Actor, cohort: Cohort, formats: Iterable[str], key: bytes | None = None
) -> Export:
    """The cohort's de-identified files, of its patients with research-registry consent
    only, audited: who, the cohort, row counts, formats and how many patients were left out
    for want of consent (never a patient or research id). ``key`` defaults to the
    installation's."""
    formats = [f for f in FORMATS if f in set(formats)]
    if not formats:
        raise ValueError(f"Choose at least one format of {', '.join(FORMATS)}.")
    dataset = load(cohort)
    implausible = dataset.implausible
    # Read after the tables, so a withdrawal recorded while they were read still counts.
    consented = set(consenting(cohort.clinic_id).values_list("pk", flat=True))
    dataset, left_out = consented_only(dataset, consented)
    research = deidentify(dataset, key or installation_key())
    shown = left_out_for(actor, left_out)
    files = export_files(research, formats, shown, left_out_for(actor, implausible))
    with transaction.atomic():
        record(
            actor,
            Action.EXPORT,
            object_type="registry_export",
            clinic=actor.clinic or Clinic.objects.get(pk=cohort.clinic_id),
            changes={
                "cohort": _cohort_facts(cohort),
                "formats": formats,
                "rows": row_counts(research),
                "left_out_without_consent": left_out,
                "left_out_for_implausible_dates": implausible,
                "key": "installation" if key is None else "given",
            },
        )
    return Export(files, shown)
