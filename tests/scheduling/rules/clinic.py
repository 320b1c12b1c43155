"""A small clinic for the booking-rule tests: two chairs, weekday hours, staff on every day."""

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ketacare.scheduling.rules import (
    Booking,
    BookingContext,
    Chair,
    OpeningHours,
    Policy,
    Preference,
    Resources,
    Shift,
)

ZONE = ZoneInfo("America/New_York")
IV_CHAIR = Chair(1, "Chair 1", frozenset({"iv_pump", "nasal_spray"}))
NASAL_CHAIR = Chair(2, "Chair 2", frozenset({"nasal_spray"}))
WEEKDAY_HOURS = tuple(OpeningHours(d, time(8), time(17)) for d in range(5))
NURSE, PRESCRIBER = 10, 20
# A Monday; US daylight saving time ends on Sunday 1 November 2026.
MONDAY = date(2026, 10, 19)
POLICY = Policy(
    turnover_minutes=15,
    nurse_role="nurse",
    patients_per_nurse=3,
    prescriber_role="prescriber",
    prescriber_drugs=frozenset({"esketamine"}),
    route_needs={
        "iv": frozenset({"iv_pump"}),
        "im": frozenset(),
        "intranasal": frozenset({"nasal_spray"}),
    },
    capability_labels={"iv_pump": "an infusion pump", "nasal_spray": "a nasal-spray station"},
    step_minutes=15,
    max_days_late=3,
)
SNAKE_CASE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def shifts(
    on: Iterable[date], role: str, staff_id: int, start: int = 8, end: int = 17
) -> tuple[Shift, ...]:
    return tuple(Shift(staff_id, role, at(d, start), at(d, end)) for d in on)


def staffed(on: Iterable[date]) -> tuple[Shift, ...]:
    """One nurse and one prescriber on site all day on each of ``on``."""
    on = list(on)
    return shifts(on, "nurse", NURSE) + shifts(on, "prescriber", PRESCRIBER)


def resources(
    chairs: tuple[Chair, ...] = (IV_CHAIR, NASAL_CHAIR),
    shift_list: tuple[Shift, ...] | None = None,
    **more: object,
) -> Resources:
    if shift_list is None:
        shift_list = staffed(days(MONDAY - timedelta(days=7), 70))
    return Resources(ZONE, chairs, WEEKDAY_HOURS, shifts=shift_list, **more)


def context(
    bookings: tuple[Booking, ...] = (),
    preference: Preference | None = None,
    **resource_args: object,
) -> BookingContext:
    return BookingContext(resources(**resource_args), bookings, POLICY, preference)


def booking(
    chair_id: int | None,
    start: datetime,
    minutes: int,
    patient_id: int = 1,
    protocol_id: str | None = "iv_ketamine",
    booking_id: int | None = None,
) -> Booking:
    return Booking(
        chair_id,
        start,
        start + timedelta(minutes=minutes),
        patient_id,
        None,
        protocol_id,
        booking_id,
    )
