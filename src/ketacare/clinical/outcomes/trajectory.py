"""Classifying a patient's series of scores on one instrument."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from ketacare.clinical.datafiles import load
from ketacare.clinical.instruments import Instrument


@dataclass(frozen=True)
class Measure:
    """One total score, taken at ``taken_at``."""

    taken_at: datetime
    total: int


@dataclass(frozen=True)
class Classification:
    """Whether a patient meets an outcome definition, and the rule that says so."""

    id: str
    met: bool
    rule: str
    source: str
    since: datetime | None = None

    @property
    def label(self) -> str:
        """'reliable_improvement' -> 'Reliable improvement'."""
        return self.id.replace("_", " ").capitalize()


@dataclass(frozen=True)
class RelapsePolicy:
    consecutive_measures: int
    source: str


@dataclass(frozen=True)
class Assessment:
    instrument: str
    baseline: Measure | None
    latest: Measure | None
    change: int | None
    """Latest minus baseline: negative is improvement on every instrument ketacare ships."""
    percent_change: float | None
    classifications: tuple[Classification, ...]
    note: str = ""

    def get(self, classification_id: str) -> Classification | None:
        return next((c for c in self.classifications if c.id == classification_id), None)


def relapse_policy() -> RelapsePolicy:
    """The relapse definition from ``outcomes/data/relapse.toml`` (clinic policy)."""
    data = load("relapse", package="ketacare.clinical.outcomes")
    return RelapsePolicy(int(data["consecutive_measures"]), str(data["source"]))


def assess(
    instrument: Instrument,
    measures: Sequence[Measure],
    first_treatment: datetime | None,
    policy: RelapsePolicy | None = None,
) -> Assessment:
    """Baseline is the last measure on or before the first treatment (or, before any treatment,
    the latest measure); every later measure is compared with it."""
    policy = policy or relapse_policy()
    ordered = sorted(measures, key=lambda m: m.taken_at)
    if not ordered:
        return Assessment(instrument.id, None, None, None, None, (), "No scores yet.")
    before = [m for m in ordered if first_treatment is None or m.taken_at <= first_treatment]
    if not before:
        return Assessment(
            instrument.id,
            None,
            ordered[-1],
            None,
            None,
            (),
            "No score before the first treatment, so there is no baseline to compare with.",
        )
    baseline = before[-1]
    after = [m for m in ordered if m.taken_at > baseline.taken_at]
    latest = ordered[-1]
    change = latest.total - baseline.total
    percent = _percent(baseline.total, latest.total)
    outcomes = instrument.outcomes
    if outcomes is None or not after:
        note = "No score since baseline." if not after else "No outcome thresholds defined."
        return Assessment(instrument.id, baseline, latest, change, percent, (), note)

    found: list[Classification] = []
    if outcomes.response_drop_percent is not None:
        found.append(_response(instrument, baseline, latest, outcomes.response_drop_percent))
        found.append(_relapse(instrument, baseline, after, outcomes.response_drop_percent, policy))
    if outcomes.remission_max is not None:
        found.append(
            Classification(
                "remission",
                latest.total <= outcomes.remission_max,
                f"{instrument.short_name} total <= {outcomes.remission_max} "
                f"(latest {latest.total})",
                outcomes.source,
            )
        )
    meaningful = outcomes.mcid or outcomes.reliable_change
    if meaningful is not None:
        kind = "MCID" if outcomes.mcid else "reliable change"
        found.append(
            Classification(
                "reliable_improvement",
                -change >= meaningful,
                f"drop of at least {meaningful} points ({kind}); change {change:+d}",
                outcomes.source,
            )
        )
        found.append(
            Classification(
                "reliable_worsening",
                change >= meaningful,
                f"rise of at least {meaningful} points ({kind}); change {change:+d}",
                outcomes.source,
            )
        )
    return Assessment(instrument.id, baseline, latest, change, percent, tuple(found))


def _percent(baseline: int, latest: int) -> float | None:
    if baseline == 0:
        return None  # no drop is possible from zero; a percentage would divide by it
    return round(100 * (latest - baseline) / baseline, 1)


def _responded(baseline: Measure, measure: Measure, drop_percent: float) -> bool:
    # Exact arithmetic: a 50 % drop from 15 is 7.5, and 7 must count while 8 must not.
    if baseline.total == 0:
        return False
    drop = Fraction(baseline.total - measure.total, baseline.total) * 100
    return drop >= Fraction(str(drop_percent))


def _response(
    instrument: Instrument, baseline: Measure, latest: Measure, drop_percent: float
) -> Classification:
    assert instrument.outcomes is not None
    return Classification(
        "response",
        _responded(baseline, latest, drop_percent),
        f"{instrument.short_name} at least {drop_percent:g} % below baseline "
        f"{baseline.total} (latest {latest.total})",
        instrument.outcomes.source,
    )


def _relapse(
    instrument: Instrument,
    baseline: Measure,
    after: Sequence[Measure],
    drop_percent: float,
    policy: RelapsePolicy,
) -> Classification:
    rule = (
        f"after a response, {policy.consecutive_measures} consecutive scores less than "
        f"{drop_percent:g} % below baseline {baseline.total}"
    )
    responded = False
    run: list[Measure] = []
    for measure in after:
        if _responded(baseline, measure, drop_percent):
            responded, run = True, []
        elif responded:
            run.append(measure)
            if len(run) >= policy.consecutive_measures:
                return Classification("relapse", True, rule, policy.source, since=run[0].taken_at)
    return Classification("relapse", False, rule, policy.source)
