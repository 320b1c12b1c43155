"""The registry dataset: a clinic's program as four tables (pandas DataFrames), read with a
fixed number of queries however many patients there are, for the cohort statistics in
``clinical/outcomes/cohort/`` and the research export.

``patients`` — one row per registered patient of the cohort:
    patient_id, clinic_id, sex ("female", "male", "intersex", "unknown"), birth_date (date),
    age_years (int, at the first dose, else at the first signed evaluation, else today),
    zip (str, the last five-digit number in the address, else ""), indication (str or None:
    the first signed evaluation's), adequate_trials (int or None), evaluated (bool: a signed
    evaluation), evaluated_on (date or None),
    eligible (bool: some route not blocked, or a blocked one overridden), started (bool: a
    dose given), protocol_id / route (str or None: of the first dosed session's plan, else the
    latest signed plan), induction_planned (int: sessions of that plan's induction),
    induction_done (int: its sessions discharged or transferred), completed_induction (bool),
    first_dose_at / last_induction_dose_at (timestamps or NaT).

``sessions`` — one row per treatment session that was dosed:
    session_id, patient_id, plan_id, protocol_id, route, number (the plan's session number),
    date, state, dose_mg (float), dose_started_at, gate_overridden (bool),
    severe_hypertension (bool: a severe-hypertension alert was raised).

``adverse_events`` — session_id, patient_id, kind, severity.

``scores`` — every scored questionnaire: patient_id, instrument_id, total (int),
    completed_at (timestamp).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.db.models import Count
from django.db.models.fields.json import KT
from django.utils import timezone

from ketacare.bounds import EARLIEST_DATE, date_problem, latest_date
from ketacare.clinical.eligibility import OVERRIDABLE, ROUTES
from ketacare.clinical.protocols.library import PROTOCOL_IDS, get_protocol
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.models import Patient
from ketacare.planning.models import EligibilityOverride, Evaluation, TreatmentPlan
from ketacare.registry.columns import Kind, read, read_sql
from ketacare.treatments.models import ENDED, AdverseEvent, SessionAlert, TreatmentSession

# The last five-digit number of an address (a house number like "12345 Main St" comes first),
# with an optional ZIP+4 suffix, over every line; RE2 syntax, run by Arrow over the whole
# column at once.
ZIP = r"(?s)^.*\b(?P<zip>\d{5})(?:-\d{4})?\b"
ROUTE_OF = {pid: get_protocol(pid).eligibility_route for pid in PROTOCOL_IDS}
INDUCTION_OF = {pid: int(get_protocol(pid).raw["induction"]["sessions"]) for pid in PROTOCOL_IDS}


@dataclass(frozen=True)
class Cohort:
    """Who is counted: a clinic, and optionally the first dose (or, before any dose, the
    evaluation) in a date range, an indication, a route, an age band and a sex."""

    clinic_id: int
    start: date | None = None
    end: date | None = None
    indication: str | None = None
    route: str | None = None
    min_age: int | None = None
    max_age: int | None = None
    sex: str | None = None


@dataclass(frozen=True)
class Dataset:
    patients: pd.DataFrame
    sessions: pd.DataFrame
    adverse_events: pd.DataFrame
    scores: pd.DataFrame
    # Patients of the clinic left out of every table because a date of their record is
    # outside ketacare's bounds (``plausible_only``).
    implausible: int = 0


# Every date and timestamp of a patient the registry computes with, by table.
DATE_COLUMNS = {
    "patients": ("birth_date", "evaluated_on", "first_dose_at", "last_induction_dose_at"),
    "sessions": ("date", "dose_started_at"),
    "scores": ("completed_at",),
}


def outside_bounds(values: pd.Series, today: date) -> pd.Series:
    """Which values are dates or timestamps outside ``bounds`` (EARLIEST_DATE to
    ``latest_date(today)``); a missing value is not."""
    first, last = EARLIEST_DATE, latest_date(today)
    if pd.api.types.is_datetime64_any_dtype(values):
        low, high = pd.Timestamp(first), pd.Timestamp(last + timedelta(days=1))
        if values.dt.tz is not None:
            low, high = low.tz_localize("UTC"), high.tz_localize("UTC")
        return (values < low) | (values >= high)
    try:
        days = pa.array(values, type=pa.date32(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return values.map(lambda v: not pd.isna(v) and date_problem(v, today) is not None)
    outside = pc.or_(
        pc.less(days, pa.scalar(first, pa.date32())),
        pc.greater(days, pa.scalar(last, pa.date32())),
    )
    return pd.Series(
        pc.fill_null(outside, False).to_numpy(zero_copy_only=False), index=values.index
    )


def implausible_patients(columns: Iterable[tuple[pd.DataFrame, str]], today: date) -> set[int]:
    """The patients with a date outside the bounds in any of ``columns`` (a frame with a
    ``patient_id`` column, and the name of a date or timestamp column of it)."""
    found: set[int] = set()
    for frame, column in columns:
        if len(frame):
            found |= set(frame.loc[outside_bounds(frame[column], today), "patient_id"].astype(int))
    return found


def plausible_only(dataset: Dataset, today: date | None = None) -> Dataset:
    """The dataset without the patients whose record holds a date outside ketacare's bounds
    (``bounds.py``), in every table; ``implausible`` counts them. Such a date (0001-01-01,
    stored before the bounds were enforced) is a mistake in the record that no age, interval
    or shifted date can be computed from, so the patient is left out whole rather than
    counted with part of their history, until the record is corrected."""
    today = today or timezone.localdate()
    tables = ("patients", "sessions", "adverse_events", "scores")
    found = implausible_patients(
        [(getattr(dataset, t), c) for t, columns in DATE_COLUMNS.items() for c in columns], today
    )
    if not found:
        return dataset
    kept = {
        t: getattr(dataset, t)[~getattr(dataset, t)["patient_id"].isin(found)].reset_index(
            drop=True
        )
        for t in tables
    }
    return Dataset(**kept, implausible=dataset.implausible + len(found))


def _local_dates(stamps: pd.Series) -> pd.Series:
    """The clinic-local calendar date of each timestamp (NaT stays missing)."""
    zone = timezone.get_current_timezone()
    return pd.to_datetime(stamps, utc=True, cache=False).dt.tz_convert(zone).dt.date


def _ages(born: pd.Series, on: pd.Series) -> pd.Series:
    """Completed years between two columns of dates."""
    born_ts, on_ts = pd.to_datetime(born), pd.to_datetime(on)
    years = on_ts.dt.year - born_ts.dt.year
    before_birthday = (on_ts.dt.month < born_ts.dt.month) | (
        (on_ts.dt.month == born_ts.dt.month) & (on_ts.dt.day < born_ts.dt.day)
    )
    return (years - before_birthday.astype(int)).astype(int)


SESSION_COLUMNS: dict[str, Kind] = {
    "session_id": "int",
    "patient_id": "int",
    "plan_id": "int",
    "protocol_id": "str",
    "number": "int",
    "date": "date",
    "state": "str",
    "dose_mg": "float",
    "dose_started_at": "stamp",
    "gate_override_by_id": "int",
}


# Every scored questionnaire of a clinic's patients. The unary plus keeps SQLite from reaching
# the responses through their patient index, one patient at a time (rows scattered over the
# table: three times slower for a clinic that is most of the database); it scans them in order
# instead and looks each patient up. PostgreSQL hash-joins either way.
_RESPONSES, _PATIENTS = QuestionnaireResponse._meta.db_table, Patient._meta.db_table
SCORES_SQL = f"""
SELECT r.patient_id, r.instrument_id, r.total, r.completed_at
FROM {_RESPONSES} r JOIN {_PATIENTS} p ON p.id = +r.patient_id
WHERE p.clinic_id = %s AND r.total IS NOT NULL
"""  # noqa: S608 (table names from the models; the clinic is a parameter)


def load(cohort: Cohort) -> Dataset:
    """The cohort's four tables: one query per table, plus evaluations, overrides, plans and
    alerts; everything after the queries is column arithmetic, not a loop over rows."""
    clinic = cohort.clinic_id
    patients = read(
        Patient.objects.filter(clinic_id=clinic).values_list(
            "id", "clinic_id", "sex_at_birth", "date_of_birth", "address"
        ),
        {"patient_id": "int", "clinic_id": "int", "sex": "str", "birth_date": "date",
         "address": "str"},
    )  # fmt: skip
    # Unordered: sorting half a million rows is faster here than in SQLite's temporary b-tree.
    sessions = read(
        TreatmentSession.objects.filter(clinic_id=clinic, dose_started_at__isnull=False)
        .order_by()
        .values_list(
            "id",
            "patient_id",
            "plan_id",
            "plan__protocol_id",
            "planned__number",
            "date",
            "state",
            "dose_mg",
            "dose_started_at",
            "gate_override_by_id",
        ),
        SESSION_COLUMNS,
    ).sort_values(["dose_started_at", "session_id"], kind="stable", ignore_index=True)
    alerted = SessionAlert.objects.filter(
        session__clinic_id=clinic, check_id="severe_hypertension"
    ).values_list("session_id", flat=True)
    sessions["route"] = sessions["protocol_id"].map(ROUTE_OF)
    sessions["dose_mg"] = pd.to_numeric(sessions["dose_mg"], errors="coerce").astype(float)
    sessions["gate_overridden"] = sessions.pop("gate_override_by_id").notna()
    sessions["severe_hypertension"] = sessions["session_id"].isin(set(alerted))
    sessions = sessions[
        [
            "session_id",
            "patient_id",
            "plan_id",
            "protocol_id",
            "route",
            "number",
            "date",
            "state",
            "dose_mg",
            "dose_started_at",
            "gate_overridden",
            "severe_hypertension",
        ]
    ]

    # The first signed evaluation of each patient, and whether some route may be used: its
    # verdict per route read out of the JSON by the database, not decoded row by row here.
    verdict_columns = {f"verdict_{route}": route for route in ROUTES}
    evaluations = read(
        Evaluation.objects.filter(clinic_id=clinic, state=Evaluation.State.SIGNED)
        .order_by()
        .values_list(
            "id",
            "patient_id",
            KT("answers__indication"),
            KT("answers__adequate_antidepressant_trials"),
            "signed_at",
            *(KT(f"verdicts__{route}__verdict") for route in verdict_columns.values()),
        ),
        {
            "evaluation_id": "int",
            "patient_id": "int",
            "indication": "str",
            "adequate_trials": "str",
            "signed_at": "stamp",
            **dict.fromkeys(verdict_columns, "str"),
        },
    )
    scores = read_sql(
        SCORES_SQL, [clinic], {"patient_id": "int", "instrument_id": "str", "total": "int",
                               "completed_at": "stamp"},
    )  # fmt: skip
    # A date outside ketacare's bounds (stored before they were enforced) leaves its patient
    # out of every table, counted (see ``plausible_only``): nothing below can compute with it.
    implausible = implausible_patients(
        [
            (patients, "birth_date"),
            (sessions, "date"),
            (sessions, "dose_started_at"),
            (evaluations, "signed_at"),
            (scores, "completed_at"),
        ],
        timezone.localdate(),
    )
    if implausible:
        patients, sessions, evaluations, scores = (
            f[~f["patient_id"].isin(implausible)].reset_index(drop=True)
            for f in (patients, sessions, evaluations, scores)
        )
    evaluations = evaluations.sort_values(["signed_at", "evaluation_id"], kind="stable")
    evaluations = evaluations.drop_duplicates("patient_id").reset_index(drop=True)
    evaluations["adequate_trials"] = pd.to_numeric(evaluations["adequate_trials"], errors="coerce")
    overrides = read(
        EligibilityOverride.objects.filter(evaluation__clinic_id=clinic).values_list(
            "evaluation_id", "route"
        ),
        {"evaluation_id": "int", "route": "str"},
    )
    eligible = pd.Series(False, index=evaluations.index)
    for column, route in verdict_columns.items():
        verdict = evaluations.pop(column)
        overridden = evaluations["evaluation_id"].isin(
            overrides.loc[overrides["route"] == route, "evaluation_id"]
        )
        eligible |= verdict.notna() & (~verdict.isin(OVERRIDABLE) | overridden)
    evaluations["eligible"] = eligible
    evaluations["evaluated_on"] = _local_dates(evaluations["signed_at"])

    # Per patient: the first dosed session's plan, and how far its induction went.
    firsts = sessions.groupby("patient_id", sort=False).first()[["plan_id", "dose_started_at"]]
    firsts = firsts.rename(columns={"dose_started_at": "first_dose_at"})
    in_induction = sessions["number"] <= sessions["protocol_id"].map(INDUCTION_OF)
    last_induction = (
        sessions[in_induction].groupby("plan_id")["dose_started_at"].max().rename("last")
    )
    done = dict(
        # A transfer to emergency care ends a dosed session too: the dose was given.
        TreatmentSession.objects.filter(clinic_id=clinic, state__in=ENDED)
        .values("plan_id")
        .annotate(done=Count("id"))
        .values_list("plan_id", "done")
    )
    latest_plan = dict(
        TreatmentPlan.objects.filter(clinic_id=clinic, state=TreatmentPlan.State.SIGNED)
        .order_by("signed_at", "id")
        .values_list("patient_id", "protocol_id")
    )
    plan_protocol = sessions.drop_duplicates("plan_id").set_index("plan_id")["protocol_id"]

    frame = patients.merge(
        evaluations[["patient_id", "indication", "adequate_trials", "eligible", "evaluated_on"]],
        on="patient_id",
        how="left",
    ).merge(firsts, left_on="patient_id", right_index=True, how="left")
    frame["evaluated"] = frame["evaluated_on"].notna()
    frame["eligible"] = frame["eligible"].eq(True)
    frame["started"] = frame["first_dose_at"].notna()
    frame["protocol_id"] = frame["plan_id"].map(plan_protocol)
    frame["protocol_id"] = frame["protocol_id"].where(
        frame["protocol_id"].notna(), frame["patient_id"].map(latest_plan)
    )
    frame["route"] = frame["protocol_id"].map(ROUTE_OF)
    frame["induction_planned"] = frame["protocol_id"].map(INDUCTION_OF).fillna(0).astype(int)
    done_count = frame["plan_id"].map(done).fillna(0).astype(int)
    frame["induction_done"] = done_count.clip(upper=frame["induction_planned"])
    frame["completed_induction"] = (frame["induction_planned"] > 0) & (
        done_count >= frame["induction_planned"]
    )
    frame["last_induction_dose_at"] = frame["plan_id"].map(last_induction)
    today = pd.Series(timezone.localdate(), index=frame.index)
    age_on = _local_dates(frame["first_dose_at"]).where(frame["started"], None)
    age_on = age_on.where(age_on.notna(), frame["evaluated_on"]).where(lambda d: d.notna(), today)
    frame["age_years"] = _ages(frame["birth_date"], age_on) if len(frame) else []
    addresses = pa.array(frame.pop("address").fillna(""), type=pa.string())
    found = pc.struct_field(pc.extract_regex(addresses, ZIP), "zip")
    frame["zip"] = pc.fill_null(found, "").to_pandas()
    frame = frame[
        [
            "patient_id",
            "clinic_id",
            "sex",
            "birth_date",
            "age_years",
            "zip",
            "indication",
            "adequate_trials",
            "evaluated",
            "evaluated_on",
            "eligible",
            "started",
            "protocol_id",
            "route",
            "induction_planned",
            "induction_done",
            "completed_induction",
            "first_dose_at",
            "last_induction_dose_at",
        ]
    ]
    frame = frame.astype({"indication": object, "evaluated_on": object})
    frame["indication"] = frame["indication"].where(frame["indication"].notna(), None)
    frame["evaluated_on"] = frame["evaluated_on"].where(frame["evaluated_on"].notna(), None)
    frame = _filtered(frame, cohort)
    ids = set(frame["patient_id"])
    sessions = sessions[sessions["patient_id"].isin(ids)].reset_index(drop=True)
    events = read(
        AdverseEvent.objects.filter(session__clinic_id=clinic).values_list(
            "session_id", "session__patient_id", "kind", "severity"
        ),
        {"session_id": "int", "patient_id": "int", "kind": "str", "severity": "str"},
    )
    events = events[events["patient_id"].isin(ids)].reset_index(drop=True)
    scores = scores[scores["patient_id"].isin(ids)].reset_index(drop=True)
    return Dataset(frame, sessions, events, scores, implausible=len(implausible))


def _filtered(patients: pd.DataFrame, cohort: Cohort) -> pd.DataFrame:
    if patients.empty:
        return patients
    keep = pd.Series(True, index=patients.index)
    if cohort.start or cohort.end:
        anchor = (
            patients["first_dose_at"]
            .map(lambda t: timezone.localtime(t).date() if pd.notna(t) else None)
            .fillna(patients["evaluated_on"])
        )
        if cohort.start:
            keep &= anchor.map(lambda d: d is not None and d >= cohort.start)
        if cohort.end:
            keep &= anchor.map(lambda d: d is not None and d <= cohort.end)
    if cohort.indication:
        keep &= patients["indication"] == cohort.indication
    if cohort.route:
        keep &= patients["route"] == cohort.route
    if cohort.min_age is not None:
        keep &= patients["age_years"] >= cohort.min_age
    if cohort.max_age is not None:
        keep &= patients["age_years"] <= cohort.max_age
    if cohort.sex:
        keep &= patients["sex"] == cohort.sex
    return patients[keep].reset_index(drop=True)


def narrow(data: Dataset, cohort: Cohort) -> Dataset:
    """What ``cohort``'s filters keep of a dataset already loaded (one clinic's, wider): the
    same as loading ``cohort``, without the queries."""
    patients = _filtered(data.patients, cohort)
    ids = patients["patient_id"] if "patient_id" in patients else pd.Series([], dtype=int)

    def kept(frame: pd.DataFrame) -> pd.DataFrame:
        if "patient_id" not in frame:
            return frame
        return frame[frame["patient_id"].isin(ids)].reset_index(drop=True)

    return Dataset(patients, kept(data.sessions), kept(data.adverse_events), kept(data.scores))
