"""Read-only questions about the appointment book, for pages and other apps."""

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet

from ketacare.accounts.models import Clinic
from ketacare.scheduling.models import Appointment


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
