"""The data dictionary of the export: each table's columns from an allow-list, with their
Arrow types and meanings, and a table as those types give it."""

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

TABLES = ("patients", "sessions", "adverse_events", "scores")


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


def arrow_table(frame: pd.DataFrame, table: str) -> pa.Table:
    """``frame`` as an Arrow table of the dictionary's columns and types."""
    schema = pa.schema([(c.name, ARROW_TYPES[c.type]) for c in COLUMNS[table]])
    arrays = []
    for column in COLUMNS[table]:
        values = frame[column.name]
        if column.type.startswith("timestamp"):
            values = pd.to_datetime(values, utc=True)
        values = values.astype(object).where(values.notna(), None)
        arrays.append(pa.array(values.tolist(), type=ARROW_TYPES[column.type]))
    return pa.Table.from_arrays(arrays, schema=schema)


def dictionary() -> dict[str, Any]:
    return {
        table: [{"name": c.name, "type": c.type, "meaning": c.meaning} for c in columns]
        for table, columns in COLUMNS.items()
    }
