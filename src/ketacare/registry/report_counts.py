"""The counts a registry report shows, each by its place in the report (("flow", "started",
"count")), with the margins that tie them (a flow step is the next one plus those who dropped
out; a proportion's count and its complement make its n) and the counts that two panels show;
and the report with chosen counts blanked, together with whatever is computed from them.
``registry.disclosure`` decides which."""

from dataclasses import dataclass, field, replace
from typing import Any

from ketacare.clinical.outcomes.cohort.durability import SurvivalCurve
from ketacare.clinical.outcomes.cohort.flow import FlowStep
from ketacare.clinical.outcomes.cohort.misuse import Signal
from ketacare.clinical.outcomes.cohort.proportions import Proportion
from ketacare.clinical.outcomes.cohort.safety import EventRate, Safety
from ketacare.clinical.outcomes.complementary import Margin
from ketacare.registry.report import Report

Key = tuple[Any, ...]  # a count's place in a report: ("flow", "started", "count")


@dataclass
class Counts:
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

    def proportion(self, key: Key, p: Proportion, n: Key | None = None) -> None:
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


def counts(r: Report) -> Counts:
    """Every count ``r`` holds (shown on the page or not), its margins and linked counts."""
    c = Counts()
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
        if a.n is None:
            continue
        c.add(key, a.n)
        if earlier is None:
            if a.n == d.n:  # the number at risk on day 0 is every responder
                c.same.append((("durability", "n"), key))
        else:
            lost = ("durability", "at_risk", a.day, "lost")
            c.add(lost, c.values[earlier][0] - a.n, published=False)
            c.margin(earlier, [key, lost])
        earlier = key

    s = r.safety
    c.add(("safety", "sessions"), s.sessions)
    c.add(("safety", "patients"), s.patients)
    kinds = []
    for kind in s.by_kind:
        key = ("safety", "by_kind", kind.kind)
        kinds.append(key)
        c.add((*key, "events"), kind.events)
        c.add((*key, "severe"), kind.severe)
        if kind.events is not None and kind.severe is not None:
            c.add((*key, "mild"), kind.events - kind.severe, published=False)
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
# Reading and blanking counts by place


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


def get(obj: Any, key: Key) -> Any:
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


def blank(r: Report, hidden: set[Key]) -> Report:
    """The report with every hidden count None, and what is computed from a hidden count (a
    rate, its interval, a share of the previous step, events per 100 sessions, a curve drawn
    from hidden counts) None or empty too."""
    for key in sorted(hidden, key=repr):
        r = _set(r, key, None)
    sessions_hidden = r.safety.sessions is None
    patients_hidden = r.safety.patients is None
    misuse_hidden = r.misuse.patients is None
    n_of: dict[Key, bool] = {
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
        p = get(r, key)
        r = _set(r, key, _proportion_shown(p, n_hidden))
    r = replace(r, flow=_flow_shown(r.flow), safety=_safety_shown(r.safety))
    return replace(r, durability=_curve_shown(r.durability))


def _signals(r: Report) -> list[Signal]:
    m = r.misuse
    return [m.escalating_doses, m.early_requests, m.positive_screens_after_start]


def _proportion_shown(p: Proportion, n_hidden: bool) -> Proportion:
    if n_hidden or p.n is None:
        return Proportion(None, None, None, None, None, suppressed=True)
    if p.count is None:
        return replace(p, rate=None, ci_lower=None, ci_upper=None, suppressed=True)
    return p


def _flow_shown(steps: list[FlowStep]) -> list[FlowStep]:
    shown, previous = [], None
    for step in steps:
        if step.share_of_previous is not None and (
            step.count is None or (previous is not None and previous.count is None)
        ):
            step = replace(step, share_of_previous=None, suppressed=True)
        shown.append(step)
        previous = step
    return shown


def _safety_shown(s: Safety) -> Safety:
    def rate(e: EventRate) -> EventRate:
        per_100 = e.per_100_sessions if e.events is not None and s.sessions is not None else None
        severe = e.severe_per_100_sessions if e.severe is not None and s.sessions else None
        if (per_100, severe) == (e.per_100_sessions, e.severe_per_100_sessions):
            return e
        return replace(e, per_100_sessions=per_100, severe_per_100_sessions=severe, suppressed=True)

    return replace(s, all_events=rate(s.all_events), by_kind=tuple(rate(e) for e in s.by_kind))


def _curve_shown(d: SurvivalCurve) -> SurvivalCurve:
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
