"""The curve a treatment plan shows: the typical patient's predicted concentration for the
planned dose, a 5–95 % band from simulated between-subject variability, and the published
concentration it should be compared with."""

from dataclasses import dataclass

import numpy as np

from ketacare.clinical.datafiles import load
from ketacare.clinical.pk.models import PACKAGE, FloatArray, get_model, outside_population
from ketacare.clinical.pk.population import band, simulate
from ketacare.clinical.pk.solve import Profile, plan_doses, profile

BAND_PATIENTS = 2000
"""Enough virtual patients for stable 5th and 95th percentiles, few enough to draw a page
in milliseconds."""


@dataclass(frozen=True)
class Reference:
    label: str
    cmax_ng_ml: float
    low_ng_ml: float
    high_ng_ml: float
    source: str


@dataclass(frozen=True)
class PlannedCurve:
    model_name: str
    model_source: str
    typical: Profile
    low_ng_ml: FloatArray
    high_ng_ml: FloatArray
    reference: Reference | None
    warnings: tuple[str, ...] = ()
    """Why the curve may not apply to this patient (outside the model's population)."""


def published_reference(drug: str) -> Reference | None:
    """The published concentration for this drug, if the reference file has one. Its label
    names the dose and route it was measured after, which may differ from the plan's: it is
    the benchmark the plan is read against, not a prediction."""
    data = load("reference", package=PACKAGE)
    for entry in data.values():
        if isinstance(entry, dict) and entry["drug"] == drug:
            return Reference(
                entry["label"],
                float(entry["cmax_ng_ml"]),
                float(entry["low_ng_ml"]),
                float(entry["high_ng_ml"]),
                str(data["source"]),
            )
    return None


def planned_curve(
    model_id: str,
    route: str,
    dose_mg: float,
    weight_kg: float,
    *,
    drug: str,
    age_years: int | None = None,
    infusion_min: float = 0.0,
    hours: float = 4.0,
    step_min: float = 2.0,
    patients: int = BAND_PATIENTS,
    seed: int = 0,
) -> PlannedCurve:
    """The predicted curve for one administration, with a warning for each way the patient
    (``age_years``, ``weight_kg``) lies outside the model's population. ``seed`` fixes the
    virtual population, so the same plan always draws the same band."""
    model = get_model(model_id)
    typical = profile(model, route, dose_mg, weight_kg, hours, step_min, infusion_min)
    doses = plan_doses(model, route, dose_mg, infusion_min)
    population = simulate(
        model, doses, typical.times_min, weight_kg, patients, np.random.default_rng(seed)
    )
    low, high = band(population)
    return PlannedCurve(
        model.name,
        model.source,
        typical,
        low,
        high,
        published_reference(drug),
        outside_population(model, age_years, weight_kg),
    )
