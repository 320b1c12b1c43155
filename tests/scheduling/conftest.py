"""An appointment book to act on: next Monday at 07:00 (the clinic's zone, UTC unless a test
sets another), a clinic open 08:00–18:00 on weekdays, and two chairs."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from ketacare.accounts.permissions import Role
from ketacare.audit.models import AuditEvent
from ketacare.scheduling import actions
from ketacare.scheduling.models import Appointment, AppointmentChange, Chair, Shift
from tests.conftest import actor

TODAY = date.today()
MONDAY = TODAY + timedelta(days=7 - TODAY.weekday())
NOW = datetime.combine(MONDAY, time(7), tzinfo=UTC)
WEEKDAYS = {day: (time(8), time(18)) for day in range(5)}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@pytest.fixture
def admin(clinic_admin, clinic):
    return actor(clinic_admin, clinic, Role.CLINIC_ADMIN).at(NOW)


@pytest.fixture
def booker(coordinator, clinic):
    return actor(coordinator, clinic, Role.COORDINATOR).at(NOW)


def staff_on_site(clinic, *members, days=35):
    """Shifts 08:00–18:00 on each weekday from MONDAY for ``members`` (User, Role) pairs:
    written directly, as a rota imported before the test would be."""
    Shift.objects.bulk_create(
        Shift(
            clinic=clinic,
            staff=user,
            role=role.value,
            start=at(day, 8),
            end=at(day, 18),
            created_by=user,
        )
        for user, role in members
        for day in (MONDAY + timedelta(days=n) for n in range(days))
        if day.weekday() < 5
    )


@pytest.fixture
def chairs(admin, clinic, nurse, prescriber):
    actions.set_opening_hours(admin, WEEKDAYS)
    staff_on_site(clinic, (nurse, Role.NURSE), (prescriber, Role.PRESCRIBER))
    return [
        actions.add_chair(admin, "Chair 1", ["iv_pump", "nasal_spray"]),
        actions.add_chair(admin, "Chair 2", ["nasal_spray"]),
    ]


@pytest.fixture
def chair(chairs):
    return chairs[0]


def book(booker, patient, chair, start, hours=2, kind="follow_up", **more):
    """A two-hour appointment (a follow-up unless ``kind`` says) in ``chair`` from ``start``."""
    return actions.book(
        booker,
        patient_id=patient.pk,
        kind=kind,
        start=start,
        end=start + timedelta(hours=hours),
        chair_id=chair.pk if chair is not None else None,
        **more,
    )


def counts() -> tuple[int, ...]:
    """What a refused action must leave as it was."""
    return (
        Chair.objects.count(),
        Appointment.objects.count(),
        AppointmentChange.objects.count(),
        AuditEvent.objects.count(),
    )


def refused(call, *args, **kwargs) -> str:
    """The refusal's message of ``call``, which must write nothing."""
    before = counts()
    with pytest.raises(actions.SchedulingError) as refusal:
        call(*args, **kwargs)
    assert counts() == before
    return str(refusal.value)
