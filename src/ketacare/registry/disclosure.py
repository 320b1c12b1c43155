"""What the researcher's (de-identified) registry report may show, so that no hidden count can
be worked out by subtraction from the counts shown — on the page or on another page the same
researcher can ask for.

A researcher's cohort is the clinic's patients in a range of whole months, narrowed by at
most one of sex, age band, indication or route. The report of every such sibling cohort (the
whole range, each sex, each age band, each indication, each route) is built, and their counts
form one table: the siblings of a characteristic add up to the whole range (with a rest that
no filter selects, such as patients without a listed indication), the flow's steps add up
along the flow, a count that two panels show is one cell. Complementary suppression
(``clinical.outcomes.complementary``) over that table decides what is hidden, the same way
whichever of the siblings is asked for, and the requested report is returned with those
counts, and whatever is computed from them, blanked.

Why one characteristic at a time: with two, every combination of them would have to be in the
table (every sex by every age band by every indication by every route), too many reports to
build per page. The row-level research export is the way to finer cuts, under a data-use
agreement.
"""

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from ketacare.clinical.eligibility import ROUTES
from ketacare.clinical.outcomes.cohort import config
from ketacare.clinical.outcomes.complementary import Margin, complementary
from ketacare.patients.models import Patient
from ketacare.registry import forms, report, report_counts
from ketacare.registry.dataset import Cohort, Dataset, load, narrow

logger = logging.getLogger(__name__)

Key = report_counts.Key

# The dashboard's age bands and indications (the form offers these): ages under 18 and
# indications outside the list fall in none, the margin's unlisted rest.
AGE_BANDS = {band: ages for band, ages in forms.AGE_BANDS.items() if band}
INDICATIONS = tuple(forms.INDICATIONS)


@dataclass(frozen=True)
class Characteristic:
    name: str
    values: tuple[str, ...]
    complete: bool
    """Every patient has one of the values (sex at birth is required)."""


CHARACTERISTICS = (
    Characteristic("sex", tuple(Patient.SexAtBirth.values), complete=True),
    Characteristic("age_band", tuple(AGE_BANDS), complete=False),
    Characteristic("indication", INDICATIONS, complete=False),
    Characteristic("route", tuple(ROUTES), complete=False),
)
WHOLE = ("whole", "")  # the sibling with no characteristic chosen


def sibling(base: Cohort, name: str, value: str) -> Cohort:
    """The base cohort (a clinic and a range) narrowed by one characteristic."""
    if name == "age_band":
        low, high = AGE_BANDS[value]
        return replace(base, min_age=low, max_age=high)
    changes: dict[str, Any] = {name: value}
    return replace(base, **changes) if name != WHOLE[0] else base


def chosen(cohort: Cohort) -> tuple[str, str]:
    """Which sibling a researcher's cohort is; ValueError for two characteristics at once."""
    picked = [
        (name, value)
        for name, value in (
            ("sex", cohort.sex),
            ("indication", cohort.indication),
            ("route", cohort.route),
        )
        if value
    ]
    if cohort.min_age is not None or cohort.max_age is not None:
        band = next(
            (b for b, r in AGE_BANDS.items() if r == (cohort.min_age, cohort.max_age)), None
        )
        if band is None:
            raise ValueError("the de-identified view takes the age bands it offers")
        picked.append(("age_band", band))
    if len(picked) > 1:
        raise ValueError("the de-identified view narrows by one characteristic at a time")
    return picked[0] if picked else WHOLE


def deidentified(cohort: Cohort, base: Dataset | None = None) -> report.Report:
    """The researcher's report of ``cohort``, suppressed across its siblings. ``base`` holds
    the clinic's patients of the cohort's months, or more (loaded when not given)."""
    which = chosen(cohort)
    whole = replace(cohort, sex=None, indication=None, route=None, min_age=None, max_age=None)
    return replace(every_sibling(whole, base)[which], cohort=cohort)


def every_sibling(
    whole: Cohort, base: Dataset | None = None
) -> dict[tuple[str, str], report.Report]:
    """The researcher's report of every sibling of ``whole`` (a clinic and months), by
    (characteristic, value); ``WHOLE`` for ``whole`` itself."""
    data = narrow(base, whole) if base is not None else load(whole)
    undated = replace(whole, start=None, end=None)  # the months are applied already
    minimum = config.settings().small_cell_minimum
    siblings = [WHOLE] + [(c.name, v) for c in CHARACTERISTICS for v in c.values]
    built = {}
    for name, value in siblings:
        member = narrow(data, sibling(undated, name, value))
        raw = report.build(sibling(whole, name, value), deidentified=False, dataset=member)
        built[(name, value)] = (raw, report.suppressed(raw))
    table = SiblingTable()
    for label, (raw, shown) in built.items():
        table.add_report(label, raw, shown)
    table.add_siblings()
    try:
        hidden = complementary(
            table.values,
            table.margins,
            minimum,
            unpublished=table.unpublished,
            suppressed=table.suppressed,
            same=table.same,
        )
    except ValueError:
        # The table's margins do not add up: a count is not what this module takes it for.
        # Show nothing rather than something that might be subtracted.
        logger.exception("registry suppression table is inconsistent; every count hidden")
        hidden = frozenset(table.values) - table.unpublished
    return {
        label: report_counts.blank(shown, {key[1:] for key in hidden if key[0] == label})
        for label, (_, shown) in built.items()
    }


@dataclass
class SiblingTable:
    """The counts of every sibling cohort's report as one table for ``complementary``: cells
    keyed by (sibling, *place in the report)."""

    values: dict[Key, int] = field(default_factory=dict)
    unpublished: set[Key] = field(default_factory=set)
    suppressed: set[Key] = field(default_factory=set)
    margins: list[Margin[Key]] = field(default_factory=list)
    same: list[tuple[Key, ...]] = field(default_factory=list)

    def add_report(self, label: tuple[str, str], raw: report.Report, shown: report.Report) -> None:
        """The report's counts (true values from ``raw``; hidden already where ``shown`` has
        None), its own margins and its linked counts, each key prefixed with ``label``."""
        counts = report_counts.counts(raw)
        for key, (value, published) in counts.values.items():
            cell = (label, *key)
            self.values[cell] = value
            if not published:
                self.unpublished.add(cell)
                continue
            if report_counts.get(shown, key) is None:
                self.suppressed.add(cell)
        for margin in counts.margins:
            self.margins.append(
                Margin(
                    (label, *margin.total),
                    tuple((label, *p) for p in margin.parts),
                    margin.complete,
                )
            )
        for group in counts.same:
            self.same.append(tuple((label, *key) for key in group))

    def add_siblings(self) -> None:
        """Each count of the whole range is the sum of that count over the values of each
        characteristic (and, for an incomplete one, of a rest never shown)."""
        for characteristic in CHARACTERISTICS:
            for cell in [c for c in self.values if c[0] == WHOLE]:
                key = cell[1:]
                parts = tuple(
                    (label, *key)
                    for label in ((characteristic.name, v) for v in characteristic.values)
                    if (label, *key) in self.values
                )
                self.margins.append(Margin(cell, parts, characteristic.complete))
