"""The appointment book's records as the booking rules read them (``scheduling.rules``): one
clinic's chairs, hours, closures, shifts and holding appointments around a stretch of time,
as plain frozen values. Every path that judges a booking — one booking, a move, a proposed
series — builds its context here, so the rules see the same book whichever path asks."""

from datetime import date, datetime, time, timedelta

from ketacare.accounts.models import Clinic
from ketacare.planning.models import TreatmentPlan
from ketacare.scheduling import rules
from ketacare.scheduling.doses import latest_signed_plans
from ketacare.scheduling.models import (
    LONGEST,
    Appointment,
    Chair,
    Closure,
    OpeningHours,
    Shift,
)

# The rules look at what overlaps an appointment (and a chair's turnover after the one
# before): a day either side of the window holds all of it.
MARGIN = timedelta(days=1)


def window(clinic: Clinic, first: date, last: date) -> tuple[datetime, datetime]:
    """The moments from the start of local day ``first`` to the end of local day ``last``."""
    zone = clinic.zone
    return (
        datetime.combine(first, time(), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
    )


def resources(clinic: Clinic, start: datetime, end: datetime) -> rules.Resources:
    """The clinic's active chairs, opening hours, and the closures and shifts that touch
    ``start``–``end`` (with the margin)."""
    lo, hi = start - MARGIN, end + MARGIN
    return rules.Resources(
        zone=clinic.zone,
        chairs=tuple(
            rules.Chair(c.pk, c.name, frozenset(c.capabilities))
            for c in Chair.objects.filter(clinic=clinic, active=True)
        ),
        hours=tuple(
            rules.OpeningHours(h.weekday, h.opens, h.closes)
            for h in OpeningHours.objects.filter(clinic=clinic)
        ),
        closures=tuple(
            rules.Closure(c.start, c.end, c.reason, c.chair_id)
            for c in Closure.objects.filter(clinic=clinic, start__lt=hi, end__gt=lo)
        ),
        shifts=tuple(
            rules.Shift(s.staff_id, s.role, s.start, s.end)
            for s in Shift.objects.filter(
                clinic=clinic, start__lt=hi, start__gt=lo - LONGEST["shift"], end__gt=lo
            )
        ),
    )


def bookings(clinic: Clinic, start: datetime, end: datetime) -> tuple[rules.Booking, ...]:
    """The appointments holding a chair or a patient's time around ``start``–``end``: one
    query, whatever the book holds outside it."""
    lo, hi = start - MARGIN, end + MARGIN
    found = Appointment.objects.filter(
        clinic=clinic,
        state__in=Appointment.HOLDING,
        start__lt=hi,
        # Bounded below too, so that the index on (clinic, start) reads the window, not the
        # clinic's whole past: no appointment is longer than LONGEST.
        start__gt=lo - LONGEST["appointment"],
        end__gt=lo,
    ).values_list(
        "pk",
        "chair_id",
        "start",
        "end",
        "patient_id",
        "staff_id",
        "kind",
        "planned__plan__protocol_id",
    )
    rows = list(found)
    # A dose outside the plan's sessions gives the patient's latest signed plan's protocol
    # (scheduling.doses): one more query for all of them.
    unplanned = {r[4] for r in rows if r[6] == Appointment.Kind.DOSING and r[7] is None}
    plans = latest_signed_plans(clinic.pk, unplanned) if unplanned else {}
    return tuple(
        rules.Booking(
            chair_id=chair_id,
            start=begins,
            end=ends,
            patient_id=patient_id,
            staff_id=staff_id,
            # A dose holds a nurse's watch and may need a prescriber on site; an
            # evaluation or a follow-up holds neither.
            protocol_id=_protocol_of(kind, protocol, plans.get(patient_id)),
            id=pk,
        )
        for pk, chair_id, begins, ends, patient_id, staff_id, kind, protocol in rows
    )


def _protocol_of(
    kind: str, planned_protocol: str | None, latest: TreatmentPlan | None
) -> str | None:
    if kind != Appointment.Kind.DOSING:
        return None
    if planned_protocol is not None:
        return planned_protocol
    return latest.protocol_id if latest is not None else None


def booking_context(
    clinic: Clinic,
    start: datetime,
    end: datetime,
    preference: rules.Preference | None = None,
) -> rules.BookingContext:
    """What the rules read to judge bookings between ``start`` and ``end``."""
    return rules.BookingContext(
        resources=resources(clinic, start, end),
        bookings=bookings(clinic, start, end),
        preference=preference,
    )
