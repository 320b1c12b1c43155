"""A staff member away (off sick, on leave): their shifts in the absence are cut out, and the
appointments that can no longer go ahead move to "needs rebooking", each saying why — theirs,
and the doses that lose the prescriber on site or their nurse's watch. Nothing silently
disappears from the book."""

from dataclasses import replace
from datetime import datetime

from django.db import transaction

from ketacare.accounts.models import Membership
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes
from ketacare.scheduling import rules
from ketacare.scheduling.actions.appointments import write_needs_rebooking
from ketacare.scheduling.actions.common import SchedulingError, checked_span, may
from ketacare.scheduling.actions.placing import dose_protocol, lock_book
from ketacare.scheduling.context import booking_context
from ketacare.scheduling.models import Appointment, Shift
from ketacare.writes import DATABASE


@transaction.atomic
def record_absence(
    actor: Actor, *, staff_id: int, start: datetime, end: datetime, reason: str
) -> list[Appointment]:
    """``staff_id`` is away from ``start`` to ``end``; returns the appointments moved to
    "needs rebooking"."""
    may(actor, "scheduling.setup")
    start, end = checked_span(actor, start, end, "absence")
    reason = (reason or "").strip()
    if not reason:
        raise SchedulingError("Say why they are away.")
    lock_book(actor)
    membership = (
        Membership.objects.select_related("user")
        .filter(user_id=staff_id, clinic=actor.clinic)
        .first()
    )
    if membership is None:
        raise SchedulingError("Unknown staff member at this clinic.")
    name = membership.user.get_full_name() or membership.user.get_username()
    _cut_shifts(actor, staff_id, start, end)
    moved = _no_longer_possible(actor, staff_id, start, end, f"{name} is away ({reason}).")
    DATABASE.record(
        actor,
        Action.UPDATE,
        obj=membership,
        object_type="absence",
        changes=field_changes(
            {},
            {"start": start, "end": end, "reason": reason, "appointments": [a.pk for a in moved]},
        ),
    )
    return moved


def _cut_shifts(actor: Actor, staff_id: int, start: datetime, end: datetime) -> None:
    """Remove ``start``–``end`` from the staff member's shifts: a shift inside it goes, one
    across an edge is shortened, one around it is split in two."""
    shifts = Shift.objects.select_for_update().filter(
        clinic=actor.clinic, staff_id=staff_id, start__lt=end, end__gt=start
    )
    for shift in shifts:
        before = {"start": shift.start, "end": shift.end}
        if start <= shift.start and shift.end <= end:
            DATABASE.record(actor, Action.DELETE, obj=shift, changes=field_changes(before, {}))
            shift.delete()
            continue
        if shift.start < start and end < shift.end:
            rest = Shift(
                clinic=shift.clinic,
                staff_id=staff_id,
                role=shift.role,
                start=end,
                end=shift.end,
                created_by=shift.created_by,
                created_at=actor.now(),
            )
            DATABASE.add(rest)
            DATABASE.record(
                actor, Action.CREATE, obj=rest, changes=field_changes({}, {"start": end})
            )
            shift.end = start
        elif shift.start < start:
            shift.end = start
        else:
            shift.start = end
        DATABASE.save(shift, "start", "end")
        after = {"start": shift.start, "end": shift.end}
        DATABASE.record(actor, Action.UPDATE, obj=shift, changes=field_changes(before, after))


def _no_longer_possible(
    actor: Actor, staff_id: int, start: datetime, end: datetime, why: str
) -> list[Appointment]:
    """Move to "needs rebooking" the appointments in the absence that were the staff
    member's, and the doses the rota left now cannot watch: judged in order of time against
    the ones kept, so that of four doses one nurse can no longer watch, the latest moves."""
    clinic = actor.clinic
    assert clinic is not None
    affected = list(
        Appointment.objects.select_for_update(of=("self",))
        .filter(
            clinic=clinic,
            state__in=(Appointment.State.BOOKED, Appointment.State.CONFIRMED),
            start__lt=end,
            end__gt=start,
        )
        .select_related("planned__plan", "chair", "clinic")
        .order_by("start", "pk")
    )
    context = booking_context(clinic, start, end)
    ids = {a.pk for a in affected}
    kept: list[rules.Booking] = [b for b in context.bookings if b.id not in ids]
    moved: list[tuple[Appointment, str]] = []
    for appointment in affected:
        if appointment.staff_id == staff_id:
            moved.append((appointment, why))
            continue
        protocol = dose_protocol(appointment)
        booking = rules.Booking(
            appointment.chair_id,
            appointment.start,
            appointment.end,
            appointment.patient_id,
            appointment.staff_id,
            protocol.id if protocol is not None else None,
            appointment.pk,
        )
        now = replace(context, bookings=tuple(kept))
        refusal = rules.check_prescriber_on_site(booking, now) or rules.check_nurse_ratio(
            booking, now
        )
        if refusal is None:
            kept.append(booking)
        else:
            moved.append((appointment, f"{why} {refusal.message}"))
    for appointment, reason in moved:
        write_needs_rebooking(DATABASE, actor, appointment, reason)
    return [a for a, _ in moved]
