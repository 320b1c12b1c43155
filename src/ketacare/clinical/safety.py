"""Which scored responses must raise a safety alert, from ``data/safety.toml``.

``safety_signals`` is the one function that decides, for every instrument: the patient's link,
staff entry, the synthetic clinic and ``ketacare score`` all call it on the score. The threshold
of a suicide item (PHQ-9 item 9, QIDS-SR16 item 12, MADRS item 10) lives in its instrument's
data file as the ``suicidal_ideation`` flag; ``safety.toml`` says which flags alert.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ketacare.clinical.datafiles import load
from ketacare.clinical.instruments import Instrument, Score, get
from ketacare.clinical.instruments.definitions import Flag


@dataclass(frozen=True)
class Signal:
    """One alert a response raises: the rule and its source, and what in the answers met it."""

    flag: str
    rule: str
    source: str
    instrument: str
    """The instrument's short name, e.g. "QIDS-SR16"."""
    item: int | None = None
    """The item whose answer met the rule; None for a rule on the whole response (C-SSRS)."""
    item_label: str | None = None
    answer: int | None = None
    endorsed: tuple[str, ...] = ()
    """For a rule on the whole response: the items answered above their lowest value."""

    @property
    def finding(self) -> str:
        """What raised it, e.g. "QIDS-SR16 item 12 (thoughts of death or suicide) = 2"."""
        if self.item is not None:
            return f"{self.instrument} item {self.item} ({self.item_label}) = {self.answer}"
        if self.endorsed:
            return f"{self.instrument}: yes to {', '.join(self.endorsed)}"
        return self.instrument


@dataclass(frozen=True)
class CrisisResources:
    heading: str
    lines: tuple[str, ...]
    not_monitored: str
    source: str


def safety_signals(score: Score) -> list[Signal]:
    """The alerts this score raises (empty for most responses)."""
    instrument = get(score.instrument)
    data = load("safety")
    return [
        _signal(instrument, entry, score.item_scores, data["source"])
        for entry in data["alerts"]
        if entry.get("instrument", instrument.id) == instrument.id and entry["flag"] in score.flags
    ]


def recorded_signal(
    instrument_id: str, flag: str, rule: str, source: str, answers: Sequence[int]
) -> Signal:
    """The signal behind an alert already raised, from its stored response's answers.

    No threshold is applied again (the clinic may have changed it since): this only says which
    item, and which answer to it, the alert was about; ``rule`` and ``source`` are the alert's
    own, as recorded when it opened."""
    instrument = get(instrument_id)
    found = _item_flag(instrument, flag)
    if found is not None and found.item is not None and len(answers) >= found.item:
        return Signal(
            flag,
            rule,
            source,
            instrument.short_name,
            found.item,
            found.label,
            answers[found.item - 1],
        )
    return Signal(
        flag, rule, source, instrument.short_name, endorsed=_endorsed(instrument, answers)
    )


def crisis_resources(language: str = "en") -> CrisisResources:
    """What the patient sees right after a response that raised an alert, worded in
    ``language`` where the data file has it (else in English; the numbers are the same)."""
    crisis = load("safety")["crisis"]
    worded = crisis.get(language, crisis)
    return CrisisResources(
        worded["heading"], tuple(worded["lines"]), worded["not_monitored"], crisis["source"]
    )


def _signal(
    instrument: Instrument, entry: dict[str, Any], item_scores: Sequence[int], source: str
) -> Signal:
    flag = _item_flag(instrument, entry["flag"])
    if flag is not None and flag.item is not None:
        return Signal(
            entry["flag"],
            entry.get("rule")
            or (
                f"{instrument.short_name} item {flag.item} ({flag.label}) at {flag.item_min} "
                "or above"
            ),
            entry.get("source") or flag.source or source,
            instrument.short_name,
            flag.item,
            flag.label,
            item_scores[flag.item - 1],
        )
    return Signal(
        entry["flag"],
        entry["rule"],
        entry.get("source") or source,
        instrument.short_name,
        endorsed=_endorsed(instrument, item_scores),
    )


def _item_flag(instrument: Instrument, flag_id: str) -> Flag | None:
    return next((f for f in instrument.flags if f.id == flag_id and f.item is not None), None)


def _endorsed(instrument: Instrument, answers: Sequence[int]) -> tuple[str, ...]:
    return tuple(
        item.label
        for item, answer in zip(instrument.items, answers, strict=False)
        if answer != item.min_value
    )
