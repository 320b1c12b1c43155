"""Simulated time: the clock the synthetic staff act by (``Actor.clock``, see
docs/decisions/0107) while the program runs, and the hours and office days the clinic keeps."""

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone


class Clock:
    """The program's time: what the synthetic staff's actions read as now (always UTC, like
    the real clock: the audit digest covers the timestamp as written)."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def today(self) -> date:
        return timezone.localdate(self.at)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def office_day(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
