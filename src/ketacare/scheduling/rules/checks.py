"""One function per booking rule, and ``check_slot``, which runs them all.

Each rule takes the candidate booking and the ``BookingContext`` (the clinic's resources, the
other bookings, the policy, the patient's preferred times) and returns a ``Refusal`` or None.
A refusal carries the rule's ``rule`` id (for code and the audit trail) and a ``message`` in
the words staff read. The booking action calls ``check_slot`` for a single booking or move;
``propose_series`` calls the same rules for every candidate it tries.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.scheduling.rules.inputs import Booking, Preference, Resources
from ketacare.scheduling.rules.policy import Policy, booking_policy


@dataclass(frozen=True)
class Refusal:
    """Why a booking cannot be made: ``rule`` names the rule, ``message`` is for staff."""

    rule: str
    message: str


@dataclass(frozen=True)
class BookingContext:
    """Everything a rule reads besides the candidate. ``bookings`` are the clinic's other
    appointments (a booking with the candidate's ``id`` is the candidate itself, ignored)."""

    resources: Resources
    bookings: Sequence[Booking] = ()
    policy: Policy | None = None
    preference: Preference | None = None

    @property
    def rules(self) -> Policy:
        return self.policy or booking_policy()

    def others(self, candidate: Booking) -> Iterable[Booking]:
        return (b for b in self.bookings if candidate.id is None or b.id != candidate.id)


Rule = Callable[[Booking, BookingContext], Refusal | None]


def _hm(moment: datetime, context: BookingContext) -> str:
    return f"{context.resources.local(moment):%H:%M}"


def _span(start: datetime, end: datetime, context: BookingContext) -> str:
    first, last = context.resources.local(start), context.resources.local(end)
    if first.date() == last.date():
        return f"{first:%H:%M}–{last:%H:%M}"
    return f"from {day_words(first.date())} {first:%H:%M} to {day_words(last.date())} {last:%H:%M}"


def day_words(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _protocol(candidate: Booking) -> Protocol | None:
    return get_protocol(candidate.protocol_id) if candidate.protocol_id else None


def check_opening_hours(candidate: Booking, context: BookingContext) -> Refusal | None:
    """The appointment lies within one day's opening hours."""
    resources = context.resources
    start, end = resources.local(candidate.start), resources.local(candidate.end)
    if not resources.hours:
        return Refusal(
            "opening_hours", "The clinic has set no opening hours yet: an admin sets them first."
        )
    hours = resources.hours_on(start.date())
    if hours is None:
        return Refusal("opening_hours", f"The clinic is closed on {start:%A}s.")
    if end.date() != start.date() or start.time() < hours.opens or end.time() > hours.closes:
        return Refusal(
            "opening_hours",
            f"On {day_words(start.date())} the clinic is open {hours.opens:%H:%M}–"
            f"{hours.closes:%H:%M}; this appointment would run "
            f"{_span(candidate.start, candidate.end, context)}.",
        )
    return None


def check_closures(candidate: Booking, context: BookingContext) -> Refusal | None:
    """No clinic closure, and no closure of the candidate's chair, overlaps the appointment."""
    for closure in context.resources.closures:
        if closure.chair_id is not None and closure.chair_id != candidate.chair_id:
            continue
        if closure.start < candidate.end and candidate.start < closure.end:
            if closure.chair_id is None:
                day = context.resources.local(max(closure.start, candidate.start)).date()
                return Refusal(
                    "closure", f"The clinic is closed on {day_words(day)} ({closure.reason})."
                )
            chair = context.resources.chair(closure.chair_id)
            span = _span(closure.start, closure.end, context)
            return Refusal("closure", f"{chair.name} is out of service {span} ({closure.reason}).")
    return None


def check_chair_equipment(candidate: Booking, context: BookingContext) -> Refusal | None:
    """The chair can host the protocol's route (an infusion pump for IV, ...)."""
    protocol = _protocol(candidate)
    if protocol is None or candidate.chair_id is None:
        return None
    chair = context.resources.chair(candidate.chair_id)
    missing = sorted(context.rules.needs(protocol) - chair.capabilities)
    if missing:
        words = " or ".join(context.rules.capability_words(c) for c in missing)
        return Refusal("chair_equipment", f"{chair.name} does not have {words}.")
    return None


def check_chair_free(candidate: Booking, context: BookingContext) -> Refusal | None:
    """No other appointment holds the chair, counting the turnover after each patient."""
    if candidate.chair_id is None:
        return None
    turnover = timedelta(minutes=context.rules.turnover_minutes)
    for other in context.others(candidate):
        if other.chair_id != candidate.chair_id:
            continue
        if other.start < candidate.end + turnover and candidate.start < other.end + turnover:
            chair = context.resources.chair(candidate.chair_id)
            return Refusal(
                "chair_free",
                f"{chair.name} is taken {_span(other.start, other.end + turnover, context)}, "
                f"with {context.rules.turnover_minutes} minutes to turn the chair round.",
            )
    return None


def check_patient_free(candidate: Booking, context: BookingContext) -> Refusal | None:
    """The patient has no other appointment at the same time."""
    for other in context.others(candidate):
        if (
            other.patient_id == candidate.patient_id
            and other.start < candidate.end
            and candidate.start < other.end
        ):
            return Refusal(
                "patient_free",
                f"The patient already has an appointment {_span(other.start, other.end, context)}.",
            )
    return None


def _uncovered(
    start: datetime, end: datetime, covers: Iterable[tuple[datetime, datetime]]
) -> datetime | None:
    """The first moment of [start, end) that no interval covers, None if all is covered."""
    moment = start
    for cover_start, cover_end in sorted(covers):
        if cover_start > moment:
            break
        moment = max(moment, cover_end)
        if moment >= end:
            return None
    return moment if moment < end else None


def check_prescriber_on_site(candidate: Booking, context: BookingContext) -> Refusal | None:
    """A dose of esketamine (the policy's drugs) is booked only while a prescriber is on shift
    for the whole of the patient's time (Spravato REMS, clinical-reference §2)."""
    protocol = _protocol(candidate)
    policy = context.rules
    if protocol is None or protocol.drug not in policy.prescriber_drugs:
        return None
    shifts = [
        (s.start, s.end) for s in context.resources.shifts if s.role == policy.prescriber_role
    ]
    gap = _uncovered(candidate.start, candidate.end, shifts)
    if gap is None:
        return None
    return Refusal(
        "prescriber_on_site",
        f"No prescriber is on site at {_hm(gap, context)}: {protocol.name} needs one for the "
        f"whole session ({_span(candidate.start, candidate.end, context)}), as the Spravato "
        "REMS requires.",
    )


def check_nurse_ratio(candidate: Booking, context: BookingContext) -> Refusal | None:
    """At no moment of the appointment are there more dosed patients in chairs than the
    nurses on shift may watch. Only doses count: an evaluation or a follow-up in a room is not
    a monitored patient."""
    if candidate.chair_id is None or candidate.protocol_id is None:
        return None
    policy = context.rules
    seated = [
        (b.start, b.end)
        for b in context.others(candidate)
        if b.chair_id is not None
        and b.protocol_id is not None
        and b.start < candidate.end
        and candidate.start < b.end
    ]
    seated.append((candidate.start, candidate.end))
    nurses = [
        (s.start, s.end)
        for s in context.resources.shifts
        if s.role == policy.nurse_role and s.start < candidate.end and candidate.start < s.end
    ]
    # Both counts change only where an interval starts or ends, so checking those moments
    # inside the appointment checks every moment of it.
    moments = {candidate.start} | {
        t for a, b in seated + nurses for t in (a, b) if candidate.start < t < candidate.end
    }
    for moment in sorted(moments):
        patients = sum(1 for a, b in seated if a <= moment < b)
        on_shift = sum(1 for a, b in nurses if a <= moment < b)
        if patients > on_shift * policy.patients_per_nurse:
            if on_shift == 0:
                message = f"No nurse is on shift at {_hm(moment, context)}."
            else:
                message = (
                    f"At {_hm(moment, context)} there would be {patients} patients for "
                    f"{on_shift} nurse{'s' if on_shift > 1 else ''} on shift; the clinic allows "
                    f"{policy.patients_per_nurse} per nurse."
                )
            return Refusal("nurse_ratio", message)
    return None


def _weekdays(days: Iterable[int]) -> str:
    names = [date(2024, 1, 1 + d).strftime("%A") + "s" for d in sorted(days)]
    return ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]


def check_preferred_times(candidate: Booking, context: BookingContext) -> Refusal | None:
    """The appointment starts at one of the patient's preferred times, if they gave any."""
    preference = context.preference
    if preference is None:
        return None
    start = context.resources.local(candidate.start)
    if start.weekday() in preference.weekdays and (
        preference.earliest <= start.time() <= preference.latest
    ):
        return None
    return Refusal(
        "preferred_times",
        f"{day_words(start.date())} at {start:%H:%M} is outside the patient's preferred times "
        f"({_weekdays(preference.weekdays)}, starting {preference.earliest:%H:%M}–"
        f"{preference.latest:%H:%M}).",
    )


# In the order a refusal is most useful to read: the clinic first, then the chair, then staff.
RULES: tuple[Rule, ...] = (
    check_opening_hours,
    check_closures,
    check_chair_equipment,
    check_chair_free,
    check_patient_free,
    check_prescriber_on_site,
    check_nurse_ratio,
    check_preferred_times,
)


def check_slot(candidate: Booking, context: BookingContext) -> list[Refusal]:
    """Every rule the candidate breaks, in ``RULES`` order; empty when it may be booked."""
    return [refusal for rule in RULES if (refusal := rule(candidate, context)) is not None]


def _week(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso.year, iso.week


def check_cadence(days: Sequence[date], protocol: Protocol) -> list[Refusal]:
    """The series' days keep the protocol's induction cadence: at least its minimum interval
    apart and no more sessions in a week than it allows."""
    induction = protocol.raw["induction"]
    refusals: list[Refusal] = []
    ordered = sorted(days)
    # Sessions are named by their day: a series with a session not booked has no reliable
    # session number for the ones after it.
    for before, day in pairwise(ordered):
        if (day - before).days < induction["min_interval_days"]:
            refusals.append(
                Refusal(
                    "cadence",
                    f"{day_words(day)} is less than {induction['min_interval_days']} days "
                    f"after the session on {day_words(before)}.",
                )
            )
    per_week: dict[tuple[int, int], list[date]] = {}
    for day in ordered:
        per_week.setdefault(_week(day), []).append(day)
    for week_days in per_week.values():
        if len(week_days) > induction["per_week"]:
            refusals.append(
                Refusal(
                    "cadence",
                    f"The week of {day_words(week_days[0])} has {len(week_days)} sessions; "
                    f"{protocol.name} allows {induction['per_week']}.",
                )
            )
    return refusals


def check_added_day(days: Sequence[date], day: date, protocol: Protocol) -> list[Refusal]:
    """What adding a dose on ``day`` to the doses on ``days`` breaks of the protocol's cadence:
    only the refusals the new day brings, so that a history already off the cadence (a dose
    moved by the patient's wish, another protocol's rhythm) does not refuse every day after."""
    before = set(check_cadence(days, protocol))
    return [r for r in check_cadence([*days, day], protocol) if r not in before]
