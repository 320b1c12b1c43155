"""Compartment models from data files: micro-constants for a patient of a given weight."""

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ketacare.clinical.datafiles import load

PACKAGE = "ketacare.clinical.pk"
MODEL_IDS: tuple[str, ...] = ("clements", "domino", "esketamine", "herd", "hijazi")
MIN_PER_H = 60.0

FloatArray = NDArray[np.float64]
# Primary parameters of the flow-based models, by how they scale with body weight.
VOLUMES = ("v1_l", "v2_l", "v3_l", "vh_l")
FLOWS = ("cl_l_per_h", "q_l_per_h", "q3_l_per_h", "qh_l_per_h")
HEPATIC_RATES = ("kel_per_h", "kmet_per_h")


class UnknownModelError(LookupError):
    """No data file defines this model."""


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    drug: str
    source: str
    compartments: int
    raw: dict[str, Any] = field(repr=False)

    @property
    def fixed_dose(self) -> bool:
        """Dosed in mg regardless of weight (esketamine devices), not in mg/kg."""
        return bool(self.raw.get("fixed_dose", False))

    @property
    def variability(self) -> dict[str, float]:
        """Published between-subject CV (%) per parameter; empty when none was published."""
        return dict(self.raw.get("variability", {}).get("cv_percent", {}))

    @property
    def hepatic_compartment(self) -> int | None:
        """The hepato-portal compartment (the last), through which a swallowed dose passes
        before reaching the circulation; None when the model has no such compartment."""
        return self.compartments - 1 if "vh_l" in self.raw else None

    def parameters(self, weight_kg: FloatArray) -> dict[str, FloatArray]:
        """Typical primary parameters (volumes L, clearances L/h or rate constants 1/min or
        1/h), scaled to each weight."""
        raw = self.raw
        if "v1_l_per_kg" in raw:
            params = {"v1_l": raw["v1_l_per_kg"] * weight_kg}
            for name in ("k10", "k12", "k13", "k21", "k31"):
                if name in raw:
                    params[name] = np.full_like(weight_kg, raw[name])
            return params
        scale = weight_kg / raw.get("reference_weight_kg", 70.0)
        volume = scale ** raw.get("volume_exponent", 1.0)
        clearance = scale ** raw.get("clearance_exponent", 1.0)
        if "reference_weight_kg" not in raw:  # fixed-dose adult model: no weight scaling
            volume = clearance = np.ones_like(weight_kg)
        params = {}
        for names, factor in ((VOLUMES, volume), (FLOWS, clearance)):
            for name in names:
                if name in raw:
                    params[name] = raw[name] * factor
        for name in HEPATIC_RATES:
            if name in raw:
                params[name] = np.full_like(weight_kg, raw[name])
        return params

    def rate_matrix(self, params: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
        """(V1 in L, shape P) and the rate matrix K (1/min, shape P×n×n) of dA/dt = K·A.
        Compartment 0 is central; each exchange (k_out, k_in, elimination) adds one."""
        v1 = params["v1_l"]
        zero = np.zeros_like(v1)
        exchanges: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        if "k10" in params:
            k10 = params["k10"]
            for out, back in (("k12", "k21"), ("k13", "k31")):
                if out in params:
                    exchanges.append((params[out], params[back], zero))
        else:
            k10 = params["cl_l_per_h"] / MIN_PER_H / v1 if "cl_l_per_h" in params else zero
            for flow, volume in (("q_l_per_h", "v2_l"), ("q3_l_per_h", "v3_l")):
                if flow in params:
                    q = params[flow] / MIN_PER_H
                    exchanges.append((q / v1, q / params[volume], zero))
            if "vh_l" in params:
                # Well-stirred liver: blood flows through it and back, and only it eliminates
                # (to noresketamine and to other metabolites).
                qh = params["qh_l_per_h"] / MIN_PER_H
                hepatic = (params["kel_per_h"] + params["kmet_per_h"]) / MIN_PER_H
                exchanges.append((qh / v1, qh / params["vh_l"], hepatic))
        n = self.compartments
        if 1 + len(exchanges) != n:
            raise ValueError(f"model {self.id}: {n} compartments but {1 + len(exchanges)} defined")
        matrix = np.zeros((v1.shape[0], n, n))
        matrix[:, 0, 0] = -k10
        for other, (k_out, k_in, elimination) in enumerate(exchanges, start=1):
            matrix[:, 0, 0] -= k_out
            matrix[:, other, 0] = k_out
            matrix[:, 0, other] = k_in
            matrix[:, other, other] = -k_in - elimination
        return v1, matrix


def outside_population(model: Model, age_years: int | None, weight_kg: float) -> tuple[str, ...]:
    """Why this patient lies outside the population the model was fitted to (its data file's
    ``[population]``), one sentence each; empty when inside or when the file sets no bounds.
    A curve for such a patient is an extrapolation, so the planner shows these warnings."""
    population = model.raw.get("population")
    if not population:
        return ()
    fitted = f"{model.name} was fitted to {population['description']} ({population['source']})"
    found = []
    low, high = population.get("min_age_years"), population.get("max_age_years")
    if (low is not None or high is not None) and age_years is None:
        found.append(f"{fitted}; this patient's age is not known.")
    elif age_years is not None and (
        (low is not None and age_years < low) or (high is not None and age_years > high)
    ):
        found.append(f"{fitted}; this patient is {age_years}: the curve is an extrapolation.")
    low, high = population.get("min_weight_kg"), population.get("max_weight_kg")
    if (low is not None and weight_kg < low) or (high is not None and weight_kg > high):
        found.append(
            f"{fitted}; this patient weighs {weight_kg:g} kg: the curve is an extrapolation."
        )
    return tuple(found)


@cache
def get_model(model_id: str) -> Model:
    """The model defined by ``data/<model_id>.toml``."""
    if model_id not in MODEL_IDS:
        raise UnknownModelError(f"unknown model {model_id!r}; known: {', '.join(MODEL_IDS)}")
    raw = load(model_id, package=PACKAGE)
    return Model(raw["id"], raw["name"], raw["drug"], raw["source"], raw["compartments"], raw)


@cache
def routes() -> dict[str, Any]:
    """Bioavailability and absorption rates of the extravascular routes (``routes.toml``)."""
    return load("routes", package=PACKAGE)
