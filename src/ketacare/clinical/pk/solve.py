"""Closed-form concentrations: sums of exponentials, superposed over dose segments.

For a linear model dA/dt = K·A, the central amount after a unit dose into the central
compartment is Σ cᵢ·exp(−rᵢ·t), with rᵢ = −eigenvalues of K and cᵢ from its eigenvectors. An
infusion, a bolus and first-order absorption from a depot each have an exact integral of that
sum, so any schedule of doses is a sum of closed-form terms — the method of target-controlled
infusion software. Vectorised over patients (rows) and times (columns).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ketacare.clinical.pk.models import MIN_PER_H, FloatArray, Model, routes

MG_PER_L_TO_NG_PER_ML = 1000.0
EXTRAVASCULAR = ("im", "oral", "sublingual")


@dataclass(frozen=True)
class Dose:
    """Drug entering compartment ``compartment`` (0 is central) at ``start_min``: over
    ``duration_min`` (0 is a bolus), or, with ``ka_per_min``, from a depot by first-order
    absorption — the depot itself filled at once or, with a ``duration_min``, at a constant
    rate over it (a swallowed dose reaching the gut). ``amount_mg`` is what enters (the
    fractions lost before that point already applied)."""

    amount_mg: float
    start_min: float = 0.0
    duration_min: float = 0.0
    ka_per_min: float | None = None
    compartment: int = 0


@dataclass(frozen=True)
class Profile:
    times_min: FloatArray
    concentration_ng_ml: FloatArray

    @property
    def cmax_ng_ml(self) -> float:
        return float(self.concentration_ng_ml.max())

    @property
    def tmax_min(self) -> float:
        return float(self.times_min[int(self.concentration_ng_ml.argmax())])


def disposition(v1: FloatArray, matrix: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Coefficients cⱼᵢ (1/L, shape P×n×n) and rates rᵢ (1/min, shape P×n): the central
    concentration after a unit dose into compartment j is Σᵢ cⱼᵢ·exp(−rᵢ·t)."""
    eigenvalues, vectors = np.linalg.eig(matrix)
    # Mammillary models have real, distinct, negative eigenvalues; drop round-off imaginaries.
    eigenvalues, vectors = eigenvalues.real, vectors.real
    inverse = np.linalg.inv(vectors)
    coefficients = vectors[:, None, 0, :] * inverse.transpose(0, 2, 1) / v1[:, None, None]
    return coefficients, -eigenvalues


def _leaving(rate: FloatArray | float, since_end: FloatArray, since_start: FloatArray) -> Any:
    """∫ exp(−rate·(t − s)) ds over the input's interval, with t − s running from
    ``since_end`` to ``since_start``."""
    return (np.exp(-rate * since_end) - np.exp(-rate * since_start)) / rate


def concentration(
    coefficients: FloatArray, rates: FloatArray, doses: Sequence[Dose], times_min: FloatArray
) -> FloatArray:
    """Concentration (ng/mL), shape P×T, of ``doses`` at ``times_min`` for P patients."""
    t = np.asarray(times_min, dtype=np.float64)[None, :]
    total = np.zeros((coefficients.shape[0], t.shape[1]))
    for dose in doses:
        since_start = np.maximum(t - dose.start_min, 0.0)
        since_end = np.maximum(t - dose.start_min - dose.duration_min, 0.0)
        into = coefficients[:, dose.compartment, :]
        for c, r in zip(into.T, rates.T, strict=True):
            c, r = c[:, None], r[:, None]
            if dose.ka_per_min is not None:
                ka = dose.ka_per_min
                gain = c * ka / (ka - r)
                if dose.duration_min > 0:
                    rate = dose.amount_mg / dose.duration_min
                    total += (
                        rate
                        * gain
                        * (
                            _leaving(r, since_end, since_start)
                            - _leaving(ka, since_end, since_start)
                        )
                    )
                else:
                    term = np.exp(-r * since_start) - np.exp(-ka * since_start)
                    total += dose.amount_mg * gain * term
            elif dose.duration_min > 0:
                rate = dose.amount_mg / dose.duration_min
                total += rate * c * _leaving(r, since_end, since_start)
            else:
                total += np.where(t >= dose.start_min, dose.amount_mg * c, 0.0) * np.exp(
                    -r * since_start
                )
    return total * MG_PER_L_TO_NG_PER_ML


def plan_doses(model: Model, route: str, dose_mg: float, infusion_min: float = 0.0) -> list[Dose]:
    """The dose segments for one administration by ``route`` (bioavailability applied)."""
    if model.fixed_dose:
        if route != "intranasal":
            raise ValueError(f"model {model.id} is for intranasal esketamine only")
        absorption = model.raw["absorption"]
        devices = model.raw["devices"]
        count = round(dose_mg / devices["mg_per_device"])
        if count < 1 or abs(count * devices["mg_per_device"] - dose_mg) > 1e-9:
            raise ValueError(
                f"esketamine doses come in whole {devices['mg_per_device']} mg devices; "
                f"{dose_mg:g} mg is not a whole number of devices"
            )
        doses = []
        liver = model.hepatic_compartment
        assert liver is not None
        for device in range(count):
            start = device * devices["minutes_between_devices"]
            per_device = devices["mg_per_device"]
            # Later devices of a session are absorbed less through the nose; the rest is
            # swallowed, and what escapes the gut wall passes the liver before the circulation.
            nasal = absorption["nasal_fraction"]
            if device:
                nasal *= absorption["later_device_nasal_factor"]
            doses.append(
                Dose(per_device * nasal, start, ka_per_min=absorption["nasal_ka_per_h"] / MIN_PER_H)
            )
            doses.append(
                Dose(
                    per_device * (1.0 - nasal) * absorption["gut_fraction"],
                    start,
                    absorption["swallowed_input_h"] * MIN_PER_H,
                    ka_per_min=absorption["swallowed_ka_per_h"] / MIN_PER_H,
                    compartment=liver,
                )
            )
        return doses
    if route == "iv":
        return [Dose(dose_mg, 0.0, infusion_min)]
    if route in EXTRAVASCULAR:
        spec = routes()[route]
        return [Dose(dose_mg * spec["bioavailability"], 0.0, ka_per_min=spec["ka_per_min"])]
    if route == "intranasal":
        raise ValueError(
            "no intranasal data for racemic ketamine in the reference; use --model esketamine"
        )
    raise ValueError(f"unknown route {route!r}; use iv, im, intranasal, oral or sublingual")


def profile(
    model: Model,
    route: str,
    dose_mg: float,
    weight_kg: float,
    hours: float,
    step_min: float = 1.0,
    infusion_min: float = 0.0,
) -> Profile:
    """The typical patient's concentration curve for one dose."""
    times = np.arange(0.0, hours * 60.0 + step_min / 2, step_min)
    weight = np.array([weight_kg], dtype=np.float64)
    v1, matrix = model.rate_matrix(model.parameters(weight))
    coefficients, rates = disposition(v1, matrix)
    doses = plan_doses(model, route, dose_mg, infusion_min)
    return Profile(times, concentration(coefficients, rates, doses, times)[0])


def _feed_over(
    c: FloatArray, r: FloatArray, ka: float, rate: float, s0: float, s1: float, step: float
) -> tuple[FloatArray, float]:
    """What a constant ``rate`` into a depot during [s0, s1] of one step adds, by the step's
    end, to each mode (n×P) and to the depot (mg)."""
    to_depot = rate * (np.exp(-ka * (step - s1)) - np.exp(-ka * (step - s0))) / ka
    to_modes = rate * c * ka / (ka - r)
    to_modes = to_modes * (
        (np.exp(-r * (step - s1)) - np.exp(-r * (step - s0))) / r - to_depot / rate
    )
    return to_modes, float(to_depot)


def concentration_on_grid(
    coefficients: FloatArray,
    rates: FloatArray,
    doses: Sequence[Dose],
    step_min: float,
    steps: int,
) -> FloatArray:
    """The same exact solution as ``concentration`` on the grid 0, step, …, steps·step, computed
    by stepping each exponential mode forward (aₖ₊₁ = aₖ·e^(−r·step) + the input over the step)
    instead of evaluating every exponential at every time. Shape (steps+1)×P, time-major, so
    each step writes one contiguous row. Dose starts and infusion ends must lie on the grid;
    a depot filled at a constant rate may start and end anywhere."""
    for dose in doses:
        feeds_depot = dose.ka_per_min is not None and dose.duration_min > 0
        edges = () if feeds_depot else (dose.start_min, dose.start_min + dose.duration_min)
        for edge in edges:
            if abs(edge / step_min - round(edge / step_min)) > 1e-9:
                raise ValueError(
                    f"dose boundary at {edge:g} min is not on the {step_min:g} min grid"
                )
    # Modes first: each mode's values for all patients are contiguous.
    # Concentrations in ng/mL from the start, so the big output needs no extra pass.
    into = np.ascontiguousarray(coefficients.transpose(1, 2, 0)) * MG_PER_L_TO_NG_PER_ML
    r = np.ascontiguousarray(rates.T)
    decay = np.exp(-r * step_min)
    amounts = np.zeros_like(into[0])  # modal contributions to the central concentration
    boluses, infusions = [], []
    depots: list[tuple[int, float, float, FloatArray, float]] = []
    feeds: list[tuple[int, float, float, float, FloatArray, tuple[FloatArray, float]]] = []
    for dose in doses:
        c = into[dose.compartment]
        first = round(dose.start_min / step_min)
        if dose.ka_per_min is not None:
            depot_decay = np.exp(-dose.ka_per_min * step_min)
            ka = dose.ka_per_min
            # Exact transfer, per unit in the depot at a step's start, into each mode by its end.
            transfer = c * ka / (ka - r) * (decay - depot_decay)
            if dose.duration_min > 0:
                rate = dose.amount_mg / dose.duration_min
                whole_step = _feed_over(c, r, ka, rate, 0.0, step_min, step_min)
                feeds.append((len(depots), dose.start_min, dose.duration_min, rate, c, whole_step))
                depots.append((first, 0.0, depot_decay, transfer, ka))
            else:
                depots.append((first, dose.amount_mg, depot_decay, transfer, ka))
        elif dose.duration_min > 0:
            last = round((dose.start_min + dose.duration_min) / step_min)
            per_step = dose.amount_mg / dose.duration_min * c * (1.0 - decay) / r
            infusions.append((first, last, per_step))
        else:
            boluses.append((first, dose.amount_mg * c))
    depot_amounts = [0.0] * len(depots)
    out = np.empty((steps + 1, into.shape[2]))
    for step in range(steps + 1):
        for at, contribution in boluses:
            if at == step:
                amounts += contribution
        for j, depot in enumerate(depots):
            if depot[0] == step:
                depot_amounts[j] += depot[1]
        row = out[step]
        np.copyto(row, amounts[0])
        for mode in amounts[1:]:
            row += mode  # explicit adds: a reduction over the short axis is far slower here
        if step == steps:
            break
        amounts *= decay
        for first, last, per_step in infusions:
            if first <= step < last:
                amounts += per_step
        for j, (_, _, depot_decay, transfer, _) in enumerate(depots):
            if depot_amounts[j]:
                amounts += depot_amounts[j] * transfer
                depot_amounts[j] *= depot_decay
        begins = step * step_min
        for j, start, duration, rate, c, whole_step in feeds:
            s0 = max(start - begins, 0.0)
            s1 = min(start + duration - begins, step_min)
            if s1 <= s0:
                continue
            if s0 == 0.0 and s1 == step_min:
                to_modes, to_depot = whole_step
            else:  # the feed starts or stops inside this step
                to_modes, to_depot = _feed_over(c, r, depots[j][4], rate, s0, s1, step_min)
            amounts += to_modes
            depot_amounts[j] += to_depot
    return out
