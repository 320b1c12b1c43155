"""The medical director's report for one cohort: every statistic of ``clinical/outcomes``
over the registry dataset, suppressed for the researcher role."""

from dataclasses import dataclass, replace
from typing import Any

from ketacare.clinical.datafiles import load
from ketacare.clinical.outcomes.cohort import config
from ketacare.clinical.outcomes.cohort.durability import SurvivalCurve, durability
from ketacare.clinical.outcomes.cohort.flow import FlowStep, flow
from ketacare.clinical.outcomes.cohort.misuse import MisuseSignals, misuse_signals
from ketacare.clinical.outcomes.cohort.response import (
    Rates,
    TimeToResponse,
    response_remission,
    time_to_response,
)
from ketacare.clinical.outcomes.cohort.safety import Safety, safety
from ketacare.clinical.outcomes.cohort.suppression import suppress
from ketacare.registry.dataset import Cohort, Dataset
from ketacare.registry.dataset import load as load_dataset

INSTRUMENTS = ("phq9", "gad7", "madrs")


@dataclass(frozen=True)
class Report:
    cohort: Cohort
    deidentified: bool
    flow: list[FlowStep]
    rates: list[Rates]
    time_to_response: TimeToResponse
    durability: SurvivalCurve
    safety: Safety
    misuse: MisuseSignals
    published: dict[str, Any]
    settings: config.Settings

    @property
    def suppressed(self) -> str:
        """What a suppressed count shows: "<11" for cohort.toml's small-cell minimum of 11."""
        return f"<{self.settings.small_cell_minimum}"

    @property
    def confidence(self) -> str:
        """The level of every interval, as a page writes it: "95 %"."""
        return f"{self.settings.confidence_level * 100:g} %"


def build(cohort: Cohort, deidentified: bool, dataset: Dataset | None = None) -> Report:
    """The report of ``cohort`` over ``dataset`` (loaded when not given).

    ``deidentified`` (the researcher's report): every count under the small-cell threshold
    is hidden, and every count that would give a hidden one away by subtraction, within the
    report or together with the report of another cohort the researcher can ask for
    (``registry.disclosure``). ``dataset`` is then the cohort's clinic and months before
    its other filters, since the other cohorts are drawn from it."""
    if deidentified:
        # Imported here: disclosure builds each sibling cohort's report with this module.
        from ketacare.registry import disclosure

        return disclosure.deidentified(cohort, dataset)
    data = dataset or load_dataset(cohort)
    patients, scores = data.patients, data.scores
    rates = [
        response_remission(patients, scores, instrument)
        for instrument in INSTRUMENTS
        if not scores.empty and (scores["instrument_id"] == instrument).any()
    ] or [response_remission(patients, scores, "phq9")]
    parts: dict[str, Any] = {
        "flow": flow(patients, scores),
        "rates": rates,
        "time_to_response": time_to_response(patients, scores),
        "durability": durability(patients, scores),
        "safety": safety(data.sessions, data.adverse_events),
        "misuse": misuse_signals(patients, data.sessions, scores),
    }
    return Report(
        cohort=cohort,
        deidentified=False,
        published=load("published", package="ketacare.clinical.outcomes"),
        settings=config.settings(),
        **parts,
    )


def suppressed(raw: Report) -> Report:
    """The report with each panel's small counts, and what would reveal them within the
    panel, hidden (``cohort.suppression.suppress``): the first step of the researcher's report."""
    return replace(
        raw,
        deidentified=True,
        flow=suppress(raw.flow),
        rates=[suppress(r) for r in raw.rates],
        time_to_response=suppress(raw.time_to_response),
        durability=suppress(raw.durability),
        safety=suppress(raw.safety),
        misuse=suppress(raw.misuse),
    )
