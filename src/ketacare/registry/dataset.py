"""The registry dataset: a clinic's program as four tables (pandas DataFrames), read with a
fixed number of queries however many patients there are, for the cohort statistics in
``clinical/outcomes/cohort.py`` and the research export.

``patients`` — one row per registered patient of the cohort:
    patient_id, clinic_id, sex ("female", "male", "intersex", "unknown"), birth_date (date),
    age_years (int, at the first dose, else at the first signed evaluation, else today),
    zip (str, the last five-digit number in the address, else ""), indication (str or None:
    the first signed evaluation's), adequate_trials (int or None), evaluated (bool: a signed
    evaluation), evaluated_on (date or None),
    eligible (bool: some route not blocked, or a blocked one overridden), started (bool: a
    dose given), protocol_id / route (str or None: of the first dosed session's plan, else the
    latest signed plan), induction_planned (int: sessions of that plan's induction),
    induction_done (int: its discharged sessions), completed_induction (bool),
    first_dose_at / last_induction_dose_at (timestamps or NaT).

``sessions`` — one row per treatment session that was dosed:
    session_id, patient_id, plan_id, protocol_id, route, number (the plan's session number),
    date, state, dose_mg (float), dose_started_at, gate_overridden (bool),
    severe_hypertension (bool: a severe-hypertension alert was raised).

``adverse_events`` — session_id, patient_id, kind, severity.

``scores`` — every scored questionnaire: patient_id, instrument_id, total (int),
    completed_at (timestamp).
"""

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd
from django.db.models import Count
from django.utils import timezone

from ketacare.clinical.eligibility import OVERRIDABLE
from ketacare.clinical.measurements import age_in_years
from ketacare.clinical.protocols.library import PROTOCOL_IDS, get_protocol
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.models import Patient
from ketacare.planning.models import EligibilityOverride, Evaluation, TreatmentPlan
from ketacare.treatments.models import AdverseEvent, SessionAlert, TreatmentSession

ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
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


def _zip(address: str) -> str:
    # The last five-digit number: a house number like "12345 Main St" comes first.
    matches = ZIP.findall(address or "")
    return matches[-1] if matches else ""


def _frame(rows: list[dict[str, object]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=columns)


def _eligible(verdicts: dict[str, dict[str, object]], overridden: set[str]) -> bool:
    return any(
        v["verdict"] not in OVERRIDABLE or route in overridden for route, v in verdicts.items()
    )


def load(cohort: Cohort) -> Dataset:
    """The cohort's four tables (queries: one per table, plus evaluations and plans)."""
    today = timezone.localdate()
    patient_rows = list(
        Patient.objects.filter(clinic_id=cohort.clinic_id).values(
            "id", "clinic_id", "sex_at_birth", "date_of_birth", "address"
        )
    )
    first_evaluation: dict[int, dict[str, object]] = {}
    for ev in (
        Evaluation.objects.filter(clinic_id=cohort.clinic_id, state=Evaluation.State.SIGNED)
        .order_by("signed_at", "id")
        .values("id", "patient_id", "answers", "verdicts", "signed_at")
    ):
        first_evaluation.setdefault(ev["patient_id"], ev)
    overrides: dict[int, set[str]] = {}
    for evaluation_id, route in EligibilityOverride.objects.filter(
        evaluation__clinic_id=cohort.clinic_id
    ).values_list("evaluation_id", "route"):
        overrides.setdefault(evaluation_id, set()).add(route)
    latest_plan = {
        patient_id: protocol_id
        for patient_id, protocol_id in TreatmentPlan.objects.filter(
            clinic_id=cohort.clinic_id, state=TreatmentPlan.State.SIGNED
        )
        .order_by("signed_at", "id")
        .values_list("patient_id", "protocol_id")
    }
    dosed = TreatmentSession.objects.filter(
        clinic_id=cohort.clinic_id, dose_started_at__isnull=False
    )
    alerted = set(
        SessionAlert.objects.filter(
            session__clinic_id=cohort.clinic_id, check_id="severe_hypertension"
        ).values_list("session_id", flat=True)
    )
    session_rows = [
        {
            "session_id": s["id"],
            "patient_id": s["patient_id"],
            "plan_id": s["plan_id"],
            "protocol_id": s["plan__protocol_id"],
            "route": ROUTE_OF.get(s["plan__protocol_id"]),
            "number": s["planned__number"],
            "date": s["date"],
            "state": s["state"],
            "dose_mg": float(s["dose_mg"]) if s["dose_mg"] is not None else None,
            "dose_started_at": s["dose_started_at"],
            "gate_overridden": s["gate_override_by_id"] is not None,
            "severe_hypertension": s["id"] in alerted,
        }
        for s in dosed.order_by("dose_started_at", "id").values(
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
        )
    ]
    sessions = _frame(
        session_rows,
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
        ],
    )
    # Per patient: the first dosed session's plan, and how much of its induction was done.
    first_plan: dict[int, int] = {}
    first_dose: dict[int, object] = {}
    for row in session_rows:
        first_plan.setdefault(row["patient_id"], row["plan_id"])  # type: ignore[arg-type]
        first_dose.setdefault(row["patient_id"], row["dose_started_at"])  # type: ignore[arg-type]
    induction = {
        r["plan_id"]: r
        for r in TreatmentSession.objects.filter(
            clinic_id=cohort.clinic_id, state=TreatmentSession.State.DISCHARGED
        )
        .values("plan_id")
        .annotate(done=Count("id"))
    }
    plan_protocol = dict(
        TreatmentPlan.objects.filter(pk__in=set(first_plan.values())).values_list(
            "id", "protocol_id"
        )
    )
    last_induction: dict[int, object] = {}
    for row in session_rows:
        plan_id = row["plan_id"]
        protocol_id = plan_protocol.get(plan_id)  # type: ignore[arg-type]
        if protocol_id and row["number"] <= INDUCTION_OF[protocol_id]:  # type: ignore[operator]
            last_induction[plan_id] = row["dose_started_at"]  # type: ignore[index]
    patients = []
    for p in patient_rows:
        pid = p["id"]
        ev = first_evaluation.get(pid)
        plan_id = first_plan.get(pid)
        protocol_id = plan_protocol.get(plan_id) if plan_id else latest_plan.get(pid)
        planned = INDUCTION_OF.get(protocol_id, 0) if protocol_id else 0
        done = induction.get(plan_id, {}).get("done", 0) if plan_id else 0
        dose_at = first_dose.get(pid)
        age_on = (
            timezone.localtime(dose_at).date()  # type: ignore[arg-type]
            if dose_at
            else (timezone.localtime(ev["signed_at"]).date() if ev else today)  # type: ignore[arg-type]
        )
        answers = ev["answers"] if ev else {}
        patients.append(
            {
                "patient_id": pid,
                "clinic_id": p["clinic_id"],
                "sex": p["sex_at_birth"],
                "birth_date": p["date_of_birth"],
                "age_years": age_in_years(p["date_of_birth"], age_on),
                "zip": _zip(p["address"]),
                "indication": answers.get("indication"),  # type: ignore[union-attr]
                "adequate_trials": answers.get("adequate_antidepressant_trials"),  # type: ignore[union-attr]
                "evaluated": ev is not None,
                "evaluated_on": timezone.localtime(ev["signed_at"]).date() if ev else None,  # type: ignore[arg-type]
                "eligible": bool(ev) and _eligible(ev["verdicts"], overrides.get(ev["id"], set())),  # type: ignore[arg-type,index]
                "started": dose_at is not None,
                "protocol_id": protocol_id,
                "route": ROUTE_OF.get(protocol_id) if protocol_id else None,
                "induction_planned": planned,
                "induction_done": min(done, planned),
                "completed_induction": bool(planned) and done >= planned,
                "first_dose_at": dose_at,
                "last_induction_dose_at": last_induction.get(plan_id) if plan_id else None,
            }
        )
    patient_frame = pd.DataFrame.from_records(patients)
    patient_frame = _filtered(patient_frame, cohort)
    ids = set(patient_frame["patient_id"]) if len(patient_frame) else set()
    sessions = sessions[sessions["patient_id"].isin(ids)].reset_index(drop=True)
    events = _frame(
        list(
            AdverseEvent.objects.filter(session__clinic_id=cohort.clinic_id).values(
                "session_id", "session__patient_id", "kind", "severity"
            )
        ),
        ["session_id", "session__patient_id", "kind", "severity"],
    ).rename(columns={"session__patient_id": "patient_id"})
    events = events[events["patient_id"].isin(ids)].reset_index(drop=True)
    scores = _frame(
        list(
            QuestionnaireResponse.objects.filter(
                patient__clinic_id=cohort.clinic_id, total__isnull=False
            ).values("patient_id", "instrument_id", "total", "completed_at")
        ),
        ["patient_id", "instrument_id", "total", "completed_at"],
    )
    scores = scores[scores["patient_id"].isin(ids)].reset_index(drop=True)
    return Dataset(patient_frame, sessions, events, scores)


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
