"""What a report covers: a range of whole local days, parsed from the page's query, and the
clinic's DEA registrations."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.bounds import OutOfBounds, parse_date
from ketacare.inventory.models import Registration

DEFAULT_DAYS = 30
# Records are kept at least two years; three years covers any inspection without letting one
# request read the whole ledger.
MAX_RANGE_DAYS = 3 * 366


class RangeError(ValueError):
    """A date or date range that cannot be reported on; the message says why."""


@dataclass(frozen=True)
class Period:
    """Whole local days, ``start`` to ``end`` inclusive."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        return day_start(self.start)

    @property
    def until(self) -> datetime:
        """The first instant after the period."""
        return day_start(self.end + timedelta(days=1))

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def parse_day(value: str | None, what: str, default: date) -> date:
    """A YYYY-MM-DD date, ``default`` when empty, or RangeError naming what is wrong."""
    try:
        day = parse_date(value, timezone.localdate(), f"The {what} date")
    except OutOfBounds as error:
        raise RangeError(str(error)) from None
    return default if day is None else day


def parse_period(start: str | None, end: str | None, today: date) -> Period:
    """The range from query parameters; by default the last 30 days up to today."""
    last = parse_day(end, "end", today)
    first = parse_day(start, "start", last - timedelta(days=DEFAULT_DAYS - 1))
    if last < first:
        raise RangeError(f"The end date ({last}) is before the start date ({first}).")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise RangeError(
            f"A report covers at most {MAX_RANGE_DAYS} days; {first} to {last} is "
            f"{(last - first).days + 1} days. Choose a shorter range."
        )
    return Period(first, last)


def registrations_of(clinic: Clinic | None) -> QuerySet[Registration]:
    return Registration.objects.filter(clinic=clinic).order_by("name", "dea_number")
