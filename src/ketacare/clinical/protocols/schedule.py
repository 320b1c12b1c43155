"""The induction calendar: sessions on clinic days, at least the protocol's interval apart and
no more per week than it allows; moving one session pushes later ones only as far as the
rules require."""

from collections import Counter
from collections.abc import Collection
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
