"""Population PK simulation: 100,000 virtual patients x 24 h at 1-minute steps.

    .venv/bin/python bench/pk_population.py [--patients 100000] [--ode-patients 1000]

Model: Domino (3-compartment), 0.5 mg/kg IV over 40 min, 70 kg, log-normal between-subject
variability (the clinic-policy default in clinical/pk/data/population.toml). Timed, in one run:

  (a) ketacare's exact solution on the grid (clinical.pk.solve.concentration_on_grid);
  (b) scipy.integrate.solve_ivp per patient on a subset, scaled up to the full population;
  (c) the memory-bandwidth floor: writing a NumPy array of the same size.

Goal (issue 4): (a) at least 100x faster than (b), and within 5x of (c). Printed, never
enforced; the exit status is 1 only if (a) and (b) disagree by more than 0.5 %.
"""

import argparse
import platform
import time

import numpy as np
from scipy.integrate import solve_ivp

from ketacare.clinical.pk import get_model, plan_doses
from ketacare.clinical.pk.population import sample_parameters
from ketacare.clinical.pk.solve import concentration_on_grid, disposition

STEP_MIN = 1.0
HOURS = 24


def ode_patient(matrix: np.ndarray, v1: float, dose_mg: float, infusion_min: float, times):
    """One patient by numerical integration, the infusion as a piecewise-constant input."""

    def infusing(t, amounts):
        return matrix @ amounts + np.array([dose_mg / infusion_min, 0.0, 0.0])

    def after(t, amounts):
        return matrix @ amounts

    during = times[times <= infusion_min]
    first = solve_ivp(
        infusing, (0.0, infusion_min), np.zeros(3), t_eval=during, rtol=1e-8, atol=1e-10
    )
    rest = times[times > infusion_min]
    second = solve_ivp(
        after, (infusion_min, times[-1]), first.y[:, -1], t_eval=rest, rtol=1e-8, atol=1e-10
    )
    return np.concatenate([first.y[0], second.y[0]]) / v1 * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--ode-patients", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    model = get_model("domino")
    weight, dose_mg, infusion_min = 70.0, 35.0, 40.0
    steps = int(HOURS * 60 / STEP_MIN)
    times = np.arange(steps + 1) * STEP_MIN
    params = sample_parameters(model, weight, args.patients, np.random.default_rng(args.seed))
    v1, matrix = model.rate_matrix(params)
    doses = plan_doses(model, "iv", dose_mg, infusion_min)

    print("ketacare population PK benchmark")
    print(
        f"platform: {platform.platform()}; python {platform.python_version()}; numpy "
        f"{np.__version__}"
    )
    print(
        f"model: {model.name}; {args.patients:,} patients x {steps + 1:,} times "
        f"({HOURS} h at {STEP_MIN:g} min); output {(steps + 1) * args.patients * 8 / 1e9:.2f} GB"
    )

    grid_times, floor_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        coefficients, rates = disposition(v1, matrix)
        result = concentration_on_grid(coefficients, rates, doses, STEP_MIN, steps)
        grid_times.append(time.perf_counter() - start)
        peak = result.max(axis=0)
        del result
        start = time.perf_counter()
        floor = np.empty((steps + 1, args.patients))
        floor.fill(1.0)
        floor_times.append(time.perf_counter() - start)
        del floor

    subset = range(args.ode_patients)
    start = time.perf_counter()
    ode_peaks = [ode_patient(matrix[i], v1[i], dose_mg, infusion_min, times).max() for i in subset]
    ode_subset = time.perf_counter() - start
    ode_scaled = ode_subset * args.patients / args.ode_patients
    disagreement = np.max(
        np.abs(np.array(ode_peaks) - peak[: args.ode_patients]) / np.array(ode_peaks)
    )

    grid, floor_best = min(grid_times), min(floor_times)
    print(f"(a) exact solution on the grid:  best {grid:.3f} s of {args.repeat}")
    print(
        f"(b) solve_ivp per patient:       {ode_subset:.2f} s for {args.ode_patients:,} "
        f"patients, scaled to {args.patients:,}: {ode_scaled:.0f} s"
    )
    print(f"(c) NumPy write of the same size: best {floor_best:.3f} s")
    print(
        f"ratios: (b)/(a) = {ode_scaled / grid:,.0f}x faster than the ODE loop (goal >= 100x); "
        f"(a)/(c) = {grid / floor_best:.1f}x the memory floor (goal <= 5x)"
    )
    print(f"check: Cmax of (a) vs (b) on the subset differs by at most {disagreement:.3%}")
    print(
        f"Cmax across patients: median {np.median(peak):.0f} ng/mL, 5-95 % "
        f"{np.percentile(peak, 5):.0f}-{np.percentile(peak, 95):.0f} ng/mL"
    )
    return 1 if disagreement > 0.005 else 0


if __name__ == "__main__":
    raise SystemExit(main())
