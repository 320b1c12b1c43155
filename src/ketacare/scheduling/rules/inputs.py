"""What the booking rules read: chairs, opening hours, closures, staff shifts, bookings and the
patient's preferred times, as plain frozen values.

Every moment is a timezone-aware ``datetime``; a naive one is refused, because a wall-clock
time without its zone is wrong for an hour twice a year. Local times (opening hours, preferred
times) are wall-clock ``time`` values in the clinic's zone, so 10:00 stays 10:00 across a
daylight-saving change.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{moment.isoformat()} has no time zone")


def _ordered(start: datetime, end: datetime) -> None:
    _aware(start, end)
    if end <= start:
        raise ValueError(f"{end.isoformat()} is not after {start.isoformat()}")


@dataclass(frozen=True)
class Chair:
    """A chair or room; ``capabilities`` are what it can host (``iv_pump``, ``nasal_spray``)."""

    id: int
    name: str
    capabilities: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OpeningHours:
    """The clinic is open on ``weekday`` (0 = Monday) from ``opens`` to ``closes``, local time."""

    weekday: int
    opens: time
    closes: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6 or self.closes <= self.opens:
            raise ValueError(f"impossible opening hours {self}")


@dataclass(frozen=True)
class Closure:
    """The clinic (``chair_id`` None) or one chair is unavailable from ``start`` to ``end``:
    a holiday, a training day, a chair's maintenance."""

    start: datetime
    end: datetime
    reason: str
    chair_id: int | None = None

    def __post_init__(self) -> None:
        _ordered(self.start, self.end)

    @classmethod
    def days(
        cls, first: date, last: date, zone: ZoneInfo, reason: str, chair_id: int | None = None
    ) -> "Closure":
        """Whole local days ``first`` to ``last`` inclusive."""
        start = datetime.combine(first, time(), tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
        return cls(start, end, reason, chair_id)


@dataclass(frozen=True)
class Shift:
    """A member of staff on site in a role from ``start`` to ``end``."""

    staff_id: int
    role: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _ordered(self.start, self.end)


@dataclass(frozen=True)
class Booking:
    """An appointment, existing or proposed: the patient is in the clinic from ``start`` to
    ``end`` (the end of monitoring); the chair's turnover comes after ``end``. ``chair_id``
    None is an appointment without a chair (telehealth); ``protocol_id`` None is one without a
    dose (an evaluation, a follow-up). ``id`` identifies a booking that already exists, so
    that checking it for a move does not find it in its own way."""

    chair_id: int | None
    start: datetime
    end: datetime
    patient_id: int
    staff_id: int | None = None
    protocol_id: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        _ordered(self.start, self.end)


@dataclass(frozen=True)
class Preference:
    """The patient's preferred times: appointments starting on one of ``weekdays``
    (0 = Monday) between ``earliest`` and ``latest`` inclusive, local time."""

    weekdays: frozenset[int]
    earliest: time
    latest: time

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)) or self.latest < self.earliest:
            raise ValueError(f"impossible preferred times {self}")


@dataclass(frozen=True)
class Resources:
    """One clinic's capacity: its zone, chairs, opening hours, closures and staff shifts."""

    zone: ZoneInfo
    chairs: tuple[Chair, ...]
    hours: tuple[OpeningHours, ...]
    closures: tuple[Closure, ...] = ()
    shifts: tuple[Shift, ...] = ()
    _chairs: dict[int, Chair] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_chairs", {chair.id: chair for chair in self.chairs})

    def chair(self, chair_id: int) -> Chair:
        try:
            return self._chairs[chair_id]
        except KeyError:
            raise LookupError(f"the clinic has no chair {chair_id}") from None

    def hours_on(self, day: date) -> OpeningHours | None:
        """The opening hours of a local day, None when the clinic does not open that weekday."""
        return next((h for h in self.hours if h.weekday == day.weekday()), None)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def at(self, day: date, clock: time) -> datetime:
        """The moment a local wall-clock time happens on a local day."""
        return datetime.combine(day, clock, tzinfo=self.zone)
