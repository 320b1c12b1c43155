"""What the appointment book is booked in: chairs, opening hours, closures, staff shifts, and
payers' authorisations. A closure moves the appointments it covers to "needs rebooking", each
with its history line and audit event: nothing silently disappears."""

from datetime import date, datetime, time
from typing import Any

from django.db import transaction

from ketacare.accounts.models import Membership
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes
from ketacare.bounds import OutOfBounds, check_date, check_integer
from ketacare.patients.models import Patient
from ketacare.scheduling.actions.appointments import write_needs_rebooking
from ketacare.scheduling.actions.common import (
    SchedulingError,
    checked_span,
    column_length,
    locked_chair,
    may,
    refuse,
    signed_in,
)
from ketacare.scheduling.actions.placing import lock_book
from ketacare.scheduling.models import (
    LONGEST,
    Appointment,
    Authorisation,
    Capability,
    Chair,
    Closure,
    OpeningHours,
    Shift,
)
from ketacare.writes import DATABASE, Writes

MAX_NAME = column_length(Chair, "name")


def _chair_fields(
    actor: Actor, name: str, capabilities: list[str], chair_id: int | None
) -> tuple[str, list[str]]:
    name = (name or "").strip()
    problems = []
    if not name:
        problems.append("Name the chair.")
    elif len(name) > MAX_NAME:
        problems.append(f"A chair's name is at most {MAX_NAME} characters.")
    elif (
        Chair.objects.filter(clinic=actor.clinic, name=name)
        .exclude(pk__in=[] if chair_id is None else [chair_id])
        .exists()
    ):
        problems.append(f"There is already a chair named {name}.")
    unknown = sorted(set(capabilities) - set(Capability.values))
    if unknown:
        problems.append(f"Unknown capabilities: {', '.join(unknown)}.")
    refuse(problems)
    # In the order the choices list them, each once.
    return name, [c for c in Capability.values if c in capabilities]


@transaction.atomic
def add_chair(actor: Actor, name: str, capabilities: list[str]) -> Chair:
    may(actor, "scheduling.setup")
    name, capabilities = _chair_fields(actor, name, capabilities, None)
    return write_chair(
        DATABASE, actor, Chair(clinic=actor.clinic, name=name, capabilities=capabilities)
    )


def write_chair(writes: Writes, actor: Actor, chair: Chair) -> Chair:
    chair.created_at = chair.updated_at = actor.now()
    writes.add(chair)
    shown = {"name": chair.name, "capabilities": chair.capabilities, "active": chair.active}
    writes.record(actor, Action.CREATE, obj=chair, changes=field_changes({}, shown))
    return chair


@transaction.atomic
def edit_chair(
    actor: Actor, chair_id: int, *, name: str, capabilities: list[str], active: bool
) -> Chair:
    """Rename a chair, change what it can host, or retire it. A chair is retired only once no
    future appointment holds it: move those first (or close the chair, which moves them)."""
    may(actor, "scheduling.setup")
    chair = locked_chair(actor, chair_id)
    name, capabilities = _chair_fields(actor, name, capabilities, chair.pk)
    if chair.active and not active:
        held = Appointment.objects.filter(
            chair=chair, state__in=Appointment.HOLDING, end__gt=actor.now()
        ).count()
        if held:
            raise SchedulingError(
                f"{chair.name} holds {held} upcoming appointment(s); move them before retiring it."
            )
    return write_chair_edit(DATABASE, actor, chair, name, capabilities, active)


def write_chair_edit(
    writes: Writes, actor: Actor, chair: Chair, name: str, capabilities: list[str], active: bool
) -> Chair:
    before = {"name": chair.name, "capabilities": chair.capabilities, "active": chair.active}
    after = {"name": name, "capabilities": capabilities, "active": active}
    chair.name, chair.capabilities, chair.active = name, capabilities, active
    chair.updated_at = actor.now()
    writes.save(chair, "name", "capabilities", "active", "updated_at")
    writes.record(actor, Action.UPDATE, obj=chair, changes=field_changes(before, after))
    return chair


@transaction.atomic
def set_opening_hours(actor: Actor, hours: dict[int, tuple[time, time]]) -> list[OpeningHours]:
    """The clinic's week: ``{weekday: (opens, closes)}`` (0 = Monday), in its time zone; a
    weekday left out is closed. Replaces the hours set before; appointments already booked
    stay as they are. (Through the ORM, not a ``write_`` builder: ``Writes`` has no delete,
    and only the clinic admin's setup, never the bulk path, sets hours.)"""
    may(actor, "scheduling.setup")
    problems = []
    for weekday, (opens, closes) in sorted(hours.items()):
        if not (isinstance(weekday, int) and 0 <= weekday <= 6):
            problems.append(f"Unknown weekday {weekday!r} (0 = Monday … 6 = Sunday).")
        elif not (isinstance(opens, time) and isinstance(closes, time) and opens < closes):
            problems.append(f"On weekday {weekday} the clinic must open before it closes.")
    refuse(problems)
    existing = {
        h.weekday: h for h in OpeningHours.objects.select_for_update().filter(clinic=actor.clinic)
    }
    before = {str(d): [h.opens, h.closes] for d, h in sorted(existing.items())}
    after = {str(d): [o, c] for d, (o, c) in sorted(hours.items())}
    OpeningHours.objects.filter(clinic=actor.clinic).exclude(weekday__in=list(hours)).delete()
    rows = []
    for weekday, (opens, closes) in sorted(hours.items()):
        row = existing.get(weekday) or OpeningHours(clinic=actor.clinic, weekday=weekday)
        row.opens, row.closes = opens, closes
        row.save()
        rows.append(row)
    DATABASE.record(
        actor, Action.UPDATE, object_type="openinghours", changes=field_changes(before, after)
    )
    return rows


@transaction.atomic
def add_closure(
    actor: Actor, *, start: datetime, end: datetime, reason: str, chair_id: int | None = None
) -> tuple[Closure, list[Appointment]]:
    """Close the clinic (no chair) or one chair from ``start`` to ``end``. The appointments
    it covers that were still to happen move to "needs rebooking", each saying why. Returns
    the closure and those appointments."""
    may(actor, "scheduling.setup")
    start, end = checked_span(actor, start, end, "closure")
    reason = (reason or "").strip()
    if not reason:
        raise SchedulingError("Say why it is closed.")
    # The book first (the lock order of scheduling.actions.appointments): a telehealth booking
    # takes no chair, so only the book's lock keeps it out of a closure being written.
    lock_book(actor)
    if chair_id is not None:
        chair = locked_chair(actor, chair_id)
    else:
        chair = None
        # Every chair locked, in id order (the lock order of scheduling.actions.appointments).
        list(Chair.objects.select_for_update().filter(clinic=actor.clinic).order_by("pk"))
    covered = Appointment.objects.select_for_update(of=("self",)).filter(
        clinic=actor.clinic,
        state__in=(Appointment.State.BOOKED, Appointment.State.CONFIRMED),
        start__lt=end,
        end__gt=start,
    )
    if chair is not None:
        covered = covered.filter(chair=chair)
    closure = Closure(clinic=actor.clinic, chair=chair, start=start, end=end, reason=reason)
    moved = list(covered.select_related("chair").order_by("start", "pk"))
    write_closure(DATABASE, actor, closure, moved)
    return closure, moved


def write_closure(
    writes: Writes, actor: Actor, closure: Closure, covered: list[Appointment]
) -> Closure:
    """What a closure writes: the closure, its audit event, and each covered appointment
    moved to "needs rebooking" (``write_needs_rebooking``)."""
    closure.created_by = signed_in(actor)
    closure.created_at = actor.now()
    writes.add(closure)
    shown = {
        "chair": closure.chair_id,
        "start": closure.start,
        "end": closure.end,
        "reason": closure.reason,
        "appointments": [a.pk for a in covered],
    }
    writes.record(actor, Action.CREATE, obj=closure, changes=field_changes({}, shown))
    where = closure.chair.name if closure.chair else "the clinic"
    for appointment in covered:
        write_needs_rebooking(writes, actor, appointment, f"Closed: {where} ({closure.reason}).")
    return closure


@transaction.atomic
def add_shift(actor: Actor, *, staff_id: int, start: datetime, end: datetime) -> Shift:
    """A staff member on site from ``start`` to ``end``, in their role at the clinic. Their
    shifts do not overlap."""
    may(actor, "scheduling.setup")
    start, end = checked_span(actor, start, end, "shift", LONGEST["shift"])
    # The membership's row lock serializes shifts of one staff member, so two overlapping
    # ones added at once cannot both pass the overlap check.
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(user_id=staff_id, clinic=actor.clinic, active=True, user__is_active=True)
        .first()
    )
    if membership is None:
        raise SchedulingError("Unknown staff member at this clinic.")
    if Shift.objects.filter(
        clinic=actor.clinic, staff_id=staff_id, start__lt=end, end__gt=start
    ).exists():
        raise SchedulingError(
            f"{membership.user.get_full_name() or membership.user} already has a shift then."
        )
    shift = Shift(
        clinic=actor.clinic, staff=membership.user, role=membership.role, start=start, end=end
    )
    return write_shift(DATABASE, actor, shift)


def write_shift(writes: Writes, actor: Actor, shift: Shift) -> Shift:
    shift.created_by = signed_in(actor)
    shift.created_at = actor.now()
    writes.add(shift)
    shown = {"staff": shift.staff_id, "role": shift.role, "start": shift.start, "end": shift.end}
    writes.record(actor, Action.CREATE, obj=shift, changes=field_changes({}, shown))
    return shift


@transaction.atomic
def record_authorisation(
    actor: Actor,
    *,
    patient_id: int,
    payer: str,
    reference: str,
    approved_sessions: Any,
    valid_from: date | str,
    valid_to: date | str,
) -> Authorisation:
    """A payer's approval of ``approved_sessions`` sessions between two dates."""
    may(actor, "scheduling.book")
    try:
        patient = Patient.objects.get(pk=patient_id, clinic=actor.clinic)
    except Patient.DoesNotExist:
        raise SchedulingError("Unknown patient.") from None
    payer, reference = (payer or "").strip(), (reference or "").strip()
    problems = []
    for value, field, what in (
        (payer, "payer", "the payer"),
        (reference, "reference", "the reference"),
    ):
        limit = column_length(Authorisation, field)
        if not value:
            problems.append(f"Name {what}.")
        elif len(value) > limit:
            problems.append(f"{what.capitalize()} is at most {limit} characters.")
    try:
        sessions = check_integer(approved_sessions, "The approved sessions", 1, 999)
        first = check_date(valid_from, actor.today(), "The first valid date")
        last = check_date(valid_to, actor.today(), "The last valid date")
    except OutOfBounds as problem:
        raise SchedulingError(" ".join([*problems, str(problem)])) from None
    if last < first:
        problems.append("The authorisation must end on or after the day it starts.")
    refuse(problems)
    authorisation = Authorisation(
        clinic=actor.clinic,
        patient=patient,
        payer=payer,
        reference=reference,
        approved_sessions=sessions,
        valid_from=first,
        valid_to=last,
    )
    return write_authorisation(DATABASE, actor, authorisation)


def write_authorisation(
    writes: Writes, actor: Actor, authorisation: Authorisation
) -> Authorisation:
    authorisation.recorded_by = signed_in(actor)
    authorisation.created_at = actor.now()
    writes.add(authorisation)
    shown = {
        "payer": authorisation.payer,
        "reference": authorisation.reference,
        "approved_sessions": authorisation.approved_sessions,
        "valid_from": authorisation.valid_from,
        "valid_to": authorisation.valid_to,
    }
    writes.record(
        actor,
        Action.CREATE,
        obj=authorisation,
        patient=authorisation.patient,
        changes=field_changes({}, shown),
    )
    return authorisation
