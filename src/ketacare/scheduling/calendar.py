"""Read-only questions behind the calendar pages: a week of the book per chair or per staff
member, a patient's upcoming appointments, and a staff member's feed. Each is a fixed number
of queries, however many appointments there are.

A week runs from Monday 00:00 to the next Monday 00:00 in the clinic's time zone, so a week
across a daylight-saving change is 167 or 169 hours long and each appointment falls on the day
its clinic's wall clock says."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from ketacare.accounts.models import Clinic, Membership, User
from ketacare.accounts.permissions import PERMISSIONS
from ketacare.patients.models import Patient
from ketacare.scheduling.models import Appointment, Chair
from ketacare.scheduling.queries import day_bounds

DAYS = 7
# The feed's window: recent enough to look back on, far enough ahead to plan with.
FEED_BACK = timedelta(days=30)
FEED_AHEAD = timedelta(days=90)
TELEHEALTH = "Telehealth"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bounds(clinic: Clinic, monday: date) -> tuple[datetime, datetime]:
    """The first moment of ``monday`` and of the Monday after, in the clinic's time zone."""
    return day_bounds(clinic, monday)[0], day_bounds(clinic, monday + timedelta(days=DAYS))[0]


def days_of(monday: date) -> list[date]:
    return [monday + timedelta(days=n) for n in range(DAYS)]


def initials(patient: Patient) -> str:
    """``A.L.`` for Ada Lovelace: enough for staff who know the day's patients, and nothing
    a stranger reading a calendar over a shoulder could look up."""
    names = (patient.given_name.strip(), patient.family_name.strip())
    return "".join(f"{name[0].upper()}." for name in names if name)


def appointments_in_week(clinic: Clinic, monday: date) -> QuerySet[Appointment]:
    """The clinic's appointments starting in the week of ``monday``, every state, with their
    patient, chair and staff, in order of time."""
    start, end = week_bounds(clinic, monday)
    return (
        Appointment.objects.filter(clinic=clinic, start__gte=start, start__lt=end)
        .select_related("patient", "chair", "staff")
        .order_by("start", "chair__name", "pk")
    )


def _day_index(appointment: Appointment, clinic: Clinic, monday: date) -> int:
    return (timezone.localtime(appointment.start, clinic.zone).date() - monday).days


@dataclass
class WeekRow:
    """One line of the week: a chair (or telehealth, or a staff member) and its appointments
    on each of the seven days."""

    name: str
    days: list[list[Appointment]]


def week_by_chair(clinic: Clinic, monday: date) -> list[WeekRow]:
    """A row per chair in use (and any retired chair still booked that week), then
    telehealth if any: two queries."""
    rows: dict[str, WeekRow] = {
        chair.name: WeekRow(chair.name, [[] for _ in range(DAYS)])
        for chair in Chair.objects.filter(clinic=clinic, active=True)
    }
    for appointment in appointments_in_week(clinic, monday):
        name = appointment.chair.name if appointment.chair else TELEHEALTH
        row = rows.setdefault(name, WeekRow(name, [[] for _ in range(DAYS)]))
        row.days[_day_index(appointment, clinic, monday)].append(appointment)
    return list(rows.values())


def week_of_staff(clinic: Clinic, staff: User, monday: date) -> list[list[Appointment]]:
    """The staff member's appointments of the week at the clinic, by day: one query."""
    days: list[list[Appointment]] = [[] for _ in range(DAYS)]
    for appointment in appointments_in_week(clinic, monday).filter(staff=staff):
        days[_day_index(appointment, clinic, monday)].append(appointment)
    return days


def clinic_staff(clinic: Clinic) -> list[User]:
    """The clinic's active staff who work with the book (not researchers), by name, for the
    "by staff member" links: one query."""
    members = Membership.objects.filter(
        clinic=clinic,
        active=True,
        user__is_active=True,
        role__in=[str(role) for role in PERMISSIONS["scheduling.view"]],
    )
    return [
        membership.user
        for membership in members.select_related("user").order_by(
            "user__last_name", "user__first_name", "user__username"
        )
    ]


def staff_member(clinic: Clinic, staff_id: int) -> User | None:
    """The clinic's staff member ``staff_id`` (active or not: past weeks name them too), or
    None when they do not work at the clinic."""
    return User.objects.filter(pk=staff_id, memberships__clinic=clinic).distinct().first()


def upcoming_for_patient(patient: Patient, now: datetime, limit: int = 10) -> list[Appointment]:
    """The patient's next holding appointments (booked or confirmed), soonest first: one
    query. Arrived ones are today's and on the chair board already."""
    return list(
        Appointment.objects.filter(
            patient=patient,
            clinic_id=patient.clinic_id,
            state__in=(Appointment.State.BOOKED, Appointment.State.CONFIRMED),
            end__gt=now,
        )
        .select_related("chair", "staff")
        .order_by("start", "pk")[:limit]
    )


def feed_appointments(clinic: Clinic, staff: User, now: datetime) -> list[Appointment]:
    """The staff member's appointments at the clinic from 30 days back to 90 ahead, in every
    state (a cancelled one tells the calendar to drop it), with how often each changed (the
    event's sequence): one query."""
    return list(
        Appointment.objects.filter(
            clinic=clinic, staff=staff, start__gte=now - FEED_BACK, start__lt=now + FEED_AHEAD
        )
        .select_related("patient", "chair")
        .annotate(change_count=Count("changes"))
        .order_by("start", "pk")
    )
