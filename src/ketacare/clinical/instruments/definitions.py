"""Instrument definitions, loaded from the TOML data files beside this module."""

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from ketacare.clinical.datafiles import load

DATA = files("ketacare.clinical.instruments").joinpath("data")
INSTRUMENT_IDS: tuple[str, ...] = tuple(
    sorted(p.name.removesuffix(".toml") for p in DATA.iterdir() if p.name.endswith(".toml"))
)


class UnknownInstrumentError(LookupError):
    """No data file defines this instrument."""


class DefinitionError(ValueError):
    """A data file is inconsistent (e.g. its bands leave a gap)."""


@dataclass(frozen=True)
class Option:
    value: int
    label: str
    loinc: str | None = None


@dataclass(frozen=True)
class Item:
    number: int
    label: str
    """Item text where its licence allows shipping it, else a neutral label ("Item 3")."""
    text: str | None
    loinc: str | None
    options: tuple[Option, ...]

    @property
    def min_value(self) -> int:
        return min(o.value for o in self.options)

    @property
    def max_value(self) -> int:
        return max(o.value for o in self.options)


@dataclass(frozen=True)
class Band:
    id: str
    min: int
    max: int


@dataclass(frozen=True)
class Flag:
    """A named signal raised by a rule on an item, the total, the risk level or item clusters."""

    id: str
    source: str
    item: int | None = None
    item_min: int | None = None
    label: str | None = None
    """What the flag's item asks about, in a few words ("thoughts of death or suicide"): alerts
    name it, also for instruments whose item text ketacare may not ship."""
    total_min: int | None = None
    total_min_female: int | None = None
    total_max: int | None = None
    risk: str | None = None
    symptom_min: int | None = None
    clusters: tuple[tuple[int, ...], ...] = ()
    clusters_need: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outcomes:
    """Thresholds for change over time; percentages are drops from baseline."""

    source: str
    response_drop_percent: float | None = None
    remission_max: int | None = None
    mcid: int | None = None
    reliable_change: int | None = None


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    short_name: str
    version: str
    source: str
    licence: str
    item_text_licensed: bool
    respondent: str
    scoring: str
    items: tuple[Item, ...]
    prompt: str | None = None
    loinc_panel: str | None = None
    loinc_total: str | None = None
    bands: tuple[Band, ...] = ()
    flags: tuple[Flag, ...] = ()
    subscales: dict[str, tuple[int, ...]] = field(default_factory=dict)
    max_groups: tuple[tuple[int, ...], ...] = ()
    reverse_items: frozenset[int] = frozenset()
    needs_sex: bool = False
    risk_levels: tuple[str, ...] = ()
    item_risk: tuple[str, ...] = ()
    triage: dict[str, str] = field(default_factory=dict)
    """Risk level -> what it asks of the clinic (the C-SSRS screener's Columbia triage)."""
    triage_source: str | None = None
    requires: dict[int, int] = field(default_factory=dict)
    """Skip logic: item number -> the earlier item that must be answered above its lowest value
    for it to be asked. An item not asked counts as its lowest value (no)."""
    outcomes: Outcomes | None = None

    @property
    def units(self) -> tuple[tuple[int, ...], ...]:
        """The groups of item numbers whose highest answer counts once towards the total."""
        grouped = {n for group in self.max_groups for n in group}
        singles = [(item.number,) for item in self.items if item.number not in grouped]
        return tuple(sorted([*self.max_groups, *singles]))

    @property
    def total_range(self) -> tuple[int, int] | None:
        """Lowest and highest possible total; None for instruments that are not summed."""
        if self.scoring != "sum":
            return None
        by_number = {item.number: item for item in self.items}
        low = sum(min(by_number[n].min_value for n in unit) for unit in self.units)
        high = sum(max(by_number[n].max_value for n in unit) for unit in self.units)
        return low, high

    def band_for(self, total: int) -> str | None:
        return next((b.id for b in self.bands if b.min <= total <= b.max), None)


def _options(raw: dict[str, Any]) -> tuple[Option, ...]:
    values = raw["values"]
    labels = raw.get("labels") or [str(v) for v in values]
    loincs = raw.get("loinc") or [None] * len(values)
    return tuple(Option(v, lbl, code) for v, lbl, code in zip(values, labels, loincs, strict=True))


def _items(raw: dict[str, Any]) -> tuple[Item, ...]:
    default_options = raw.get("options")
    if "items" in raw:
        specs = raw["items"]
    else:
        labels = raw.get("item_labels") or [f"Item {n}" for n in range(1, raw["items_count"] + 1)]
        codes = raw.get("item_loinc") or [None] * len(labels)
        specs = [{"label": label, "loinc": code} for label, code in zip(labels, codes, strict=True)]
    items = []
    for number, spec in enumerate(specs, start=1):
        options_raw = spec.get("options") or default_options
        if options_raw is None:
            raise DefinitionError(f"{raw['id']} item {number} has no answer options")
        text = spec.get("text") if raw["item_text_licensed"] else None
        items.append(
            Item(
                number=number,
                label=text or spec.get("label") or f"Item {number}",
                text=text,
                loinc=spec.get("loinc"),
                options=_options(options_raw),
            )
        )
    return tuple(items)


def _flag(raw: dict[str, Any]) -> Flag:
    return Flag(
        id=raw["id"],
        source=raw.get("source", ""),
        item=raw.get("item"),
        item_min=raw.get("min"),
        label=raw.get("label"),
        total_min=raw.get("total_min"),
        total_min_female=raw.get("total_min_female"),
        total_max=raw.get("total_max"),
        risk=raw.get("risk"),
        symptom_min=raw.get("symptom_min"),
        clusters=tuple(tuple(c) for c in raw.get("clusters", ())),
        clusters_need=tuple(raw.get("clusters_need", ())),
    )


def parse(raw: dict[str, Any]) -> Instrument:
    """An Instrument from a data file's parsed TOML, checked for consistency."""
    outcomes = raw.get("outcomes")
    instrument = Instrument(
        id=raw["id"],
        name=raw["name"],
        short_name=raw["short_name"],
        version=raw["version"],
        source=raw["source"],
        licence=raw["licence"],
        item_text_licensed=raw["item_text_licensed"],
        respondent=raw["respondent"],
        scoring=raw["scoring"],
        items=_items(raw),
        prompt=raw.get("prompt"),
        loinc_panel=raw.get("loinc_panel"),
        loinc_total=raw.get("loinc_total"),
        bands=tuple(Band(b["id"], b["min"], b["max"]) for b in raw.get("bands", ())),
        flags=tuple(_flag(f) for f in raw.get("flags", ())),
        subscales={s["id"]: tuple(s["items"]) for s in raw.get("subscales", ())},
        max_groups=tuple(tuple(g) for g in raw.get("max_groups", ())),
        reverse_items=frozenset(raw.get("reverse_items", ())),
        needs_sex=raw.get("needs_sex", False),
        risk_levels=tuple(raw.get("risk_levels", ())),
        item_risk=tuple(raw.get("item_risk", ())),
        triage=dict(raw.get("triage", {})),
        triage_source=raw.get("triage_source"),
        requires={int(k): v for k, v in raw.get("requires", {}).items()},
        outcomes=Outcomes(
            source=outcomes["source"],
            response_drop_percent=outcomes.get("response_drop_percent"),
            remission_max=outcomes.get("remission_max"),
            mcid=outcomes.get("mcid"),
            reliable_change=outcomes.get("reliable_change"),
        )
        if outcomes
        else None,
    )
    _check(instrument)
    return instrument


def _check(instrument: Instrument) -> None:
    if instrument.scoring not in ("sum", "highest_risk"):
        raise DefinitionError(f"{instrument.id}: unknown scoring rule {instrument.scoring!r}")
    total_range = instrument.total_range
    if instrument.bands and total_range is not None:
        expected = total_range[0]
        for band in sorted(instrument.bands, key=lambda b: b.min):
            if band.min != expected:
                raise DefinitionError(
                    f"{instrument.id}: bands leave a gap or overlap at {expected}"
                )
            expected = band.max + 1
        if expected != total_range[1] + 1:
            raise DefinitionError(
                f"{instrument.id}: bands end at {expected - 1}, not {total_range[1]}"
            )
    if instrument.scoring == "highest_risk" and len(instrument.item_risk) != len(instrument.items):
        raise DefinitionError(f"{instrument.id}: item_risk must name a level for every item")
    if instrument.triage and (
        not set(instrument.triage) <= set(instrument.risk_levels) or not instrument.triage_source
    ):
        raise DefinitionError(f"{instrument.id}: triage must name risk levels and its source")
    for flag in instrument.flags:
        # A flag on one item reads its score, which alerts show as the answer: reversing it
        # would make the two differ.
        if flag.item is not None and (
            not 1 <= flag.item <= len(instrument.items) or flag.item in instrument.reverse_items
        ):
            raise DefinitionError(
                f"{instrument.id}: flag {flag.id} must name an item that is not reverse-scored"
            )
    for item_number, needed in instrument.requires.items():
        if not (1 <= needed < item_number <= len(instrument.items)):
            raise DefinitionError(
                f"{instrument.id}: item {item_number} can only depend on an earlier item"
            )


@cache
def get(instrument_id: str) -> Instrument:
    """The instrument defined by ``data/<instrument_id>.toml``."""
    if instrument_id not in INSTRUMENT_IDS:
        raise UnknownInstrumentError(
            f"unknown instrument {instrument_id!r}; known: {', '.join(INSTRUMENT_IDS)}"
        )
    raw = load(instrument_id, package="ketacare.clinical.instruments")
    return parse(raw)
