"""The C-SSRS screener at the front door: the instrument, its scoring and Columbia triage and
the safety signals are those of ``clinical`` (one rule, one function); this module only puts
them together for a referral and reads the clinic's wording of the questions.

ketacare ships no C-SSRS item text (its licence for software is not confirmed,
``cssrs_screen.toml``). A person at home needs words, not "Q1", so the installation names a
TOML file of its own licensed wording (``KETACARE_SCREENER_WORDING``: ``questions``, seven
strings, and its ``source``). Without one the start page offers no form, only the crisis lines
and the clinic's phone: a front door that cannot screen must not take referrals unscreened."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ketacare.clinical.instruments import Instrument, get, score
from ketacare.clinical.safety import Signal, safety_signals

INSTRUMENT_ID = "cssrs_screen"
# The risk level whose triage is "immediate safety precautions and evaluation": the crisis page.
CRISIS_RISK = "high"


class WordingError(ValueError):
    """The configured wording file cannot be used."""


@dataclass(frozen=True)
class Triage:
    answers: tuple[int, ...]
    risk: str
    triage: str
    signals: tuple[Signal, ...]

    @property
    def crisis(self) -> bool:
        return self.risk == CRISIS_RISK


def instrument() -> Instrument:
    return get(INSTRUMENT_ID)


def judge(answers: list[int]) -> Triage:
    """Score the answers (``AnswerError`` if they break the skip logic) and triage them."""
    cssrs = instrument()
    result = score(cssrs, answers)
    risk = result.severity or "none"
    return Triage(
        tuple(result.item_scores),
        risk,
        cssrs.triage.get(risk, ""),
        tuple(safety_signals(result)),
    )


def wording() -> tuple[str, ...] | None:
    """The installation's wording of the seven questions, or None if it has none."""
    path = getattr(settings, "KETACARE_SCREENER_WORDING", "")
    if not path:
        return None
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise WordingError(f"screener wording {path}: {error}") from error
    questions = data.get("questions")
    if (
        not isinstance(questions, list)
        or len(questions) != len(instrument().items)
        or not all(isinstance(q, str) and q.strip() for q in questions)
        or not data.get("source")
    ):
        raise WordingError(
            f"screener wording {path}: needs `source` and `questions`, "
            f"{len(instrument().items)} non-empty strings"
        )
    return tuple(questions)
