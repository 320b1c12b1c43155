"""A closure moves the appointments it covers to "needs rebooking" — nothing silently
disappears — and nothing is booked into it afterwards. Wall-clock hours stay right across a
daylight-saving change in the clinic's own time zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ketacare.audit.models import AuditEvent
from ketacare.scheduling import actions, queries
from ketacare.scheduling.models import Appointment
from tests.conftest import make_patient
from tests.scheduling.conftest import MONDAY, NOW, at, book, refused

State = Appointment.State


def test_a_chair_closure_moves_only_what_it_covers_to_needs_rebooking(
    admin, booker, chairs, patient, clinic
):
    chair, other = chairs
    cancelled = book(booker, patient, chair, at(MONDAY, 9))
    actions.cancel(booker, cancelled.pk, "Patient asked")
    covered = book(booker, patient, chair, at(MONDAY, 9))
    confirmed = book(booker, patient, chair, at(MONDAY, 11, 15))
    actions.confirm(booker, confirmed.pk)
    after = book(booker, patient, chair, at(MONDAY, 14))  # starts as the closure ends
    elsewhere = book(
        booker, make_patient(booker.user, clinic, given_name="Grace"), other, at(MONDAY, 9)
    )

    closure, moved = actions.add_closure(
        admin, start=at(MONDAY, 8), end=at(MONDAY, 14), reason="Pump service", chair_id=chair.pk
    )

    assert [a.pk for a in moved] == [covered.pk, confirmed.pk]
    states = dict(Appointment.objects.values_list("pk", "state"))
    assert states == {
        covered.pk: State.NEEDS_REBOOKING,
        confirmed.pk: State.NEEDS_REBOOKING,
        after.pk: State.BOOKED,
        elsewhere.pk: State.BOOKED,
        cancelled.pk: State.CANCELLED,
    }
    line = confirmed.changes.last()
    assert (line.old_state, line.new_state, line.reason) == (
        "confirmed",
        "needs_rebooking",
        "Closed: Chair 1 (Pump service).",
    )
    assert list(queries.needs_rebooking(admin.clinic)) == [covered, confirmed]
    event = AuditEvent.objects.get(object_type="closure")
    assert event.changes["appointments"] == {"old": None, "new": [covered.pk, confirmed.pk]}
    moves = AuditEvent.objects.filter(object_type="appointment", role="clinic_admin")
    assert sorted(int(e.object_id) for e in moves) == [covered.pk, confirmed.pk]
    assert closure.created_by == admin.user


def test_nothing_is_booked_into_a_closure_and_a_moved_appointment_is_booked_again(
    admin, booker, chairs, patient
):
    chair, other = chairs
    appointment = book(booker, patient, chair, at(MONDAY, 9))
    actions.add_closure(admin, start=at(MONDAY, 0), end=at(MONDAY, 23), reason="Staff training")
    assert Appointment.objects.get().state == State.NEEDS_REBOOKING
    assert refused(book, booker, patient, other, at(MONDAY, 15)) == (
        f"The clinic is closed on Monday {MONDAY.day} {MONDAY:%B} (Staff training)."
    )
    tuesday = MONDAY + timedelta(days=1)
    actions.reschedule(
        booker, appointment.pk, start=at(tuesday, 9), end=at(tuesday, 11), chair_id=chair.pk
    )
    assert [c.new_state for c in appointment.changes.all()] == [
        "booked",
        "needs_rebooking",
        "booked",
    ]
    assert not queries.needs_rebooking(admin.clinic).exists()


def test_a_closure_needs_a_reason_and_a_clinic_admin(admin, booker, chair):
    assert refused(
        actions.add_closure, admin, start=at(MONDAY, 8), end=at(MONDAY, 9), reason=""
    ) == ("Say why it is closed.")
    assert refused(
        actions.add_closure, booker, start=at(MONDAY, 8), end=at(MONDAY, 9), reason="x"
    ) == ("Only these roles may do this: Clinic admin.")


def test_opening_hours_are_wall_clock_hours_across_a_daylight_saving_change(
    admin, booker, patient, clinic
):
    """Chicago moves its clocks forward on 8 March 2026: 09:00 there is 15:00 UTC before and
    14:00 UTC after; the clinic opens at 08:00 local on both Mondays."""
    clinic.time_zone = "America/Chicago"
    clinic.save(update_fields=["time_zone"])
    chicago = ZoneInfo("America/Chicago")
    early = admin.at(datetime(2026, 3, 1, 12, tzinfo=chicago))
    actions.set_opening_hours(early, {0: (time(8), time(18))})
    chair = actions.add_chair(early, "Chair 1", [])
    who = booker.at(early.now())
    for monday in (date(2026, 3, 2), date(2026, 3, 9)):
        start = datetime.combine(monday, time(8), tzinfo=chicago)
        assert refused(book, who, patient, chair, start - timedelta(minutes=30)) == (
            f"On Monday {monday.day} March the clinic is open 08:00–18:00; this appointment "
            "would run 07:30–09:30."
        )
        book(who, patient, chair, start)
    starts = [a.start.astimezone(ZoneInfo("UTC")).hour for a in Appointment.objects.all()]
    assert starts == [14, 13]
    day_start, day_end = queries.day_bounds(clinic, date(2026, 3, 8))
    # In UTC: between two times of one zone Python subtracts the wall clocks.
    assert day_end.astimezone(UTC) - day_start.astimezone(UTC) == timedelta(hours=23)
    assert list(queries.appointments_on(clinic, date(2026, 3, 9))) == [
        Appointment.objects.get(start__date=date(2026, 3, 9))
    ]


def test_the_day_view_query_lists_the_days_appointments_in_order(booker, chairs, patient, clinic):
    book(booker, patient, chairs[1], at(MONDAY, 9))
    book(booker, make_patient(booker.user, clinic, given_name="Grace"), chairs[0], at(MONDAY, 9))
    book(booker, patient, chairs[0], at(MONDAY + timedelta(days=1), 9))
    day = list(queries.appointments_on(booker.clinic, MONDAY))
    assert [a.chair.name for a in day] == ["Chair 1", "Chair 2"]
    assert NOW.date() == MONDAY
