"""HIPAA Safe Harbor de-identification of the registry dataset (see the package docstring):
research ids and date shifts from a key, years of birth and ages with 90+ as one category,
three-digit ZIP codes, and the cohort filters no finer than the export (whole years, age
bands)."""

import hashlib
import hmac
from datetime import date, timedelta
from typing import Any

import pandas as pd
from django.conf import settings
from django.utils import timezone

from ketacare.bounds import EARLIEST_DATE, YEARS_AHEAD
from ketacare.clinical.measurements import age_in_years
from ketacare.registry.dataset import Dataset, plausible_only
from ketacare.registry.export.dictionary import COLUMNS

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
IMPLAUSIBLE_RULE = (
    f"A patient whose record holds a date outside {EARLIEST_DATE} to {YEARS_AHEAD} years "
    "from the day of export (a data-entry mistake no age or shifted date can be computed "
    "from) is left out of every file until the record is corrected."
)


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
