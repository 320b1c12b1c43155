"""Virtual patients: log-normal between-subject variability on a model's primary parameters."""

from collections.abc import Sequence

import numpy as np

from ketacare.clinical.datafiles import load
from ketacare.clinical.pk.models import PACKAGE, FloatArray, Model
from ketacare.clinical.pk.solve import Dose, concentration, disposition


def _cv_percent(model: Model, parameter: str) -> float:
    published = model.variability
    if published:
        return float(published.get(parameter, 0.0))
    return float(load("population", package=PACKAGE)["default_cv_percent"])


def sample_parameters(
    model: Model, weight_kg: float, n: int, rng: np.random.Generator
) -> dict[str, FloatArray]:
    """Typical parameters for ``weight_kg``, each multiplied by exp(η), η ~ N(0, ω²) with
    ω² = ln(1 + CV²), independently per parameter and patient."""
    typical = model.parameters(np.full(n, float(weight_kg)))
    sampled = {}
    for name, values in typical.items():
        cv = _cv_percent(model, name) / 100.0
        omega = np.sqrt(np.log1p(cv * cv))
        sampled[name] = values * np.exp(rng.normal(0.0, omega, size=n)) if cv else values
    return sampled


def simulate(
    model: Model,
    doses: Sequence[Dose],
    times_min: FloatArray,
    weight_kg: float,
    n: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Concentrations (ng/mL), shape n×T, for n virtual patients of one weight."""
    v1, matrix = model.rate_matrix(sample_parameters(model, weight_kg, n, rng))
    coefficients, rates = disposition(v1, matrix)
    return concentration(coefficients, rates, doses, times_min)


def band(
    concentrations: FloatArray, low: float = 5.0, high: float = 95.0
) -> tuple[FloatArray, FloatArray]:
    """The low and high percentiles across patients at each time."""
    lower, upper = np.percentile(concentrations, [low, high], axis=0)
    return lower, upper
