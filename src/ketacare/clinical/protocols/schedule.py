"""The induction calendar: sessions on clinic days, at least the protocol's interval apart and
no more per week than it allows; moving one session pushes later ones only as far as the
rules require. And the maintenance calendar that may follow it: the protocol's phases, one
session every so many weeks."""

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from ketacare.clinical.protocols.library import Protocol

# Monday to Friday; a clinic passes its own days (0 = Monday ... 6 = Sunday).
WEEKDAYS = frozenset(range(5))


class ScheduleError(ValueError):
    """A requested date breaks a scheduling rule; the message names it."""


def _week(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso.year, iso.week


def _problem(
    day: date, before: list[date], protocol: Protocol, clinic_days: Collection[int]
) -> str | None:
    induction = protocol.raw["induction"]
    if day.weekday() not in clinic_days:
        return f"{day:%A %Y-%m-%d} is not a clinic day"
    if before and (day - before[-1]).days < induction["min_interval_days"]:
        return (
            f"{day:%Y-%m-%d} is less than {induction['min_interval_days']} days after the "
            f"previous session ({before[-1]:%Y-%m-%d})"
        )
    per_week = Counter(_week(d) for d in before)
    if per_week[_week(day)] >= induction["per_week"]:
        return f"the week of {day:%Y-%m-%d} already has {induction['per_week']} sessions"
    return None


def _fill(
    sessions: list[date], start: date, count: int, protocol: Protocol, clinic_days: Collection[int]
) -> list[date]:
    day = start
    while len(sessions) < count:
        if _problem(day, sessions, protocol, clinic_days) is None:
            sessions.append(day)
        day += timedelta(days=1)
    return sessions


def induction_schedule(
    protocol: Protocol, start: date, clinic_days: Collection[int] = WEEKDAYS
) -> list[date]:
    """The protocol's induction sessions from ``start`` (the first clinic day on or after it)."""
    if not clinic_days:
        raise ScheduleError("the clinic has no treatment days")
    return _fill([], start, protocol.raw["induction"]["sessions"], protocol, clinic_days)


def reschedule(
    schedule: list[date],
    index: int,
    new_date: date,
    protocol: Protocol,
    clinic_days: Collection[int] = WEEKDAYS,
) -> list[date]:
    """Move session ``index`` to ``new_date`` and re-flow every later session."""
    kept = list(schedule[:index])
    problem = _problem(new_date, kept, protocol, clinic_days)
    if problem:
        raise ScheduleError(f"Session {index + 1} cannot move: {problem}.")
    kept.append(new_date)
    # A later session keeps its date (it may have been moved on purpose) unless the move
    # now breaks a rule for it; then it goes to the first day on or after its date that fits.
    for planned in schedule[index + 1 :]:
        day = max(planned, kept[-1] + timedelta(days=1))
        while _problem(day, kept, protocol, clinic_days) is not None:
            day += timedelta(days=1)
        kept.append(day)
    return kept


@dataclass(frozen=True)
class MaintenancePhase:
    """Sessions from ``first_week`` to ``last_week`` (None: open-ended), weeks counted from the
    first induction session (week 1); one every ``every_weeks[i]`` weeks, the first option
    being the default."""

    first_week: int
    last_week: int | None
    every_weeks: tuple[int, ...]


def maintenance_phases(protocol: Protocol) -> tuple[MaintenancePhase, ...]:
    """The protocol's maintenance phases after induction; empty when it has none."""
    return tuple(
        MaintenancePhase(p["first_week"], p.get("last_week"), tuple(p["every_weeks"]))
        for p in protocol.raw.get("maintenance", {}).get("phases", [])
    )


def maintenance_schedule(
    protocol: Protocol,
    first_session: date,
    through_week: int,
    every_weeks: int | None = None,
    clinic_days: Collection[int] = WEEKDAYS,
) -> list[date]:
    """Maintenance sessions up to week ``through_week`` for an induction that began on
    ``first_session``: in each week due, the first clinic day on or after the weekday the
    induction began on. ``every_weeks`` chooses among the options of a phase that offers
    several (the label's "every 2 weeks or weekly" from week 9); the first is the default."""
    phases = maintenance_phases(protocol)
    if not phases:
        raise ScheduleError(f"{protocol.name} has no maintenance phase")
    if not clinic_days:
        raise ScheduleError("the clinic has no treatment days")
    sessions: list[date] = []
    for phase in phases:
        step = phase.every_weeks[0]
        if every_weeks is not None and len(phase.every_weeks) > 1:
            step = every_weeks
        if step not in phase.every_weeks:
            weeks = " or ".join(
                "weekly" if n == 1 else f"every {n} weeks" for n in phase.every_weeks
            )
            raise ScheduleError(f"from week {phase.first_week} the protocol allows {weeks}")
        last = through_week if phase.last_week is None else min(phase.last_week, through_week)
        for week in range(phase.first_week, last + 1, step):
            week_start = first_session + timedelta(weeks=week - 1)
            day = week_start
            while day.weekday() not in clinic_days:
                day += timedelta(days=1)
            sessions.append(day)
    return sessions
