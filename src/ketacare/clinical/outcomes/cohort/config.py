"""The analysis numbers of ``outcomes/data/cohort.toml``. Every module of the package reads
them as ``config.settings()`` (not a name imported from here), so that one replacement of
``config.settings`` changes the threshold or the level everywhere at once."""

from dataclasses import dataclass
from functools import cache

from ketacare.clinical.datafiles import load


@dataclass(frozen=True)
class Settings:
    """The analysis numbers of ``outcomes/data/cohort.toml`` (its baseline lookback is read by
    ``trajectory.baseline_rule``, the one definition of baseline)."""

    outcome_window_days: tuple[int, int]
    confidence_level: float
    small_cell_minimum: int
    at_risk_days: tuple[float, ...]
    version: str
    source: str


@cache
def settings() -> Settings:
    """The cohort analysis settings from ``outcomes/data/cohort.toml``."""
    data = load("cohort", package="ketacare.clinical.outcomes")
    low, high = data["outcome_window_days"]
    return Settings(
        outcome_window_days=(int(low), int(high)),
        confidence_level=float(data["confidence_level"]),
        small_cell_minimum=int(data["small_cell_minimum"]),
        at_risk_days=tuple(float(d) for d in data["at_risk_days"]),
        version=str(data["version"]),
        source=str(data["source"]),
    )
