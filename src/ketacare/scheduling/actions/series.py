"""Booking a signed plan's induction in one step: the plan's sessions not yet booked are
proposed at its cadence in free chairs (``rules.propose_series``), and each proposed one is
booked through the same judgment as a single booking (``placing.placing_problems``). What
could not be placed is returned with its reasons; nothing is half-booked."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from ketacare.actor import Actor
from ketacare.clinical.protocols.library import get_protocol
from ketacare.planning.models import PlannedSession, TreatmentPlan
from ketacare.scheduling import rules
from ketacare.scheduling.actions.appointments import staff_member, write_booking
from ketacare.scheduling.actions.common import SchedulingError, may, refuse
from ketacare.scheduling.actions.placing import (
    CADENCE_REACH,
    dose_days,
    follow_planned_day,
    lock_book,
    placing_problems,
)
from ketacare.scheduling.context import booking_context, window
from ketacare.scheduling.gates import dosing_gates
from ketacare.scheduling.models import Appointment, Chair
from ketacare.writes import DATABASE


@dataclass(frozen=True)
class SeriesBooked:
    booked: list[Appointment]
    unplaced: tuple[rules.Unplaced, ...]


def signed_plan(actor: Actor, plan_id: int) -> TreatmentPlan:
    plan = (
        TreatmentPlan.objects.select_related("patient")
        .filter(pk=plan_id, clinic=actor.clinic)
        .first()
    )
    if plan is None:
        raise SchedulingError("Unknown treatment plan.")
    if not plan.is_signed:
        raise SchedulingError("Sessions are booked from a signed plan.")
    return plan


def sessions_to_book(actor: Actor, plan: TreatmentPlan) -> list[PlannedSession]:
    """The plan's sessions from today on that are neither booked nor given, in order."""
    return list(
        PlannedSession.objects.filter(plan=plan, date__gte=actor.today(), treatment__isnull=True)
        .exclude(appointments__state__in=Appointment.HOLDING)
        .select_related("plan")
        .order_by("number")
    )


def propose(
    actor: Actor, plan: TreatmentPlan, preference: rules.Preference | None = None
) -> tuple[list[PlannedSession], rules.SeriesProposal]:
    """The plan's sessions still to book and where they would go (reads only)."""
    sessions = sessions_to_book(actor, plan)
    if not sessions:
        return sessions, rules.SeriesProposal((), ())
    clinic = actor.clinic
    assert clinic is not None
    days = [s.date for s in sessions]
    late = timedelta(days=rules.booking_policy().max_days_late)
    start, end = window(clinic, min(days), max(days) + late)
    context = booking_context(clinic, start, end, preference)
    protocol = get_protocol(plan.protocol_id)
    # The patient's doses already booked (a moved session, a maintenance dose) keep the
    # cadence with the new ones, as each booking's judgment will.
    booked_days = dose_days(
        clinic, plan.patient_id, min(days) - CADENCE_REACH, max(days) + late + CADENCE_REACH
    )
    return sessions, rules.propose_series(protocol, days, plan.patient_id, context, booked_days)


@transaction.atomic
def book_series(
    actor: Actor,
    plan_id: int,
    *,
    preference: rules.Preference | None = None,
    staff_id: int | None = None,
    transport_arranged: bool = False,
) -> SeriesBooked:
    """Book every session of the plan still to book where the proposal places it; say why
    for each one it could not place."""
    may(actor, "scheduling.book")
    lock_book(actor)
    plan = signed_plan(actor, plan_id)
    staff = staff_member(actor, staff_id)
    sessions, proposal = propose(actor, plan, preference)
    if not sessions:
        raise SchedulingError("Every session of the plan from today on is booked or given.")
    clinic = actor.clinic
    assert clinic is not None
    # The gates that block are the patient's and the plan's, the same for every session:
    # asked once, before the first, so that a refusal books none.
    start, _ = window(clinic, sessions[0].date, sessions[0].date)
    gates = dosing_gates(clinic, plan.patient, plan, start, transport_arranged=True)
    blocking = [g for g in gates if g.blocks]
    refuse([f"{g.message} (Rule: {g.source}.)" for g in blocking])
    unplaced = {u.session for u in proposal.unplaced}
    placed = iter(proposal.placed)
    chairs = {c.pk: c for c in Chair.objects.filter(clinic=clinic)}
    booked = []
    for number, session in enumerate(sessions, start=1):
        if number in unplaced:
            continue
        where = next(placed)
        assert where.chair_id is not None  # the proposal places doses in chairs
        appointment = Appointment(
            clinic=clinic,
            patient=plan.patient,
            kind=Appointment.Kind.DOSING,
            chair=chairs[where.chair_id],
            staff=staff,
            start=where.start,
            end=where.end,
            planned=session,
            transport_arranged=bool(transport_arranged),
        )
        # The proposal and this judgment read the same rules from the same book; a
        # disagreement is a fault, and refuses the whole series.
        refuse(placing_problems(actor, appointment, preference))
        write_booking(DATABASE, actor, appointment)
        follow_planned_day(actor, appointment)
        booked.append(appointment)
    return SeriesBooked(booked, proposal.unplaced)
