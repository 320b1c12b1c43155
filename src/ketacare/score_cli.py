"""`ketacare score INSTRUMENT --answers 0,1,2,...`: score a questionnaire from the shell.

Pure: needs no database, settings or secret key, so clinicians and researchers can use it
anywhere ketacare is installed.
"""

import argparse
import json
import sys

from ketacare.clinical.instruments import (
    INSTRUMENT_IDS,
    AnswerError,
    UnknownInstrumentError,
    get,
    score,
)
from ketacare.clinical.safety import safety_signals

USAGE_ERROR = 2


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="ketacare score",
        description="Score a questionnaire. Answers are item scores in item order.",
        epilog=f"Instruments: {', '.join(INSTRUMENT_IDS)}",
    )
    parser.add_argument("instrument")
    parser.add_argument("--answers", required=True, help="comma-separated, e.g. 0,1,2,3")
    parser.add_argument("--sex", choices=["female", "male"])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(_join_answers(argv))
    try:
        instrument = get(args.instrument)
        answers = _parse_answers(args.answers)
        result = score(instrument, answers, sex=args.sex)
    except (AnswerError, UnknownInstrumentError) as error:
        print(f"ketacare score: {error.args[0]}", file=sys.stderr)
        return USAGE_ERROR
    # The alerts the clinic would open for these answers, decided as for a saved response.
    alerts = safety_signals(result)
    triage = instrument.triage.get(result.severity or "")
    if args.json:
        printed = result.as_dict()
        if triage:
            printed["triage"] = triage
        printed["alerts"] = [
            {"flag": a.flag, "finding": a.finding, "rule": a.rule, "source": a.source}
            for a in alerts
        ]
        print(json.dumps(printed))
        return 0
    total = "not summed" if result.total is None else str(result.total)
    print(f"{instrument.short_name}: total {total}", end="")
    print(f", {result.severity}" if result.severity else "", end="")
    print(f"; flags: {', '.join(result.flags)}" if result.flags else "")
    for name, value in result.subscales.items():
        print(f"  {name}: {value}")
    if triage:
        print(f"Triage: {triage} (source: {instrument.triage_source})")
    for alert in alerts:
        print(f"SAFETY ALERT: {alert.finding} — rule: {alert.rule} (source: {alert.source})")
    return 0


def _join_answers(argv: list[str]) -> list[str]:
    """``--answers -1,0`` as ``--answers=-1,0``: argparse would take "-1,0" for an option and
    answer with a usage screen instead of naming the item that is out of range."""
    joined: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--answers":
            value = next(args, None)
            joined.append(arg if value is None else f"--answers={value}")
        else:
            joined.append(arg)
    return joined


def _parse_answers(text: str) -> list[int]:
    answers = []
    for position, part in enumerate(text.split(","), start=1):
        try:
            answers.append(int(part.strip()))
        except ValueError:
            raise AnswerError(
                f"answer {position} ({part.strip()!r}) is not a whole number"
            ) from None
    return answers
