"""Which scored responses must raise a safety alert, from ``data/safety.toml``."""

from dataclasses import dataclass

from ketacare.clinical.datafiles import load
from ketacare.clinical.instruments import Score


@dataclass(frozen=True)
class Signal:
    flag: str
    rule: str
    source: str


@dataclass(frozen=True)
class CrisisResources:
    heading: str
    lines: tuple[str, ...]
    not_monitored: str
    source: str


def safety_signals(score: Score) -> list[Signal]:
    """The alerts this score raises (empty for most responses)."""
    data = load("safety")
    return [
        Signal(rule["flag"], rule["rule"], data["source"])
        for rule in data["alerts"]
        if rule["instrument"] == score.instrument and rule["flag"] in score.flags
    ]


def crisis_resources() -> CrisisResources:
    """What the patient sees right after a response that raised an alert."""
    crisis = load("safety")["crisis"]
    return CrisisResources(
        crisis["heading"], tuple(crisis["lines"]), crisis["not_monitored"], crisis["source"]
    )
