"""Booking an appointment and every change to it afterwards: confirm, arrived, no-show,
cancel, reschedule. Each change keeps the appointment's history (``AppointmentChange``) and
writes its audit event; a refusal writes nothing.

Locks are taken chairs first (in id order), then appointments, by every action here and in
``resources``, so two of them never wait for each other."""

from copy import copy
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketacare.accounts.models import Membership, User
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes
from ketacare.patients.models import Patient
from ketacare.planning.models import PlannedSession
from ketacare.scheduling.actions.common import (
    SchedulingError,
    checked_span,
    locked_appointment,
    locked_chair,
    may,
    refuse,
    signed_in,
)
from ketacare.scheduling.actions.placing import (
    follow_planned_day,
    lock_book,
    placing_problems,
)
from ketacare.scheduling.models import LONGEST, Appointment, AppointmentChange, Chair
from ketacare.treatments.models import TreatmentSession
from ketacare.writes import DATABASE, Writes

Kind, State = Appointment.Kind, Appointment.State


@transaction.atomic
def book(
    actor: Actor,
    *,
    patient_id: int,
    kind: str,
    start: datetime,
    end: datetime,
    chair_id: int | None = None,
    staff_id: int | None = None,
    planned_id: int | None = None,
    treatment_id: int | None = None,
    transport_arranged: bool = False,
) -> Appointment:
    """Book one appointment. A chair is never double-booked: its row is locked before the
    overlap check, so of two coordinators booking its last slot at once one wins and the
    other is refused with the booking that took it. Every booking rule and gate is judged by
    ``placing_problems``, as for a move and for each session of a series."""
    may(actor, "scheduling.book")
    if kind not in Kind.values:
        raise SchedulingError(f"Unknown kind of appointment: {kind!r}.")
    start, end = checked_span(actor, start, end, "appointment", LONGEST["appointment"])
    lock_book(actor)
    chair = locked_chair(actor, chair_id) if chair_id is not None else None
    try:
        patient = Patient.objects.get(pk=patient_id, clinic=actor.clinic)
    except Patient.DoesNotExist:
        raise SchedulingError("Unknown patient.") from None
    problems = []
    if start < actor.now():
        problems.append("The appointment starts in the past.")
    staff = staff_member(actor, staff_id)
    planned = _planned(actor, patient, kind, planned_id, problems)
    treatment = None
    if treatment_id is not None:
        treatment = TreatmentSession.objects.filter(
            pk=treatment_id, clinic=actor.clinic, patient=patient
        ).first()
        if treatment is None:
            raise SchedulingError("Unknown treatment session for this patient.")
    appointment = Appointment(
        clinic=actor.clinic,
        patient=patient,
        kind=kind,
        chair=chair,
        staff=staff,
        start=start,
        end=end,
        planned=planned,
        treatment=treatment,
        transport_arranged=bool(transport_arranged),
    )
    problems += placing_problems(actor, appointment)
    refuse(problems)
    write_booking(DATABASE, actor, appointment)
    follow_planned_day(actor, appointment)
    return appointment


def staff_member(actor: Actor, staff_id: int | None) -> User | None:
    if staff_id is None:
        return None
    member = Membership.objects.filter(
        user_id=staff_id, clinic=actor.clinic, active=True, user__is_active=True
    ).select_related("user")
    found = member.first()
    if found is None:
        raise SchedulingError("Unknown staff member at this clinic.")
    return found.user


def _planned(
    actor: Actor, patient: Patient, kind: str, planned_id: int | None, problems: list[str]
) -> PlannedSession | None:
    """The signed plan's session a dosing appointment books, if named."""
    if planned_id is None:
        return None
    planned = (
        PlannedSession.objects.select_related("plan")
        .filter(pk=planned_id, plan__clinic=actor.clinic, plan__patient=patient)
        .first()
    )
    if planned is None:
        raise SchedulingError("Unknown planned session for this patient.")
    if kind != Kind.DOSING:
        problems.append("Only a dosing session books a plan's session.")
    if not planned.plan.is_signed:
        problems.append("Sessions are booked from a signed plan.")
    if planned.appointments.filter(state__in=Appointment.HOLDING).exists():
        problems.append(f"Session {planned.number} of the plan is already booked.")
    if TreatmentSession.objects.filter(planned=planned).exists():
        problems.append(f"Session {planned.number} of the plan is already on the chair board.")
    return planned


def write_booking(writes: Writes, actor: Actor, appointment: Appointment) -> Appointment:
    """What booking writes: the appointment, the first line of its history, the audit event."""
    now = actor.now()
    appointment.state = State.BOOKED
    appointment.created_by = signed_in(actor)
    appointment.created_at = appointment.updated_at = now
    writes.add(appointment)
    writes.add(
        AppointmentChange(
            appointment=appointment,
            changed_by=actor.user,
            changed_at=now,
            new_state=appointment.state,
            new_start=appointment.start,
            new_end=appointment.end,
            new_chair=appointment.chair,
        )
    )
    writes.record(
        actor,
        Action.CREATE,
        obj=appointment,
        patient=appointment.patient,
        changes=field_changes({}, _shown(appointment)),
    )
    return appointment


def write_change(
    writes: Writes,
    actor: Actor,
    appointment: Appointment,
    *,
    state: str,
    start: datetime,
    end: datetime,
    chair: Chair | None,
    reason: str = "",
) -> AppointmentChange:
    """What any change to a booked appointment writes: its new state, time and chair, a line
    of its history with the old and new values and the reason, and the audit event."""
    before = _shown(appointment)
    change = AppointmentChange(
        appointment=appointment,
        changed_by=actor.user,
        changed_at=actor.now(),
        old_state=appointment.state,
        new_state=state,
        old_start=appointment.start,
        new_start=start,
        old_end=appointment.end,
        new_end=end,
        old_chair=appointment.chair,
        new_chair=chair,
        reason=reason,
    )
    appointment.state, appointment.start, appointment.end = state, start, end
    appointment.chair = chair
    appointment.updated_at = change.changed_at
    writes.save(appointment, "state", "start", "end", "chair_id", "updated_at")
    writes.add(change)
    changes: dict[str, Any] = field_changes(before, _shown(appointment))
    if reason:
        changes["reason"] = reason
    writes.record(
        actor, Action.UPDATE, obj=appointment, patient=appointment.patient_id, changes=changes
    )
    return change


def write_needs_rebooking(
    writes: Writes, actor: Actor, appointment: Appointment, reason: str
) -> AppointmentChange:
    """Take a booked appointment off the book, onto the "needs rebooking" list, saying why
    (a closure, a staff member away): it keeps its time and chair until it is moved."""
    return write_change(
        writes,
        actor,
        appointment,
        state=State.NEEDS_REBOOKING,
        start=appointment.start,
        end=appointment.end,
        chair=appointment.chair,
        reason=reason,
    )


def _shown(appointment: Appointment) -> dict[str, object]:
    """The appointment's fields as the audit trail records them."""
    return {
        "kind": appointment.kind,
        "state": appointment.state,
        "start": appointment.start,
        "end": appointment.end,
        "chair": appointment.chair_id,
        "staff": appointment.staff_id,
        "planned": appointment.planned_id,
    }


def _move_state(
    actor: Actor,
    appointment: Appointment,
    to: str,
    allowed_from: tuple[str, ...],
    reason: str = "",
) -> Appointment:
    """Change the (locked) appointment's state, if it is in one of ``allowed_from``."""
    if appointment.state not in allowed_from:
        raise SchedulingError(
            f"The appointment is {appointment.get_state_display().lower()}; "
            f"it cannot be marked {State(to).label.lower()}."
        )
    write_change(
        DATABASE,
        actor,
        appointment,
        state=to,
        start=appointment.start,
        end=appointment.end,
        chair=appointment.chair,
        reason=reason,
    )
    return appointment


@transaction.atomic
def confirm(actor: Actor, appointment_id: int) -> Appointment:
    """The patient confirmed they will come."""
    may(actor, "scheduling.book")
    return _move_state(
        actor, locked_appointment(actor, appointment_id), State.CONFIRMED, (State.BOOKED,)
    )


@transaction.atomic
def mark_arrived(actor: Actor, appointment_id: int) -> Appointment:
    """The patient is here: only on the appointment's day (in the clinic's time zone)."""
    may(actor, "scheduling.book")
    appointment = locked_appointment(actor, appointment_id)
    zone = appointment.clinic.zone
    if (
        timezone.localtime(actor.now(), zone).date()
        != timezone.localtime(appointment.start, zone).date()
    ):
        raise SchedulingError("A patient arrives on the day of their appointment.")
    return _move_state(actor, appointment, State.ARRIVED, (State.BOOKED, State.CONFIRMED))


@transaction.atomic
def mark_no_show(actor: Actor, appointment_id: int) -> Appointment:
    """The patient did not come: only once the appointment has begun."""
    may(actor, "scheduling.book")
    appointment = locked_appointment(actor, appointment_id)
    if actor.now() < appointment.start:
        raise SchedulingError("The appointment has not started yet; it cannot be a no-show.")
    return _move_state(actor, appointment, State.NO_SHOW, (State.BOOKED, State.CONFIRMED))


@transaction.atomic
def cancel(actor: Actor, appointment_id: int, reason: str) -> Appointment:
    """Cancel, saying why; the chair is free again."""
    may(actor, "scheduling.book")
    reason = (reason or "").strip()
    if not reason:
        raise SchedulingError("Say why the appointment is cancelled.")
    return _move_state(
        actor,
        locked_appointment(actor, appointment_id),
        State.CANCELLED,
        (State.BOOKED, State.CONFIRMED, State.NEEDS_REBOOKING),
        reason,
    )


@transaction.atomic
def reschedule(
    actor: Actor,
    appointment_id: int,
    *,
    start: datetime,
    end: datetime,
    chair_id: int | None,
    reason: str = "",
) -> Appointment:
    """Move an appointment (or book again one that needs rebooking) to ``start``–``end`` in
    ``chair_id`` (its own chair to keep it; None for telehealth). It is booked again, and its
    history keeps where it was."""
    may(actor, "scheduling.book")
    start, end = checked_span(actor, start, end, "appointment", LONGEST["appointment"])
    lock_book(actor)
    chair = locked_chair(actor, chair_id) if chair_id is not None else None
    appointment = locked_appointment(actor, appointment_id)
    if appointment.state not in Appointment.MOVABLE:
        raise SchedulingError(
            f"The appointment is {appointment.get_state_display().lower()}; it cannot move."
        )
    problems = []
    if start < actor.now():
        problems.append("The new time is in the past.")
    moved = copy(appointment)
    moved.start, moved.end, moved.chair = start, end, chair
    problems += placing_problems(actor, moved)
    refuse(problems)
    write_change(
        DATABASE,
        actor,
        appointment,
        state=State.BOOKED,
        start=start,
        end=end,
        chair=chair,
        reason=reason.strip(),
    )
    follow_planned_day(actor, appointment)
    return appointment


@transaction.atomic
def set_transport(actor: Actor, appointment_id: int, arranged: bool) -> Appointment:
    """Record whether someone takes the patient home (the day-before checklist's call)."""
    may(actor, "scheduling.book")
    appointment = locked_appointment(actor, appointment_id)
    if appointment.state not in Appointment.HOLDING:
        raise SchedulingError(
            f"The appointment is {appointment.get_state_display().lower()}; nothing to arrange."
        )
    if appointment.transport_arranged == arranged:
        return appointment
    before = {"transport_arranged": appointment.transport_arranged}
    appointment.transport_arranged = arranged
    appointment.updated_at = actor.now()
    DATABASE.save(appointment, "transport_arranged", "updated_at")
    DATABASE.record(
        actor,
        Action.UPDATE,
        obj=appointment,
        patient=appointment.patient_id,
        changes=field_changes(before, {"transport_arranged": arranged}),
    )
    return appointment
