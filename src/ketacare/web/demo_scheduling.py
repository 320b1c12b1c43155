"""The demo clinic's appointment book: chairs, weekday opening hours, the week's shifts and a
week of appointments in every chair — the planned dosing sessions of the signed plans that
fall in it, follow-ups, evaluations and a daily telehealth call — some confirmed, arrived or
missed, and a chair closed for repair whose appointment waits on the "needs rebooking" list.

All through the scheduling actions, acted at the Friday before the week (so the whole week is
bookable) and, for arrivals and no-shows, at the appointment's own time (docs/decisions/0107)."""

from datetime import date, datetime, time, timedelta
from itertools import cycle

from django.utils import timezone

from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
from ketacare.clinical.protocols.library import get_protocol
from ketacare.patients.models import Patient
from ketacare.planning.models import PlannedSession, TreatmentPlan
from ketacare.scheduling import actions
from ketacare.scheduling.models import Appointment, Chair
from ketacare.scheduling.rules import booking_policy

CHAIRS = [
    ("Chair 1", ["iv_pump", "nasal_spray"]),
    ("Chair 2", ["iv_pump", "nasal_spray"]),
    ("Chair 3", ["nasal_spray"]),
    ("Chair 4", ["iv_pump"]),
]
OPENS, CLOSES = time(8), time(18)
# Two monitored sessions a day in every chair, and a telehealth call in the afternoon.
SLOTS = [time(9), time(13)]
SESSION = timedelta(hours=2)
TELEHEALTH, CALL = time(16), timedelta(minutes=30)
REPAIR = ("Chair 3", 3, time(12), "Recliner motor repair")  # chair, weekday, from, reason


def _week_monday(today: date) -> date:
    """This week's Monday; at a weekend, the coming one."""
    return (
        today - timedelta(days=today.weekday())
        if today.weekday() < 5
        else (today + timedelta(days=7 - today.weekday()))
    )


def seed_scheduling(clinic: Clinic) -> None:
    """The clinic's chairs, hours and shifts, and a week of appointments (see the module)."""
    zone = clinic.zone

    def moment(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=zone)

    def member(role: Role) -> Actor:
        user = User.objects.filter(memberships__clinic=clinic, memberships__role=role).first()
        return Actor(user=user, role=role.value, clinic=clinic, ip="127.0.0.1")

    monday = _week_monday(timezone.localdate(timezone.now(), zone))
    days = [monday + timedelta(days=n) for n in range(5)]
    before = moment(monday - timedelta(days=3), time(17))  # the Friday before
    admin, coordinator = member(Role.CLINIC_ADMIN).at(before), member(Role.COORDINATOR).at(before)
    nurse, prescriber = member(Role.NURSE), member(Role.PRESCRIBER)
    assert nurse.user is not None and prescriber.user is not None  # seeded with the clinic

    actions.set_opening_hours(admin, {day.weekday(): (OPENS, CLOSES) for day in days})
    chairs = {name: actions.add_chair(admin, name, kinds) for name, kinds in CHAIRS}
    on_site = User.objects.filter(
        memberships__clinic=clinic,
        memberships__role__in=[Role.PRESCRIBER, Role.NURSE, Role.COORDINATOR],
    ).order_by("pk")
    for day in days:
        for user in on_site:
            actions.add_shift(
                admin, staff_id=user.pk, start=moment(day, OPENS), end=moment(day, CLOSES)
            )

    _book_week(
        clinic,
        coordinator,
        chairs,
        days,
        staff={
            Appointment.Kind.EVALUATION: prescriber.user.pk,
            Appointment.Kind.TELEHEALTH: prescriber.user.pk,
            Appointment.Kind.DOSING: nurse.user.pk,
            Appointment.Kind.FOLLOW_UP: nurse.user.pk,
        },
    )
    name, weekday, start, reason = REPAIR
    actions.add_closure(
        admin,
        start=moment(days[weekday], start),
        end=moment(days[weekday], CLOSES),
        reason=reason,
        chair_id=chairs[name].pk,
    )
    _seed_attendance(clinic, coordinator, moment(monday, time(0)))


def _book_week(
    clinic: Clinic,
    coordinator: Actor,
    chairs: dict[str, Chair],
    days: list[date],
    staff: dict[str, int],
) -> None:
    """Every chair's slots on ``days``: the signed plans' sessions of the day not yet on the
    chair board first, then follow-ups and evaluations; and a telehealth call each day."""
    zone = clinic.zone
    planned = (
        PlannedSession.objects.filter(
            plan__clinic=clinic,
            plan__state=TreatmentPlan.State.SIGNED,
            date__in=days,
            treatment__isnull=True,
        )
        .select_related("plan__patient")
        .order_by("date", "plan", "number")
    )
    by_day: dict[date, list[PlannedSession]] = {}
    for session in planned:
        by_day.setdefault(session.date, []).append(session)
    others = cycle(Patient.objects.filter(clinic=clinic).order_by("mrn"))
    kinds = cycle([Appointment.Kind.FOLLOW_UP, Appointment.Kind.EVALUATION])

    def book(
        patient: Patient,
        kind: str,
        start: datetime,
        length: timedelta,
        chair_id: int | None = None,
        planned_id: int | None = None,
        transport_arranged: bool = False,
    ) -> None:
        actions.book(
            coordinator,
            patient_id=patient.pk,
            kind=kind,
            start=start,
            end=start + length,
            staff_id=staff[kind],
            chair_id=chair_id,
            planned_id=planned_id,
            transport_arranged=transport_arranged,
        )

    policy = booking_policy()
    for day in days:
        free = [(at, chair) for at in SLOTS for chair in chairs.values()]
        busy: dict[time, set[int]] = {}  # the patients already booked at each slot
        for session in by_day.get(day, []):
            # The first free slot in a chair with what the protocol's route needs.
            needs = policy.needs(get_protocol(session.plan.protocol_id))
            slot = next((s for s in free if needs <= set(s[1].capabilities)), None)
            if slot is None:
                continue  # the day is full: the session waits for a coordinator
            free.remove(slot)
            busy.setdefault(slot[0], set()).add(session.plan.patient.pk)
            book(
                session.plan.patient,
                Appointment.Kind.DOSING,
                datetime.combine(day, slot[0], tzinfo=zone),
                SESSION,
                chair_id=slot[1].pk,
                planned_id=session.pk,
                # Most rides home are known when booking; the rest wait on the day-before
                # checklist for the coordinator's call.
                transport_arranged=session.number % 3 != 0,
            )
        for at, chair in free:
            start = datetime.combine(day, at, tzinfo=zone)
            patient = next(p for p in others if p.pk not in busy.get(at, set()))
            book(patient, next(kinds), start, SESSION, chair_id=chair.pk)
        book(
            next(others),
            Appointment.Kind.TELEHEALTH,
            datetime.combine(day, TELEHEALTH, tzinfo=zone),
            CALL,
        )


def _seed_attendance(clinic: Clinic, coordinator: Actor, week: datetime) -> None:
    """Every booked appointment of the week is confirmed the Friday before; of those already
    over, the patients arrived — but for the first of the week, a no-show."""
    now = timezone.now()
    booked = Appointment.objects.filter(
        clinic=clinic, start__gte=week, state=Appointment.State.BOOKED
    ).order_by("start", "pk")
    for n, appointment in enumerate(booked):
        actions.confirm(coordinator, appointment.pk)
        if appointment.end > now:
            continue
        if n == 0:
            late = coordinator.at(appointment.start + timedelta(minutes=30))
            actions.mark_no_show(late, appointment.pk)
        else:
            actions.mark_arrived(
                coordinator.at(appointment.start - timedelta(minutes=10)), appointment.pk
            )
