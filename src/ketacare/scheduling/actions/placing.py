"""Whether an appointment may be placed where it is asked: the one judgment that booking,
moving and booking a series all make (docs/decisions/0116). The booking rules
(``scheduling.rules``) judge the time, chair and staff against the book as it stands; the
gates (``scheduling.gates``) judge the patient's record; the plan's cadence judges a dose
against the plan's other booked doses."""

from datetime import date, timedelta

from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.planning.models import PlannedSession
from ketacare.scheduling import rules
from ketacare.scheduling.context import booking_context, window
from ketacare.scheduling.doses import dose_plan
from ketacare.scheduling.gates import dosing_gates
from ketacare.scheduling.models import Appointment
from ketacare.writes import DATABASE

Kind = Appointment.Kind
# The cadence (a minimum interval, a most per calendar week) reaches no further than a week.
CADENCE_REACH = timedelta(days=8)


def lock_book(actor: Actor) -> None:
    """Lock the clinic's row: bookings in one clinic are judged one at a time, so two made at
    once cannot both take the last nurse's watch or the last chair. Taken before any chair
    or appointment lock (see ``appointments``)."""
    clinic = actor.clinic
    assert clinic is not None  # may() admitted a member of a clinic
    list(Clinic.objects.select_for_update().filter(pk=clinic.pk).values_list("pk"))


def dose_protocol(appointment: Appointment) -> Protocol | None:
    """The protocol of the dose an appointment gives (``doses.dose_plan``), or None."""
    plan = dose_plan(appointment)
    return get_protocol(plan.protocol_id) if plan is not None else None


def local_day(appointment: Appointment) -> date:
    return timezone.localtime(appointment.start, appointment.clinic.zone).date()


def placing_problems(
    actor: Actor, appointment: Appointment, preference: rules.Preference | None = None
) -> list[str]:
    """Every reason ``appointment`` (new, or an existing one at its new time and chair) may
    not be placed, in words staff read; empty when it may. Call with the book locked
    (``lock_book``)."""
    clinic = actor.clinic
    assert clinic is not None
    problems: list[str] = []
    chair = appointment.chair
    if appointment.kind == Kind.TELEHEALTH and chair is not None:
        problems.append("A telehealth appointment takes no chair.")
    if appointment.kind == Kind.DOSING and chair is None:
        problems.append("A dosing session needs a chair.")
    if chair is not None and not chair.active:
        problems.append(f"{chair.name} is no longer in use.")
        chair = None
    # Asked once: the rules judge the plan's protocol, the gates ask under the same plan.
    plan = dose_plan(appointment)
    protocol = get_protocol(plan.protocol_id) if plan is not None else None
    if appointment.kind == Kind.DOSING and protocol is None:
        problems.append("A dosing session is booked under a signed plan; the patient has none.")
    if protocol is not None:
        minutes = int((appointment.end - appointment.start).total_seconds() // 60)
        if minutes < rules.care_minutes(protocol):
            problems.append(
                f"{protocol.name} keeps the patient at least {rules.care_minutes(protocol)} "
                f"minutes; this appointment is {minutes}."
            )
    candidate = rules.Booking(
        chair_id=chair.pk if chair is not None else None,
        start=appointment.start,
        end=appointment.end,
        patient_id=appointment.patient_id,
        staff_id=appointment.staff_id,
        protocol_id=protocol.id if protocol is not None else None,
        id=appointment.pk,
    )
    context = booking_context(clinic, appointment.start, appointment.end, preference)
    problems += [refusal.message for refusal in rules.check_slot(candidate, context)]
    if protocol is not None:
        problems += [r.message for r in _cadence(appointment, protocol)]
    if appointment.kind == Kind.DOSING:
        gates = dosing_gates(
            clinic,
            appointment.patient,
            plan,
            appointment.start,
            transport_arranged=appointment.transport_arranged,
            exclude=appointment.pk,
        )
        problems += [f"{g.message} (Rule: {g.source}.)" for g in gates if g.blocks]
    return problems


def dose_days(
    clinic: Clinic, patient_id: int, first: date, last: date, exclude: int | None = None
) -> list[date]:
    """The local days of the patient's doses booked or given from ``first`` to ``last`` (but
    ``exclude``): what the cadence is kept with, whichever plan or session they belong to."""
    start, end = window(clinic, first, last)
    doses = (
        Appointment.objects.filter(
            patient=patient_id,
            kind=Kind.DOSING,
            state__in=Appointment.HOLDING,
            start__gte=start,
            start__lt=end,
        )
        .exclude(pk__in=[] if exclude is None else [exclude])
        .values_list("start", flat=True)
    )
    return [timezone.localtime(moment, clinic.zone).date() for moment in doses]


def _cadence(appointment: Appointment, protocol: Protocol) -> list[rules.Refusal]:
    """The protocol's cadence between this dose and the patient's other booked doses (a plan's
    sessions not booked yet get their days when they are)."""
    day = local_day(appointment)
    others = dose_days(
        appointment.clinic,
        appointment.patient_id,
        day - CADENCE_REACH,
        day + CADENCE_REACH,
        exclude=appointment.pk,
    )
    return rules.check_added_day(others, day, protocol)


def follow_planned_day(actor: Actor, appointment: Appointment) -> None:
    """A dose booked or moved to another day moves its planned session with it, so that the
    plan and the chair board show the day the patient comes (audited like any move)."""
    planned: PlannedSession | None = appointment.planned
    if planned is None:
        return
    day = local_day(appointment)
    if planned.date == day:
        return
    before = {"date": planned.date}
    planned.date = day
    DATABASE.save(planned, "date")
    DATABASE.record(
        actor,
        Action.UPDATE,
        obj=planned,
        patient=appointment.patient_id,
        changes=field_changes(before, {"date": day}),
    )
