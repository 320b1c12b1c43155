"""The rules of the esketamine REMS Patient Monitoring Form (clinical-reference §2): when it is
due, which doses and medicines it names, and what counts as sedation, dissociation and
respiratory depression.
From ``data/rems.toml`` and the files it points to, each number in one place: the blood
pressure at 40 minutes is discharge's (``session_thresholds.toml``), sedation the MOAA/S
scale's own flag (``instruments/data/moaas.toml``), a low respiratory rate the alert's."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ketacare.clinical import instruments
from ketacare.clinical.datafiles import load
from ketacare.clinical.session.checks import VitalSigns, check

ROUTE = "intranasal_esketamine"


def _facts() -> dict[str, Any]:
    return load("rems")


def deadline(treatment_date: date) -> date:
    """The last day to submit the form of a dose given on ``treatment_date``."""
    return treatment_date + timedelta(days=deadline_days())


def deadline_days() -> int:
    return int(_facts()["deadline"]["days_after_dose"])


def form_doses_mg() -> tuple[Decimal, ...]:
    """The doses the form has a box for; any other is "other"."""
    return tuple(sorted(Decimal(str(mg)) for mg in _facts()["form"]["doses_mg"]))


def concomitant_questions() -> tuple[tuple[str, str], ...]:
    """(the evaluation answer that holds it, the form's label) for each medicine class the
    form asks about, in its order."""
    return tuple((q["answer"], q["label"]) for q in _facts()["form"]["concomitant"])


def bp_at_minutes() -> tuple[int, int]:
    """(minutes after the first device, ± window) of the blood pressure "at 40 minutes": the
    reading esketamine's discharge asks for."""
    rule = load("session_thresholds")["discharge_by_route"][ROUTE]
    return int(rule["bp_at_minutes"]), int(rule["bp_window_minutes"])


def sedated(moaas: int) -> bool:
    """Whether a MOAA/S score is sedation, as the scale's own sedation flag says (< 5)."""
    return "sedation" in instruments.score(instruments.get("moaas"), [moaas]).flags


def low_respiratory_rate(rate: int) -> bool:
    """Whether a respiratory rate counts as respiratory depression: it raises the alert the
    data file names (bradypnoea, below 10/min)."""
    alert = check("alerts", _facts()["respiratory_depression"]["rate_alert"])
    return bool(alert.hits(VitalSigns(respiratory_rate=rate)))


def respiratory_alerts() -> dict[str, str]:
    """The alerts (check id → how the form names it) that count as respiratory depression."""
    return dict(_facts()["respiratory_depression"]["alerts"])


def respiratory_adverse_events() -> frozenset[str]:
    """The adverse events (by kind) that count as respiratory depression."""
    return frozenset(_facts()["respiratory_depression"]["adverse_events"])


def dissociated(cadss: int) -> bool:
    """Whether a CADSS total counts as dissociation during the session."""
    return cadss > int(_facts()["dissociation"]["cadss_above"])
