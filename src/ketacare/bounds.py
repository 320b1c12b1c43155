"""Technically plausible input: the dates, magnitudes and ids ketacare accepts from anyone who
types or sends them — a form, a query string, a direct POST, the command line, the synthetic
writer. One place, so that every path says the same thing about the same value.

These bounds are about what a computer can hold and compute with, not about medicine: a
weight, a blood pressure or a dose has its clinical range in a data file under
``clinical/data`` with its source, and those checks come after these. A value outside these
bounds is refused with a message that names it; nothing is written.

- Dates run from ``EARLIEST_DATE`` (1900-01-01) to ``YEARS_AHEAD`` (10) years after today.
  Nobody the clinic sees was born before 1900, and no record of theirs predates it; the
  latest real date ketacare is given is a vial's expiry (a few years) or a booked session
  (months). Python and the databases hold years 1 to 9999, and code computes with dates —
  a week before a day, an age, a date shifted for de-identification, midnight in the
  clinic's time zone converted to UTC — so a date near either end turns into a server error
  far from where it was typed. Centuries of margin on either side keep all of that safe.
- Ids are positive and fit a 64-bit column (``MAX_ID``: Django's BigAutoField); other
  integers fit a 32-bit one (``MAX_INTEGER``), or a 16-bit one (``MAX_SMALL_INTEGER``) where
  the model stores them so, unless a field says less.
- Decimals have at most the digits of the column that stores them (``max_digits`` and
  ``decimal_places`` as on the model field), are finite, and are written in plain digits:
  ``1e999999`` is a number to Python and to no one at the clinic.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db.models import DecimalField, Field, ForeignObjectRel
from django.utils import timezone

EARLIEST_DATE = date(1900, 1, 1)
YEARS_AHEAD = 10
MAX_ID = 2**63 - 1
MAX_INTEGER = 2**31 - 1
MAX_SMALL_INTEGER = 2**15 - 1
# A value quoted back in a message is cut to this many characters.
_SHOWN = 40


class OutOfBounds(ValueError):
    """A value outside what ketacare accepts; the message says which and why."""


def shown(value: Any) -> str:
    """The value as a message quotes it: short, printable."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


# --- dates ------------------------------------------------------------------------------------


def latest_date(today: date) -> date:
    """The last date accepted: ``YEARS_AHEAD`` years after ``today`` (28 February for a
    29 February that year has none)."""
    year = today.year + YEARS_AHEAD
    if (today.month, today.day) == (2, 29):
        return date(year, 2, 28)
    return today.replace(year=year)


def date_problem(value: date, today: date, what: str = "The date") -> str | None:
    """Why ``value`` is not a date ketacare accepts, or None."""
    if isinstance(value, datetime):
        value = value.date()
    last = latest_date(today)
    if EARLIEST_DATE <= value <= last:
        return None
    return (
        f"{what} must be between {EARLIEST_DATE.isoformat()} and {last.isoformat()}, got {value}."
    )


def check_date(value: date | str, today: date, what: str = "The date") -> date:
    """``value`` (a date, or one written YYYY-MM-DD) if accepted, else OutOfBounds with the
    message."""
    if isinstance(value, str):
        parsed = parse_date(value, today, what)
        if parsed is None:
            raise OutOfBounds(f"{what} is missing.")
        return parsed
    problem = date_problem(value, today, what)
    if problem:
        raise OutOfBounds(problem)
    return value


def check_datetime(value: datetime | str, today: date, what: str = "The date and time") -> datetime:
    """``value`` (aware, or ISO 8601 text) if its day in the clinic's time zone is accepted,
    else OutOfBounds."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise OutOfBounds(f"{what} must be a date and time, got {shown(value)}.") from None
    try:
        day = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    except OverflowError:  # off the calendar in the clinic's time zone: year 1 or 9999
        day = value.date()
    problem = date_problem(day, today, what)
    if problem:
        raise OutOfBounds(problem)
    return value


def parse_date(text: str | None, today: date, what: str = "The date") -> date | None:
    """A YYYY-MM-DD date from a query string or a raw POST value: None when empty,
    OutOfBounds when it is not a date or not one ketacare accepts."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError
        value = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise OutOfBounds(f"{what} must be a date written YYYY-MM-DD, got {shown(text)}.") from None
    return check_date(value, today, what)


# --- ids and integers -------------------------------------------------------------------------


def parse_id(text: Any) -> int | None:
    """The id in ``text`` (ASCII digits, 1 to ``MAX_ID``), or None: no row has any other id,
    so a caller treats None as "not found"."""
    text = str(text if text is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def check_integer(
    value: Any, what: str = "The number", low: int = -MAX_INTEGER, high: int = MAX_INTEGER
) -> int:
    """``value`` as an int within [low, high], else OutOfBounds."""
    text = str(value).strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(MAX_ID)):
        raise OutOfBounds(f"{what} must be a whole number, got {shown(value)}.")
    number = int(text)
    if not low <= number <= high:
        raise OutOfBounds(f"{what} must be between {low} and {high}, got {shown(value)}.")
    return number


# --- decimals ---------------------------------------------------------------------------------


def decimal_limit(max_digits: int, decimal_places: int) -> Decimal:
    """The largest value a column of ``max_digits`` with ``decimal_places`` holds."""
    return Decimal(10) ** (max_digits - decimal_places) - Decimal(10) ** -decimal_places


def digits_of(field: "Field[Any, Any] | ForeignObjectRel") -> tuple[int, int]:
    """(max_digits, decimal_places) of a model's DecimalField: the column's own limits."""
    assert isinstance(field, DecimalField), f"{field} is not a decimal column"
    return field.max_digits, field.decimal_places


def plain_decimal(value: Any) -> Decimal | None:
    """``value`` as a finite Decimal, or None: typed text must be plain digits (a sign and a
    point allowed), never an exponent (1e999999), NaN, Infinity or underscores."""
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        else:
            text = str(value).strip()
            if not text or any(ch not in "+-.0123456789" for ch in text):
                return None
            number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def check_decimal(
    value: Any,
    *,
    max_digits: int,
    decimal_places: int,
    what: str = "The number",
    minimum: Decimal | None = None,
) -> Decimal:
    """``value`` as a Decimal a column of ``max_digits``/``decimal_places`` holds, at least
    ``minimum`` when given, else OutOfBounds naming what is wrong."""
    number = plain_decimal(value)
    if number is None:
        raise OutOfBounds(f"{what} must be a number, got {shown(value)}.")
    limit = decimal_limit(max_digits, decimal_places)
    if abs(number) > limit:
        raise OutOfBounds(f"{what} must be at most {limit}, got {shown(value)}.")
    if number != number.quantize(Decimal(10) ** -decimal_places):
        places = {0: "no decimals", 1: "at most one decimal", 2: "at most two decimals"}.get(
            decimal_places, f"at most {decimal_places} decimals"
        )
        raise OutOfBounds(f"{what} can have {places}, got {shown(value)}.")
    if minimum is not None and number < minimum:
        raise OutOfBounds(f"{what} must be at least {minimum}, got {shown(value)}.")
    return number


# --- form fields ------------------------------------------------------------------------------


class BoundedDateField(forms.DateField):
    """A date within ``EARLIEST_DATE`` … ``latest_date(today)``."""

    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None:
            problem = date_problem(value, timezone.localdate(), "The date")
            if problem:
                raise forms.ValidationError(problem, code="out_of_bounds")


class BoundedDateTimeField(forms.DateTimeField):
    """A date and time whose day is within the date bounds. The day is checked as typed,
    before the clinic's time zone is applied: 0001-01-01 00:00 fourteen hours ahead of UTC is
    a time no database can store."""

    def clean(self, value: Any) -> Any:
        typed = _typed_datetime(self, value)
        if typed is not None:
            problem = date_problem(typed.date(), timezone.localdate(), "The date")
            if problem:
                raise forms.ValidationError(problem, code="out_of_bounds")
        return super().clean(value)


def _typed_datetime(field: forms.DateTimeField, value: Any) -> datetime | None:
    """The date and time ``value`` names, without a time zone applied; None if it names none
    (the field's own parsing then says so)."""
    if isinstance(value, date):
        return value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
    text = str(value or "").strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in field.input_formats or ():
        try:
            return datetime.strptime(text, fmt)
        except (ValueError, TypeError):
            continue
    return None


class BoundedDecimalField(forms.DecimalField):
    """A decimal with the digits of its column (required: an unbounded decimal field would
    take 1e999999), in plain digits as ``plain_decimal`` reads them on every path."""

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs: Any) -> None:
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)

    # django-stubs derive DecimalField from IntegerField, whose to_python returns an int.
    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        # Django's own field then checks the digits and the places, with its messages.
        if value not in self.empty_values and plain_decimal(value) is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class BoundedIntegerField(forms.IntegerField):
    """A whole number within a 32-bit column unless the field says less."""

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("max_value") is None:
            kwargs["max_value"] = MAX_INTEGER
        if kwargs.get("min_value") is None:
            kwargs["min_value"] = -MAX_INTEGER
        super().__init__(**kwargs)


class IdField(forms.IntegerField):
    """A row's id (hidden, from a page): 1 to ``MAX_ID``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(**kwargs)
