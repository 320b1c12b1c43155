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

    def parameters(self, weight_kg: FloatArray) -> dict[str, FloatArray]:
        """Typical primary parameters (volumes L, clearances L/h or rate constants 1/min),
        scaled to each weight."""
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
        params = {"v1_l": raw["v1_l"] * volume, "cl_l_per_h": raw["cl_l_per_h"] * clearance}
        if "v2_l" in raw:
            params["v2_l"] = raw["v2_l"] * volume
            params["q_l_per_h"] = raw["q_l_per_h"] * clearance
        return params

    def rate_matrix(self, params: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
        """(V1 in L, shape P) and the rate matrix K (1/min, shape P×n×n) of dA/dt = K·A."""
        v1 = params["v1_l"]
        if "k10" in params:
            k10 = params["k10"]
            k12, k21 = params.get("k12"), params.get("k21")
            k13, k31 = params.get("k13"), params.get("k31")
        else:
            k10 = params["cl_l_per_h"] / MIN_PER_H / v1
            k12 = k21 = k13 = k31 = None
            if "v2_l" in params:
                k12 = params["q_l_per_h"] / MIN_PER_H / v1
                k21 = params["q_l_per_h"] / MIN_PER_H / params["v2_l"]
        n = self.compartments
        matrix = np.zeros((v1.shape[0], n, n))
        matrix[:, 0, 0] = -k10
        for peripheral, (k_out, k_in) in enumerate(((k12, k21), (k13, k31)), start=1):
            if peripheral >= n:
                break
            assert k_out is not None and k_in is not None
            matrix[:, 0, 0] -= k_out
            matrix[:, peripheral, 0] = k_out
            matrix[:, 0, peripheral] = k_in
            matrix[:, peripheral, peripheral] = -k_in
        return v1, matrix


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
