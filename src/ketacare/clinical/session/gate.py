"""The pre-dose gate over a session's readings: a repeat reading after rest may reopen it,
a severe reading leaves it to a prescriber. Numbers from ``data/session_thresholds.toml``."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ketacare.clinical.datafiles import load
from ketacare.clinical.session.checks import Fired, VitalSigns, fire, pre_dose_gate


@dataclass(frozen=True)
class Reading:
    """One set of pre-dose vital signs and when it was taken."""

    at: datetime
    vitals: VitalSigns


@dataclass(frozen=True)
class ReadingVerdict:
    """What one reading did to the gate. ``counted`` is False for a passing reading taken
    too soon after a stop: it stays on the flowsheet and changes nothing."""

    fired: tuple[Fired, ...]
    severe: tuple[Fired, ...]
    counted: bool
    note: str


@dataclass(frozen=True)
class GateState:
    """The gate after every reading so far.

    ``holding``: the checks that keep it closed (empty: open without an override).
    ``stopped_at``: when it first stopped dosing. ``cleared_at``: when a repeat reading reopened
    it. ``severe``: a severe reading was taken, so only a prescriber may open it, and only once
    ``override_allowed`` (a repeat reading after rest)."""

    readings: tuple[ReadingVerdict, ...]
    holding: tuple[Fired, ...]
    stopped_at: datetime | None
    cleared_at: datetime | None
    severe: bool
    override_allowed: bool

    @property
    def refusal_to_override(self) -> str | None:
        """Why a prescriber may not open the gate yet, or None."""
        if not self.holding:
            return "The pre-dose gate has not stopped this session: nothing to override."
        if not self.override_allowed:
            return (
                f"A severe reading: take a repeat reading after at least {rest_minutes()} "
                "minutes' rest before a prescriber may open the gate."
            )
        return None


def rest_minutes() -> int:
    """The minimum rest before a repeat reading counts (clinic policy)."""
    return int(load("session_thresholds")["gate_repeat"]["rest_minutes"])


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def gate_state(route: str, readings: Sequence[Reading]) -> GateState:
    """The gate for ``route`` after ``readings`` (in the order taken).

    A reading that fires a check always counts and closes the gate. A passing reading after a
    stop reopens it only when taken at least the rest interval after the last stopping reading.
    Once a severe check fired, no reading reopens it: a prescriber decides, after a repeat
    reading taken at least the rest interval after the first severe one. Raises ValueError when
    a reading lacks a vital sign the gate needs."""
    minutes = rest_minutes()
    rest = timedelta(minutes=minutes)
    verdicts: list[ReadingVerdict] = []
    holding: tuple[Fired, ...] = ()
    stopped_at = cleared_at = last_stop = first_severe = None
    severe_checks: tuple[Fired, ...] = ()
    repeated_after_severe = False
    for reading in readings:
        fired = tuple(pre_dose_gate(route, reading.vitals))
        severe = tuple(fire("pre_dose_severe", route, reading.vitals))
        if first_severe is not None and reading.at - first_severe >= rest:
            repeated_after_severe = True
        if fired or severe:
            holding, last_stop, cleared_at = fired + severe, reading.at, None
            stopped_at = stopped_at or reading.at
            if severe:
                first_severe = first_severe or reading.at
                severe_checks = severe
            verdicts.append(ReadingVerdict(fired, severe, True, "stops dosing"))
        elif last_stop is None:
            holding = ()
            verdicts.append(ReadingVerdict((), (), True, "passes"))
        elif reading.at - last_stop >= rest:
            holding, cleared_at = (), reading.at
            verdicts.append(
                ReadingVerdict(
                    (),
                    (),
                    True,
                    f"repeat reading after {_minutes(reading.at - last_stop)} min rest: passes",
                )
            )
        else:
            verdicts.append(
                ReadingVerdict(
                    (),
                    (),
                    False,
                    f"taken {_minutes(reading.at - last_stop)} min after the reading that "
                    f"stopped dosing: a repeat reading counts after {minutes} "
                    "min rest",
                )
            )
    if first_severe is not None and not holding:
        # A severe reading is never cleared by a better one: it waits for a prescriber.
        holding, cleared_at = severe_checks, None
    return GateState(
        readings=tuple(verdicts),
        holding=holding,
        stopped_at=stopped_at,
        cleared_at=cleared_at,
        severe=first_severe is not None,
        override_allowed=bool(holding) and (first_severe is None or repeated_after_severe),
    )
