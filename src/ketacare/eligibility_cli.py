"""`ketacare eligibility --evaluation FILE.json [--json]`: judge a pre-treatment evaluation
offline, for audits and tests.

Pure like `ketacare score`: needs no database, settings or secret key. The layout of the
evaluation file is documented in :mod:`ketacare.clinical.eligibility.evaluation`.
"""

import argparse
import json
import sys
from pathlib import Path

from ketacare.clinical.eligibility import (
    Evaluation,
    EvaluationError,
    RouteVerdict,
    RuleSet,
    evaluate,
    load_rules,
)

USAGE_ERROR = 2
PROG = "ketacare eligibility"


def main(argv: list[str]) -> int:
    """Print each route's verdict with the rules that fired; 0 on success, 2 on bad input."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Evaluate a pre-treatment evaluation (JSON) against the eligibility rules.",
        epilog="Decision support only: a prescriber decides.",
    )
    parser.add_argument("--evaluation", required=True, metavar="FILE.json")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    path = Path(args.evaluation)
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        return _usage_error(f"cannot read {path}: {error.strerror or error}")
    except UnicodeDecodeError:
        return _usage_error(f"cannot read {path}: not UTF-8 text")
    try:
        evaluation = Evaluation.from_json(text)
    except EvaluationError as error:
        return _usage_error(f"{path}: {error}")
    rules = load_rules()
    verdicts = evaluate(evaluation, rules)
    if args.json:
        print(json.dumps(_as_json(rules, verdicts)))
    else:
        _print_text(path, rules, verdicts)
    return 0


def _usage_error(message: str) -> int:
    # One line, so a script or log reader sees the whole message; newlines in a file name or
    # an OS message would break that.
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return USAGE_ERROR


def _as_json(rules: RuleSet, verdicts: dict[str, RouteVerdict]) -> dict[str, object]:
    return {
        "rules_version": rules.version,
        "routes": {route: verdict.as_dict() for route, verdict in verdicts.items()},
    }


def _print_text(path: Path, rules: RuleSet, verdicts: dict[str, RouteVerdict]) -> None:
    print(f"Eligibility for {path} (rules version {rules.version})")
    for route, verdict in verdicts.items():
        print(f"\n{route}: {verdict.verdict}")
        if not verdict.fired:
            print("  no rule fired")
        for fired in verdict.fired:
            kind = "clinic policy" if fired.policy else "label"
            print(f"  - {fired.verdict}: {fired.id} [{kind}]")
            print(f"    {fired.rationale}")
            values = ", ".join(f"{name} = {json.dumps(v)}" for name, v in fired.values.items())
            print(f"    because: {values}")
            for change in fired.clinic_changes:
                print(f"    clinic threshold: {change}")
            print(f"    source: {fired.source}")
    print("\nDecision support: a prescriber decides; exclude and needs_clearance can be overridden")
    print("only with a written reason.")
