"""Read-only questions about the appointment book, for pages and other apps."""

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet

from ketacare.accounts.models import Clinic
from ketacare.planning.models import TreatmentPlan
from ketacare.scheduling.models import Appointment, Chair


def day_bounds(clinic: Clinic, day: date) -> tuple[datetime, datetime]:
    """The first moment of ``day`` in the clinic's time zone and of the next day (a day
    across a daylight-saving change is 23 or 25 hours long)."""
    zone = clinic.zone
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def appointments_on(clinic: Clinic, day: date) -> QuerySet[Appointment]:
    """The clinic's appointments that start on ``day`` (its time zone), in every state, with
    their patient, chair and staff, in order of time."""
    start, end = day_bounds(clinic, day)
    return (
        Appointment.objects.filter(clinic=clinic, start__gte=start, start__lt=end)
        .select_related("patient", "chair", "staff")
        .order_by("start", "chair__name", "pk")
    )


def needs_rebooking(clinic: Clinic) -> QuerySet[Appointment]:
    """The appointments a closure took away, waiting for a new time: the coordinator's list."""
    return (
        Appointment.objects.filter(clinic=clinic, state=Appointment.State.NEEDS_REBOOKING)
        .select_related("patient", "chair")
        .order_by("start", "pk")
    )


def day_by_chair(clinic: Clinic, day: date) -> list[tuple[str, list[Appointment]]]:
    """The day's appointments under each chair in use (and any retired chair still booked
    that day), then telehealth: two queries, however many appointments."""
    booked = list(appointments_on(clinic, day))
    columns: dict[str, list[Appointment]] = {
        chair.name: [] for chair in Chair.objects.filter(clinic=clinic, active=True)
    }
    for appointment in booked:
        name = appointment.chair.name if appointment.chair else "Telehealth"
        columns.setdefault(name, []).append(appointment)
    return list(columns.items())


def plan_appointments(plan: TreatmentPlan) -> QuerySet[Appointment]:
    """The dosing appointments booked for a plan's sessions, in every state but cancelled."""
    return (
        Appointment.objects.filter(planned__plan=plan)
        .exclude(state=Appointment.State.CANCELLED)
        .select_related("chair", "planned")
        .order_by("start", "pk")
    )


def checklist_day(clinic: Clinic, day: date) -> QuerySet[Appointment]:
    """The day's appointments still expected (booked or confirmed), with what their gates
    read, for the day-before checklist."""
    return (
        appointments_on(clinic, day)
        .filter(state__in=(Appointment.State.BOOKED, Appointment.State.CONFIRMED))
        .select_related("planned__plan", "clinic")
        # What the gates read of each patient (scheduling.gates), one query each.
        .prefetch_related("patient__consents", "patient__authorisations", "patient__appointments")
    )
