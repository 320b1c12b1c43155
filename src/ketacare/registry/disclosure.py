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
from ketacare.clinical.outcomes import cohort as stats
from ketacare.clinical.outcomes.complementary import Margin, complementary
from ketacare.patients.models import Patient
from ketacare.registry import forms, report
from ketacare.registry.dataset import Cohort, Dataset, load, narrow

logger = logging.getLogger(__name__)

Key = tuple[Any, ...]  # a count's place in a report: ("flow", "started", "count")

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
    return replace(base, **{name: value}) if name != WHOLE[0] else base


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
    minimum = stats.settings().small_cell_minimum
    siblings = [WHOLE] + [(c.name, v) for c in CHARACTERISTICS for v in c.values]
    built = {}
    for name, value in siblings:
        member = narrow(data, sibling(undated, name, value))
        raw = report.build(sibling(whole, name, value), deidentified=False, dataset=member)
        built[(name, value)] = (raw, report.suppressed(raw))
    table = _Table()
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
        label: blank(shown, {key[1:] for key in hidden if key[0] == label})
        for label, (_, shown) in built.items()
    }


# ---------------------------------------------------------------------------------------------
# The counts of one report


@dataclass
class _Table:
    values: dict[Key, int] = field(default_factory=dict)
    unpublished: set[Key] = field(default_factory=set)
    suppressed: set[Key] = field(default_factory=set)
    margins: list[Margin[Key]] = field(default_factory=list)
    same: list[tuple[Key, ...]] = field(default_factory=list)
    local: dict[Any, set[Key]] = field(default_factory=dict)  # each sibling's published keys

    def add_report(self, label: tuple[str, str], raw: report.Report, shown: report.Report) -> None:
        """The report's counts (true values from ``raw``; hidden already where ``shown`` has
        None), its own margins and its linked counts, each key prefixed with ``label``."""
        counts = _counts(raw)
        self.local[label] = set()
        for key, (value, published) in counts.values.items():
            cell = (label, *key)
            self.values[cell] = value
            if not published:
                self.unpublished.add(cell)
                continue
            self.local[label].add(key)
            if _get(shown, key) is None:
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


@dataclass
class _Counts:
    values: dict[Key, tuple[int, bool]] = field(default_factory=dict)  # value, published
    margins: list[Margin[Key]] = field(default_factory=list)
    same: list[tuple[Key, ...]] = field(default_factory=list)

    def add(self, key: Key, value: int | None, published: bool = True) -> bool:
        if value is None:
            return False
        self.values[key] = (int(value), published)
        return True

    def margin(self, total: Key, parts: list[Key], complete: bool = True) -> None:
        if total in self.values and all(p in self.values for p in parts):
            self.margins.append(Margin(total, tuple(parts), complete))

    def proportion(self, key: Key, p: stats.Proportion, n: Key | None = None) -> None:
        """count of n; ``n`` when the proportion's denominator is a count shown elsewhere."""
        if p.n is None or p.count is None:
            return
        # Its n is the other count when they agree (blank() hides the proportion with it).
        denominator = n if n is not None and self.values.get(n, (None,))[0] == p.n else None
        if denominator is None:
            denominator = (*key, "n")
            self.add(denominator, p.n)
        self.add((*key, "count"), p.count)
        self.add((*key, "rest"), p.n - p.count, published=False)
        self.margin(denominator, [(*key, "count"), (*key, "rest")])


def _counts(r: report.Report) -> _Counts:
    c = _Counts()
    previous: Key | None = None
    for step in r.flow:
        key: Key = ("flow", step.id, "count")
        c.add(key, step.count)
        if previous is not None and step.dropped is not None:
            c.add(("flow", step.id, "dropped"), step.dropped, published=False)
            c.margin(previous, [key, ("flow", step.id, "dropped")])
        previous = key

    for rates in r.rates:
        base: Key = ("rates", rates.instrument_id)
        c.add((*base, "n"), rates.n)
        c.add((*base, "population"), rates.population, published=False)
        exclusions = [(*base, "exclusions", e.reason, "count") for e in rates.exclusions]
        for e, key in zip(rates.exclusions, exclusions, strict=True):
            c.add(key, e.count)
        c.margin((*base, "population"), [(*base, "n"), *exclusions])
        c.proportion((*base, "response"), rates.response, (*base, "n"))
        if rates.remission is not None:
            c.proportion((*base, "remission"), rates.remission, (*base, "n"))

    t = r.time_to_response
    c.add(("time_to_response", "assessed"), t.assessed)
    c.add(("time_to_response", "n"), t.n)
    if t.assessed is not None and t.n is not None:
        c.add(("time_to_response", "rest"), t.assessed - t.n, published=False)
        c.margin(
            ("time_to_response", "assessed"),
            [("time_to_response", "n"), ("time_to_response", "rest")],
        )

    d = r.durability
    c.add(("durability", "n"), d.n)
    c.add(("durability", "events"), d.events)
    c.add(("durability", "censored"), d.censored, published=False)
    c.margin(("durability", "n"), [("durability", "events"), ("durability", "censored")])
    earlier: Key | None = None
    for a in d.at_risk:
        key = ("durability", "at_risk", a.day, "n")
        if not c.add(key, a.n):
            continue
        if earlier is None:
            if a.n == d.n:  # the number at risk on day 0 is every responder
                c.same.append((("durability", "n"), key))
        else:
            lost = ("durability", "at_risk", a.day, "lost")
            c.add(lost, c.values[earlier][0] - int(a.n), published=False)
            c.margin(earlier, [key, lost])
        earlier = key

    s = r.safety
    c.add(("safety", "sessions"), s.sessions)
    c.add(("safety", "patients"), s.patients)
    kinds = []
    for e in s.by_kind:
        key = ("safety", "by_kind", e.kind)
        kinds.append(key)
        c.add((*key, "events"), e.events)
        c.add((*key, "severe"), e.severe)
        if e.events is not None and e.severe is not None:
            c.add((*key, "mild"), e.events - e.severe, published=False)
            c.margin((*key, "events"), [(*key, "severe"), (*key, "mild")])
    c.add(("safety", "all_events", "events"), s.all_events.events, published=False)
    c.add(("safety", "all_events", "severe"), s.all_events.severe, published=False)
    c.margin(("safety", "all_events", "events"), [(*k, "events") for k in kinds])
    c.margin(("safety", "all_events", "severe"), [(*k, "severe") for k in kinds])
    c.proportion(
        ("safety", "severe_hypertension_sessions"),
        s.severe_hypertension_sessions,
        ("safety", "sessions"),
    )
    c.proportion(
        ("safety", "severe_hypertension_patients"),
        s.severe_hypertension_patients,
        ("safety", "patients"),
    )
    c.proportion(("safety", "gate_overrides"), s.gate_overrides, ("safety", "sessions"))
    ti = s.titration
    paths = [("safety", "titration", p) for p in ("rose", "fell", "stayed", "mixed")]
    for key, value in zip(paths, (ti.rose, ti.fell, ti.stayed, ti.mixed), strict=True):
        c.add(key, value)
    c.add(("safety", "titration", "single_session"), ti.single_session, published=False)
    if ti.patients == s.patients:
        c.margin(("safety", "patients"), [*paths, ("safety", "titration", "single_session")])

    m = r.misuse
    c.add(("misuse", "patients"), m.patients)
    for signal in (m.escalating_doses, m.early_requests, m.positive_screens_after_start):
        base = ("misuse", signal.id)
        c.proportion((*base, "patients"), signal.patients, ("misuse", "patients"))
        if signal.screened is not None:
            c.proportion((*base, "screened"), signal.screened, ("misuse", "patients"))
            if signal.patients.count is not None and signal.screened.count is not None:
                c.add(
                    (*base, "screened", "negative"),
                    signal.screened.count - signal.patients.count,
                    published=False,
                )
                c.margin(
                    (*base, "screened", "count"),
                    [(*base, "patients", "count"), (*base, "screened", "negative")],
                )

    # The patients who started, as the flow, the safety panel and the misuse signals count
    # them: one quantity where they agree (they differ only for a dose recorded without a
    # signed evaluation and eligibility, which the flow leaves out).
    started = [("flow", "started", "count"), ("safety", "patients"), ("misuse", "patients")]
    present = [k for k in started if k in c.values]
    for k in present[1:]:
        if c.values[k][0] == c.values[present[0]][0]:
            c.same.append((present[0], k))
    return c


# ---------------------------------------------------------------------------------------------
# Reading and blanking counts by key


def _child(obj: Any, name: Any) -> Any:
    if isinstance(obj, list | tuple):
        for item in obj:
            ident = next(
                (
                    getattr(item, a)
                    for a in ("id", "instrument_id", "kind", "day", "reason")
                    if hasattr(item, a)
                ),
                None,
            )
            if ident == name:
                return item
        raise KeyError(name)
    return getattr(obj, name)


def _get(obj: Any, key: Key) -> Any:
    for name in key:
        obj = _child(obj, name)
    return obj


def _set(obj: Any, key: Key, value: Any) -> Any:
    """``obj`` with the field at ``key`` replaced (a copy along the path)."""
    name, rest = key[0], key[1:]
    if isinstance(obj, list | tuple):
        items = [(_set(item, rest, value) if item is _child(obj, name) else item) for item in obj]
        return type(obj)(items)
    if not rest:
        return replace(obj, **{name: value, **({"suppressed": True} if _flagged(obj) else {})})
    return replace(obj, **{name: _set(getattr(obj, name), rest, value)})


def _flagged(obj: Any) -> bool:
    return "suppressed" in getattr(obj, "__dataclass_fields__", {})


def blank(r: report.Report, hidden: set[Key]) -> report.Report:
    """The report with every hidden count None, and what is computed from a hidden count (a
    rate, its interval, a share of the previous step, events per 100 sessions, a curve drawn
    from hidden counts) None or empty too."""
    for key in sorted(hidden, key=repr):
        r = _set(r, key, None)
    sessions_hidden = r.safety.sessions is None
    patients_hidden = r.safety.patients is None
    misuse_hidden = r.misuse.patients is None
    n_of = {
        ("safety", "severe_hypertension_sessions"): sessions_hidden,
        ("safety", "gate_overrides"): sessions_hidden,
        ("safety", "severe_hypertension_patients"): patients_hidden,
        **{("misuse", s.id, "patients"): misuse_hidden for s in _signals(r)},
        **{("misuse", s.id, "screened"): misuse_hidden for s in _signals(r) if s.screened},
    }
    for rates in r.rates:
        n_of[("rates", rates.instrument_id, "response")] = rates.n is None
        if rates.remission is not None:
            n_of[("rates", rates.instrument_id, "remission")] = rates.n is None
    for key, n_hidden in n_of.items():
        p = _get(r, key)
        r = _set(r, key, _proportion_shown(p, n_hidden))
    r = replace(r, flow=_flow_shown(r.flow), safety=_safety_shown(r.safety))
    return replace(r, durability=_curve_shown(r.durability))


def _signals(r: report.Report) -> list[stats.Signal]:
    m = r.misuse
    return [m.escalating_doses, m.early_requests, m.positive_screens_after_start]


def _proportion_shown(p: stats.Proportion, n_hidden: bool) -> stats.Proportion:
    if n_hidden or p.n is None:
        return stats.Proportion(None, None, None, None, None, suppressed=True)
    if p.count is None:
        return replace(p, rate=None, ci_lower=None, ci_upper=None, suppressed=True)
    return p


def _flow_shown(steps: list[stats.FlowStep]) -> list[stats.FlowStep]:
    shown, previous = [], None
    for step in steps:
        if step.share_of_previous is not None and (
            step.count is None or (previous is not None and previous.count is None)
        ):
            step = replace(step, share_of_previous=None, suppressed=True)
        shown.append(step)
        previous = step
    return shown


def _safety_shown(s: stats.Safety) -> stats.Safety:
    def rate(e: stats.EventRate) -> stats.EventRate:
        per_100 = e.per_100_sessions if e.events is not None and s.sessions is not None else None
        severe = e.severe_per_100_sessions if e.severe is not None and s.sessions else None
        if (per_100, severe) == (e.per_100_sessions, e.severe_per_100_sessions):
            return e
        return replace(e, per_100_sessions=per_100, severe_per_100_sessions=severe, suppressed=True)

    return replace(s, all_events=rate(s.all_events), by_kind=tuple(rate(e) for e in s.by_kind))


def _curve_shown(d: stats.SurvivalCurve) -> stats.SurvivalCurve:
    """No curve when the responders or the relapses are hidden: its steps would give them."""
    if d.n is not None and d.events is not None:
        return d
    return replace(
        d,
        timeline=(),
        survival=(),
        ci_lower=(),
        ci_upper=(),
        n_at_risk=(),
        median_days=None,
        median_ci_lower=None,
        median_ci_upper=None,
        suppressed=True,
    )
