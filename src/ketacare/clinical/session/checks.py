"""Vital signs against the thresholds of the dosing day. Every check that fires names its
rule and source; none decides alone (a prescriber may override the gate with a reason)."""

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from ketacare.clinical import instruments
from ketacare.clinical.datafiles import load

_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


@dataclass(frozen=True)
class VitalSigns:
    """One set of observations; None where it was not taken."""

    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    respiratory_rate: int | None = None
    moaas: int | None = None

    def value(self, name: str) -> int | None:
        value: int | None = getattr(self, name)
        return value


@dataclass(frozen=True)
class Check:
    id: str
    routes: tuple[str, ...]
    conditions: tuple[tuple[str, str, float], ...]  # (field, op, value): any one fires
    message: str
    source: str
    policy: bool
    recheck_minutes: int | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The vital signs this check looks at, in order, once each."""
        return tuple(dict.fromkeys(name for name, _, _ in self.conditions))

    def hits(self, vitals: VitalSigns) -> dict[str, int]:
        """The values of ``vitals`` that make this check fire (empty: it does not)."""
        return {
            name: value
            for name, op, limit in self.conditions
            if (value := vitals.value(name)) is not None and _OPS[op](value, limit)
        }


@dataclass(frozen=True)
class Fired:
    """A check that fired, with the values that made it fire."""

    check: Check
    values: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.check.id,
            "message": self.check.message,
            "source": self.check.source,
            "policy": self.check.policy,
            "values": dict(self.values),
        }


@dataclass(frozen=True)
class BloodPressureAt:
    """A blood pressure and the minutes since the dose started when it was taken."""

    minutes: float
    systolic: int
    diastolic: int


# How staff name the vital signs (a recheck of "systolic" and "diastolic" is of blood pressure).
VITAL_LABELS = {
    "systolic": "blood pressure",
    "diastolic": "blood pressure",
    "heart_rate": "heart rate",
    "spo2": "SpO₂",
    "respiratory_rate": "respiratory rate",
    "moaas": "MOAA/S",
}


def _thresholds() -> dict[str, Any]:
    return load("session_thresholds")


def check(section: str, check_id: str) -> Check:
    """One check of ``section`` by its id (KeyError if the data file has no such check)."""
    for candidate in _checks(section):
        if candidate.id == check_id:
            return candidate
    raise KeyError(check_id)


@cache
def _checks(section: str) -> tuple[Check, ...]:
    vital_names = {f.name for f in fields(VitalSigns)}
    checks = []
    for raw in _thresholds()[section]:
        conditions = []
        for condition in raw["any"]:
            (op,) = set(condition) - {"field"}
            if condition["field"] not in vital_names or op not in _OPS:
                raise ValueError(f"session_thresholds.toml {raw['id']}: bad condition {condition}")
            conditions.append((condition["field"], op, float(condition[op])))
        checks.append(
            Check(
                raw["id"],
                tuple(raw["routes"]),
                tuple(conditions),
                raw["message"],
                raw["source"],
                bool(raw["policy"]),
                raw.get("recheck_minutes"),
            )
        )
    return tuple(checks)


def fire(section: str, route: str, vitals: VitalSigns) -> list[Fired]:
    """The checks of ``section`` of the thresholds file that these vitals fire for ``route``."""
    fired = []
    for check in _checks(section):
        if route not in check.routes:
            continue
        hits = check.hits(vitals)
        if hits:
            fired.append(Fired(check, hits))
    return fired


# The scales the flowsheet records beside the vital signs: a typed score must be one the
# scale has (its range is the instrument's, ``instruments/data/<id>.toml``).
SCALES = ("moaas", "cadss")


def plausible_ranges() -> dict[str, tuple[int, int]]:
    """The lowest and highest value a typed flowsheet entry may have: the vital signs'
    plausibility bounds (``vital_signs.toml``), then the MOAA/S and CADSS scales' totals. The
    observation form and ``plausibility_problems`` both take them from here."""
    ranges = {
        name: (int(bound["min"]), int(bound["max"]))
        for name, bound in load("vital_signs")["bounds"].items()
    }
    for scale in SCALES:
        total = instruments.get(scale).total_range
        if total is None:
            raise ValueError(f"{scale}.toml: the scale has no total range")
        ranges[scale] = total
    return ranges


def plausibility_problems(vitals: VitalSigns) -> list[str]:
    """Why these numbers cannot be real (a typing error), one message per problem."""
    problems = []
    ranges = plausible_ranges()
    for name in load("vital_signs")["bounds"]:
        low, high = ranges[name]
        value = vitals.value(name)
        if value is not None and not low <= value <= high:
            problems.append(f"{name.replace('_', ' ')} {value} is outside {low}–{high}")
    if (
        vitals.systolic is not None
        and vitals.diastolic is not None
        and vitals.diastolic >= vitals.systolic
    ):
        problems.append(
            f"diastolic {vitals.diastolic} must be below systolic {vitals.systolic}; swapped?"
        )
    low, high = ranges["moaas"]
    if vitals.moaas is not None and not low <= vitals.moaas <= high:
        problems.append(f"MOAA/S {vitals.moaas} is outside {low}–{high}")
    return problems


def pre_dose_gate(route: str, vitals: VitalSigns) -> list[Fired]:
    """The gate's checks that fire before dosing by ``route``; empty means the gate passes.
    Every one of blood pressure, heart rate and SpO2 must have been measured."""
    missing = [
        n for n in ("systolic", "diastolic", "heart_rate", "spo2") if vitals.value(n) is None
    ]
    if missing:
        raise ValueError(f"pre-dose vitals need {', '.join(missing)}")
    return fire("pre_dose", route, vitals)


def alerts(route: str, vitals: VitalSigns) -> list[Fired]:
    """The alerts these observations raise while the patient is monitored."""
    return fire("alerts", route, vitals)


def discharge_problems(
    *,
    minutes_since_dose: float,
    minimum_minutes: int,
    vitals: VitalSigns | None,
    dissociation_resolved: bool,
    responsible_adult_needed: bool,
    responsible_adult_present: bool,
    route: str | None = None,
    blood_pressures: Sequence[BloodPressureAt] = (),
) -> list[str]:
    """The discharge criteria not yet met; empty means the patient may go.

    With ``route``, that route's own criteria too, judged on ``blood_pressures`` (every
    reading since the dose, in time order)."""
    limits = _thresholds()["discharge"]
    problems = []
    if minutes_since_dose < minimum_minutes:
        problems.append(f"observed {int(minutes_since_dose)} of at least {minimum_minutes} minutes")
    if vitals is None:
        problems.append("no vital signs since the dose")
    else:
        checks = [
            ("systolic", "Systolic pressure", operator.le, limits["max_systolic"], "or less"),
            ("diastolic", "Diastolic pressure", operator.le, limits["max_diastolic"], "or less"),
            ("heart_rate", "Heart rate", operator.le, limits["max_heart_rate"], "or less"),
            ("spo2", "SpO₂", operator.ge, limits["min_spo2"], "or more"),
            ("moaas", "Sedation: MOAA/S", operator.eq, limits["moaas_required"], ""),
        ]
        for name, label, test, limit, bound in checks:
            value = vitals.value(name)
            if value is None:
                problems.append(f"{label} not measured before discharge")
            elif not test(value, limit):
                problems.append(f"{label} {value} ({f'{limit} {bound}'.strip()} needed)")
    if not dissociation_resolved:
        problems.append("dissociation not recorded as resolved")
    if responsible_adult_needed and not responsible_adult_present:
        problems.append("no responsible adult to take the patient home")
    if route is not None:
        problems += route_discharge_problems(route, blood_pressures)
    return problems


def route_discharge_problems(route: str, blood_pressures: Sequence[BloodPressureAt]) -> list[str]:
    """The discharge criteria of ``route`` alone (esketamine: a blood pressure about 40
    minutes after the dose, and one no higher than the reading before it)."""
    rules = _thresholds().get("discharge_by_route", {}).get(route)
    if not rules:
        return []
    problems = []
    at, window = int(rules["bp_at_minutes"]), int(rules["bp_window_minutes"])
    if not any(abs(bp.minutes - at) <= window for bp in blood_pressures):
        problems.append(
            f"no blood pressure about {at} minutes after the dose ({at - window}–{at + window} min)"
        )
    if rules.get("bp_not_rising"):
        if len(blood_pressures) < 2:
            problems.append("a second blood pressure is needed to show it is not rising")
        else:
            before, last = blood_pressures[-2], blood_pressures[-1]
            if last.systolic > before.systolic:
                problems.append(
                    f"blood pressure still rising ({before.systolic}/{before.diastolic} → "
                    f"{last.systolic}/{last.diastolic}): discharge when it is decreasing"
                )
    return problems
