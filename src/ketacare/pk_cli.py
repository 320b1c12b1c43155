"""`ketacare pk`: the predicted plasma concentration of one dose, from the shell.

Pure: needs no database or settings.
"""

import argparse
import json
import sys

from ketacare.clinical.pk import MODEL_IDS, get_model, profile
from ketacare.clinical.pk.models import outside_population

USAGE_ERROR = 2
ROUTES = ("iv", "im", "intranasal", "oral", "sublingual")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="ketacare pk",
        description="Predicted plasma concentration of one dose (closed-form compartment model).",
    )
    parser.add_argument("--model", required=True, choices=MODEL_IDS)
    parser.add_argument("--route", required=True, choices=ROUTES)
    dose = parser.add_mutually_exclusive_group(required=True)
    dose.add_argument("--dose-mg-per-kg", type=float)
    dose.add_argument("--dose-mg", type=float, help="absolute dose (esketamine: 56 or 84)")
    parser.add_argument("--weight-kg", type=float, required=True)
    parser.add_argument("--infusion-min", type=float, default=0.0, help="IV infusion length")
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--step-min", type=float, default=1.0)
    parser.add_argument(
        "--age-years", type=int, help="the patient's age: warns outside the model's population"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    problem = _check(args)
    if problem:
        print(f"ketacare pk: {problem}", file=sys.stderr)
        return USAGE_ERROR
    model = get_model(args.model)
    dose_mg = args.dose_mg if args.dose_mg is not None else args.dose_mg_per_kg * args.weight_kg
    try:
        result = profile(
            model,
            args.route,
            dose_mg,
            args.weight_kg,
            args.hours,
            args.step_min,
            args.infusion_min,
        )
    except ValueError as error:
        print(f"ketacare pk: {error}", file=sys.stderr)
        return USAGE_ERROR
    warnings = outside_population(model, args.age_years, args.weight_kg)
    for warning in warnings:
        print(f"ketacare pk: warning: {warning}", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "model": model.id,
                    "route": args.route,
                    "dose_mg": round(dose_mg, 4),
                    "times_min": [round(float(t), 4) for t in result.times_min],
                    "concentration_ng_ml": [round(float(c), 4) for c in result.concentration_ng_ml],
                    "cmax_ng_ml": round(result.cmax_ng_ml, 4),
                    "tmax_min": result.tmax_min,
                    "source": model.source,
                    "warnings": list(warnings),
                }
            )
        )
        return 0
    print(f"{model.name}: {dose_mg:g} mg {args.route}, {args.weight_kg:g} kg")
    print(f"Cmax {result.cmax_ng_ml:.1f} ng/mL at {result.tmax_min:g} min")
    print(f"{'minutes':>8}  {'ng/mL':>8}")
    every = max(1, round(15 / args.step_min))
    for t, c in list(zip(result.times_min, result.concentration_ng_ml, strict=True))[::every]:
        print(f"{t:8.0f}  {c:8.1f}")
    print(f"Source: {model.source}")
    return 0


def _check(args: argparse.Namespace) -> str | None:
    if args.weight_kg <= 0:
        return f"--weight-kg must be positive, got {args.weight_kg:g}"
    dose = args.dose_mg if args.dose_mg is not None else args.dose_mg_per_kg
    if dose <= 0:
        return "the dose must be positive"
    if args.hours <= 0 or args.step_min <= 0:
        return "--hours and --step-min must be positive"
    if args.infusion_min < 0 or (args.infusion_min and args.route != "iv"):
        return "--infusion-min applies to --route iv only, and cannot be negative"
    return None
