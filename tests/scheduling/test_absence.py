"""A staff member away: their shifts are cut out of the rota, and what can no longer go ahead
moves to "needs rebooking" saying why — nothing silently disappears."""

from datetime import timedelta

from ketacare.audit.models import AuditEvent
from ketacare.scheduling import actions
from ketacare.scheduling.models import Appointment, Shift
from tests.scheduling.conftest import MONDAY, at, book, refused
from tests.scheduling.plans import signed_plan_from

State = Appointment.State
TUESDAY = MONDAY + timedelta(days=1)


def test_the_only_nurse_off_sick_moves_the_days_doses_and_her_appointments(
    admin, booker, chairs, prescriber, nurse, clinic, patient
):
    from tests.conftest import make_patient

    doses = actions.book_series(
        booker, signed_plan_from(prescriber, clinic, patient, MONDAY).pk
    ).booked
    other = make_patient(nurse, clinic, given_name="Grace")
    hers = book(booker, other, chairs[1], at(MONDAY, 13), staff_id=nurse.pk)
    talk = book(booker, other, chairs[1], at(TUESDAY, 9))
    moved = actions.record_absence(
        admin, staff_id=nurse.pk, start=at(MONDAY, 0), end=at(TUESDAY, 0), reason="Off sick"
    )
    assert {a.pk for a in moved} == {doses[0].pk, hers.pk}
    states = dict(Appointment.objects.values_list("pk", "state"))
    assert states[doses[0].pk] == states[hers.pk] == State.NEEDS_REBOOKING
    assert states[doses[1].pk] == states[talk.pk] == State.BOOKED
    reason = Appointment.objects.get(pk=doses[0].pk).changes.last().reason
    assert reason.endswith("is away (Off sick). No nurse is on shift at 08:00.")
    assert not Shift.objects.filter(staff=nurse, start__lt=at(TUESDAY, 0), end__gt=at(MONDAY, 0))
    assert AuditEvent.objects.filter(object_type="absence").count() == 1
    # Nothing is booked into the gap afterwards either.
    message = refused(
        actions.reschedule,
        booker,
        doses[0].pk,
        start=at(MONDAY, 10),
        end=at(MONDAY, 11, 30),
        chair_id=chairs[0].pk,
    )
    assert "No nurse is on shift at 10:00." in message


def test_an_absence_inside_a_shift_splits_it_and_needs_a_reason(admin, chairs, nurse):
    assert refused(
        actions.record_absence,
        admin,
        staff_id=nurse.pk,
        start=at(MONDAY, 10),
        end=at(MONDAY, 12),
        reason=" ",
    ) == ("Say why they are away.")
    actions.record_absence(
        admin, staff_id=nurse.pk, start=at(MONDAY, 10), end=at(MONDAY, 12), reason="Dentist"
    )
    monday = Shift.objects.filter(staff=nurse, start__date=MONDAY).order_by("start")
    assert [(s.start, s.end) for s in monday] == [
        (at(MONDAY, 8), at(MONDAY, 10)),
        (at(MONDAY, 12), at(MONDAY, 18)),
    ]


def test_the_prescriber_away_moves_the_esketamine_doses_that_need_one(
    admin, booker, chairs, prescriber, clinic, patient
):
    doses = actions.book_series(
        booker, signed_plan_from(prescriber, clinic, patient, MONDAY, esketamine=True).pk
    ).booked
    moved = actions.record_absence(
        admin, staff_id=prescriber.pk, start=at(MONDAY, 9), end=at(MONDAY, 9, 30), reason="Ill"
    )
    assert [a.pk for a in moved] == [doses[0].pk]
    assert "No prescriber is on site at 09:00" in moved[0].changes.last().reason
