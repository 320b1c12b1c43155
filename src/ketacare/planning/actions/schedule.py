"""Moving a signed plan's session: the later ones re-flow to keep the protocol's spacing."""

from datetime import date
from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action
from ketacare.clinical.protocols.library import get_protocol
from ketacare.clinical.protocols.schedule import ScheduleError, reschedule
from ketacare.planning.actions.checks import PlanningError, within_bounds
from ketacare.planning.models import PlannedSession, TreatmentPlan
from ketacare.scheduling.models import Appointment
from ketacare.writes import DATABASE, Writes


@transaction.atomic
def reschedule_session(actor: Actor, plan_id: int, number: int, new_date: date) -> dict[str, Any]:
    """Move one session; the later ones re-flow to keep the protocol's spacing. Returns the
    moves as {"session N": {"old": date, "new": date}}."""
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan_id, clinic=actor.clinic)
    if not plan.is_signed:
        raise PlanningError("Sessions are scheduled when the plan is signed.")
    sessions = list(plan.sessions.order_by("number"))
    if not 1 <= number <= len(sessions):
        raise PlanningError(f"This plan has no session {number}.")
    today = actor.today()
    on_board = [s.number for s in sessions[number - 1 :] if hasattr(s, "treatment")]
    if on_board:
        raise PlanningError(
            f"Session {on_board[0]} is already on the chair board; cancel it there first."
        )
    if sessions[number - 1].date < today:
        raise PlanningError(f"Session {number} was on {sessions[number - 1].date}; it cannot move.")
    within_bounds(new_date, today, "The new date")
    if new_date < today:
        raise PlanningError(f"{new_date} is in the past.")
    try:
        dates = reschedule(
            [s.date for s in sessions],
            number - 1,
            new_date,
            get_protocol(plan.protocol_id),
            plan.clinic.weekdays,
        )
    except ScheduleError as error:
        raise PlanningError(str(error)) from None
    # A session booked in the appointment book moves with its appointment (the plan follows
    # it there), never under it: the plan, the board and the book would disagree.
    moved = [s.pk for s, new in zip(sessions, dates, strict=True) if s.date != new]
    booked = (
        Appointment.objects.filter(planned__in=moved, state__in=Appointment.HOLDING)
        .order_by("planned__number")
        .values_list("planned__number", flat=True)
        .first()
    )
    if booked is not None:
        raise PlanningError(
            f"Session {booked} is booked in the appointment book; move its appointment there, "
            "and the plan follows."
        )
    return write_reschedule(DATABASE, actor, plan, sessions, dates)


def write_reschedule(
    writes: Writes,
    actor: Actor,
    plan: TreatmentPlan,
    sessions: list[PlannedSession],
    dates: list[date],
) -> dict[str, Any]:
    """What moving a plan's sessions writes (``reschedule_session``): each of ``sessions`` (in
    order) whose date is not its new one in ``dates``. Returns the moves."""
    moves: dict[str, Any] = {}
    for session, moved in zip(sessions, dates, strict=True):
        if session.date != moved:
            moves[f"session {session.number}"] = {"old": session.date, "new": moved}
            session.date = moved
            writes.save(session, "date")
    if moves:
        writes.record(actor, Action.UPDATE, obj=plan, patient=plan.patient, changes=moves)
    return moves
