"""Free slots on a day, and a whole induction series proposed at the plan's cadence.

A series starts from the plan's session dates (``clinical.protocols.schedule``). Each session
goes to the earliest free slot on its planned day; when that day has none it slides to the
next days, never more than the policy's ``max_days_late``, and always keeping the protocol's
cadence with the sessions already placed. A session with no slot in its window is returned with
the reasons each day of the window refused.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from ketacare.clinical.protocols.library import Protocol
from ketacare.scheduling.rules.checks import (
    RULES,
    BookingContext,
    Refusal,
    check_added_day,
    day_words,
)
from ketacare.scheduling.rules.inputs import Booking
from ketacare.scheduling.rules.policy import care_minutes


@dataclass(frozen=True)
class DayRefusals:
    day: date
    reasons: tuple[Refusal, ...]

    @property
    def message(self) -> str:
        return f"{day_words(self.day)}: " + " ".join(r.message for r in self.reasons)


@dataclass(frozen=True)
class Unplaced:
    """Session ``session`` (1-based) planned for ``planned_day`` found no slot; ``days`` says
    why for each day tried."""

    session: int
    planned_day: date
    days: tuple[DayRefusals, ...]

    @property
    def message(self) -> str:
        return (
            f"Session {self.session} (planned for {day_words(self.planned_day)}) could not be "
            "booked. " + " ".join(d.message for d in self.days)
        )


@dataclass(frozen=True)
class SeriesProposal:
    placed: tuple[Booking, ...]
    unplaced: tuple[Unplaced, ...]


def _after(start: datetime, minutes: int) -> datetime:
    """``minutes`` of elapsed time after ``start``, in ``start``'s zone (through a DST change
    too, where wall-clock arithmetic would be an hour out)."""
    return (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(start.tzinfo)


def _near(day: date, context: BookingContext) -> BookingContext:
    """The context with only the bookings that touch ``day`` ± 1, so that trying every slot of
    a day does not scan a year of bookings each time."""
    zone = context.resources.zone
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=2), datetime.min.time(), tzinfo=zone)
    resources = context.resources
    return replace(
        context,
        bookings=tuple(b for b in context.bookings if b.start < end and start < b.end),
        resources=replace(
            resources,
            shifts=tuple(s for s in resources.shifts if s.start < end and start < s.end),
            closures=tuple(c for c in resources.closures if c.start < end and start < c.end),
        ),
    )


def _candidates(
    day: date, protocol: Protocol, patient_id: int, context: BookingContext
) -> list[Booking]:
    """Every grid start on ``day`` in every chair, earliest first, then in chair order."""
    resources = context.resources
    hours = resources.hours_on(day)
    if hours is None:
        return []
    minutes = care_minutes(protocol)
    opens, closes = resources.at(day, hours.opens), resources.at(day, hours.closes)
    starts: list[datetime] = []
    start = opens
    while _after(start, minutes) <= closes:
        starts.append(start)
        start = _after(start, context.rules.step_minutes)
    return [
        Booking(chair.id, s, _after(s, minutes), patient_id, protocol_id=protocol.id)
        for s in starts
        for chair in resources.chairs
    ]


def _free(
    day: date, protocol: Protocol, patient_id: int, context: BookingContext
) -> Iterator[Booking]:
    near = _near(day, context)
    return (
        c
        for c in _candidates(day, protocol, patient_id, near)
        if all(rule(c, near) is None for rule in RULES)
    )


def free_slots(
    day: date, protocol: Protocol, patient_id: int, context: BookingContext
) -> list[Booking]:
    """The bookings of a dose of ``protocol`` on local ``day`` that break no rule (the
    patient's preferred times included, when the context has them), earliest first."""
    return list(_free(day, protocol, patient_id, context))


def first_free_slot(
    day: date, protocol: Protocol, patient_id: int, context: BookingContext
) -> Booking | None:
    """The earliest of ``free_slots``, without judging the rest of the day."""
    return next(_free(day, protocol, patient_id, context), None)


def explain_day(
    day: date, protocol: Protocol, patient_id: int, context: BookingContext
) -> tuple[Refusal, ...]:
    """Why ``day`` has no free slot: the first refusal of each rule that refused a
    candidate, in rule order, or a single reason when the whole day is ruled out."""
    resources = context.resources
    if resources.hours_on(day) is None:
        opening = RULES[0](
            Booking(None, resources.at(day, time(12)), resources.at(day, time(13)), patient_id),
            context,
        )
        assert opening is not None  # no hours that day: the rule refuses any time of it
        return (opening,)
    needs = context.rules.needs(protocol)
    if not resources.chairs:
        return (Refusal("chair_equipment", "The clinic has no chairs."),)
    if not any(needs <= chair.capabilities for chair in resources.chairs):
        words = " or ".join(context.rules.capability_words(c) for c in sorted(needs))
        return (Refusal("chair_equipment", f"No chair has {words}."),)
    near = _near(day, context)
    candidates = _candidates(day, protocol, patient_id, near)
    if not candidates:
        return (
            Refusal(
                "opening_hours",
                f"{protocol.name} needs {care_minutes(protocol)} minutes, longer than the "
                "clinic is open that day.",
            ),
        )
    # The same refusals as running check_slot on every candidate and keeping each rule's
    # first, without writing the messages of all the others.
    first = (next((r for c in candidates if (r := rule(c, near))), None) for rule in RULES)
    return tuple(r for r in first if r is not None)


def propose_series(
    protocol: Protocol,
    planned_days: Sequence[date],
    patient_id: int,
    context: BookingContext,
    booked_days: Sequence[date] = (),
) -> SeriesProposal:
    """Book each of the plan's sessions (``planned_days``, in order) in a free chair, keeping
    the cadence with the patient's doses already booked (``booked_days``) too; return the
    bookings placed and, for each session not placed, why."""
    if not planned_days:
        return SeriesProposal((), ())
    policy = context.rules
    # Only the bookings around the series matter; narrowing once keeps a year of them cheap.
    zone = context.resources.zone
    first = min(planned_days) - timedelta(days=1)
    last = max(planned_days) + timedelta(days=policy.max_days_late + 2)
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(last, datetime.min.time(), zone)
    bookings = [b for b in context.bookings if b.start < end and start < b.end]
    placed: list[Booking] = []
    unplaced: list[Unplaced] = []
    for number, planned in enumerate(planned_days, start=1):
        tried: list[DayRefusals] = []
        booking = None
        for offset in range(policy.max_days_late + 1):
            day = planned + timedelta(days=offset)
            days = [*booked_days, *(context.resources.local(b.start).date() for b in placed)]
            cadence = check_added_day(days, day, protocol)
            if cadence:
                tried.append(DayRefusals(day, tuple(cadence)))
                continue
            today = replace(context, bookings=(*bookings, *placed))
            booking = first_free_slot(day, protocol, patient_id, today)
            if booking is not None:
                break
            tried.append(DayRefusals(day, explain_day(day, protocol, patient_id, today)))
        if booking is None:
            unplaced.append(Unplaced(number, planned, tuple(tried)))
        else:
            placed.append(booking)
    return SeriesProposal(tuple(placed), tuple(unplaced))
