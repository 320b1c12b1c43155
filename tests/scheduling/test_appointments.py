"""Booking an appointment and changing it: each change a line of its history and an audit
event; each refusal names why and writes nothing."""

from datetime import timedelta

import pytest

from ketacare.accounts.permissions import Role
from ketacare.audit.models import AuditEvent
from ketacare.scheduling import actions
from ketacare.scheduling.models import Appointment, AppointmentChange
from tests.conftest import actor, make_patient
from tests.scheduling.conftest import MONDAY, NOW, at, book, refused

State = Appointment.State


def test_booking_writes_the_appointment_its_first_history_line_and_the_audit_event(
    booker, chair, patient, nurse
):
    appointment = book(booker, patient, chair, at(MONDAY, 9), staff_id=nurse.pk)
    appointment.refresh_from_db()
    assert (appointment.state, appointment.chair, appointment.staff) == (State.BOOKED, chair, nurse)
    assert (appointment.created_by, appointment.created_at) == (booker.user, NOW)
    line = appointment.changes.get()
    assert (line.old_state, line.new_state, line.new_start, line.new_chair) == (
        "",
        State.BOOKED,
        at(MONDAY, 9),
        chair,
    )
    event = AuditEvent.objects.get(object_type="appointment")
    assert (event.action, event.patient_id, event.occurred_at) == ("create", patient.pk, NOW)
    assert event.changes["chair"] == {"old": None, "new": chair.pk}


def test_a_chair_is_not_double_booked_but_after_its_turnover_is_fine(
    booker, chair, chairs, patient, clinic
):
    other = make_patient(booker.user, clinic, given_name="Grace")
    book(booker, patient, chair, at(MONDAY, 9))
    message = refused(book, booker, other, chair, at(MONDAY, 10))
    assert message == "Chair 1 is taken 09:00–11:15, with 15 minutes to turn the chair round."
    assert "Chair 1 is taken" in refused(book, booker, other, chair, at(MONDAY, 11))
    book(booker, other, chair, at(MONDAY, 11, 15))
    book(booker, other, chairs[1], at(MONDAY, 9))  # another chair at the same time
    assert Appointment.objects.count() == 3


def test_a_cancelled_appointment_frees_its_chair(booker, chair, patient):
    first = book(booker, patient, chair, at(MONDAY, 9))
    actions.cancel(booker, first.pk, "Patient asked")
    book(booker, patient, chair, at(MONDAY, 9))


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"start": at(MONDAY, 17)},
            f"On Monday {MONDAY.day} {MONDAY:%B} the clinic is open 08:00–18:00; this "
            "appointment would run 17:00–19:00.",
        ),
        ({"start": at(MONDAY + timedelta(days=5), 9)}, "The clinic is closed on Saturdays."),
        ({"kind": "telehealth"}, "A telehealth appointment takes no chair."),
        (
            {"chair": None, "kind": "dosing"},
            "A dosing session needs a chair. A dosing session is booked under a signed plan; "
            "the patient has none.",
        ),
        ({"hours": 13}, "The appointment is longer than 12 hours."),
        ({"hours": 0}, "The appointment must end after it starts."),
        ({"kind": "massage"}, "Unknown kind of appointment: 'massage'."),
    ],
)
def test_a_booking_is_refused_with_its_reason(booker, chair, patient, change, message):
    call = {"start": at(MONDAY, 9), "chair": chair, "kind": "follow_up", "hours": 2} | change
    assert refused(book, booker, patient, call.pop("chair"), call.pop("start"), **call) == message


def test_a_booking_names_every_problem_at_once(booker, patient, chair):
    message = refused(book, booker, patient, chair, at(MONDAY, 6), kind="telehealth")
    assert message == (
        "The appointment starts in the past. A telehealth appointment takes no chair. "
        f"On Monday {MONDAY.day} {MONDAY:%B} the clinic is open 08:00–18:00; this appointment "
        "would run 06:00–08:00."
    )


def test_another_clinics_patient_chair_or_staff_is_unknown(
    booker, chair, patient, other_clinic, outsider
):
    theirs = make_patient(outsider, other_clinic)
    assert refused(book, booker, theirs, chair, at(MONDAY, 9)) == "Unknown patient."
    assert refused(book, booker, patient, chair, at(MONDAY, 9), staff_id=outsider.pk) == (
        "Unknown staff member at this clinic."
    )


def test_only_coordinators_and_nurses_book(clinic, prescriber, chair, patient):
    who = actor(prescriber, clinic, Role.PRESCRIBER).at(NOW)
    assert refused(book, who, patient, chair, at(MONDAY, 9)) == (
        "Only these roles may do this: Intake coordinator, Nurse."
    )


def test_telehealth_takes_no_chair(booker, patient, chairs):
    appointment = book(booker, patient, None, at(MONDAY, 9), hours=1, kind="telehealth")
    assert appointment.chair is None


def test_a_dosing_appointment_books_a_signed_plans_session(
    booker, chair, patient, prescriber, clinic
):
    from tests.planning.conftest import signed_plan

    planned = signed_plan(prescriber, clinic, patient).sessions.get(number=1)
    appointment = book(booker, patient, chair, at(MONDAY, 9), kind="dosing", planned_id=planned.pk)
    assert appointment.planned == planned
    # The plan's session moves to the day it is booked, for the plan and the chair board.
    planned.refresh_from_db()
    assert planned.date == MONDAY
    message = refused(
        book, booker, patient, chair, at(MONDAY, 13), kind="dosing", planned_id=planned.pk
    )
    assert message.startswith("Session 1 of the plan is already booked.")
    other = make_patient(booker.user, clinic, given_name="Grace")
    assert refused(
        book, booker, other, chair, at(MONDAY, 13), kind="dosing", planned_id=planned.pk
    ) == ("Unknown planned session for this patient.")


def test_confirm_arrive_and_their_refusals(booker, chair, patient):
    appointment = book(booker, patient, chair, at(MONDAY, 9))
    assert refused(
        actions.mark_arrived, booker.at(at(MONDAY - timedelta(days=1), 9)), appointment.pk
    ) == ("A patient arrives on the day of their appointment.")
    actions.confirm(booker, appointment.pk)
    assert refused(actions.confirm, booker, appointment.pk) == (
        "The appointment is confirmed; it cannot be marked confirmed."
    )
    actions.mark_arrived(booker.at(at(MONDAY, 8, 55)), appointment.pk)
    assert [(c.old_state, c.new_state) for c in appointment.changes.all()] == [
        ("", "booked"),
        ("booked", "confirmed"),
        ("confirmed", "arrived"),
    ]
    assert AuditEvent.objects.filter(object_type="appointment", action="update").count() == 2


def test_a_no_show_is_marked_once_the_appointment_has_begun(booker, chair, patient):
    appointment = book(booker, patient, chair, at(MONDAY, 9))
    assert refused(actions.mark_no_show, booker, appointment.pk) == (
        "The appointment has not started yet; it cannot be a no-show."
    )
    actions.mark_no_show(booker.at(at(MONDAY, 9, 30)), appointment.pk)
    assert Appointment.objects.get().state == State.NO_SHOW
    # A no-show no longer holds the chair.
    book(booker.at(at(MONDAY, 9, 30)), patient, chair, at(MONDAY, 10))


def test_a_cancellation_needs_a_reason_and_keeps_it(booker, chair, patient):
    appointment = book(booker, patient, chair, at(MONDAY, 9))
    assert refused(actions.cancel, booker, appointment.pk, "  ") == (
        "Say why the appointment is cancelled."
    )
    actions.cancel(booker, appointment.pk, " Patient has no ride home ")
    line = appointment.changes.last()
    assert (line.new_state, line.reason) == (State.CANCELLED, "Patient has no ride home")
    event = AuditEvent.objects.filter(object_type="appointment", action="update").get()
    assert event.changes["reason"] == "Patient has no ride home"
    assert refused(actions.cancel, booker, appointment.pk, "again") == (
        "The appointment is cancelled; it cannot be marked cancelled."
    )


def test_a_reschedule_keeps_where_the_appointment_was(booker, chair, chairs, patient):
    appointment = book(booker, patient, chair, at(MONDAY, 9))
    actions.confirm(booker, appointment.pk)
    later = booker.at(NOW + timedelta(minutes=5))
    actions.reschedule(
        later,
        appointment.pk,
        start=at(MONDAY, 14),
        end=at(MONDAY, 16),
        chair_id=chairs[1].pk,
        reason="Patient works mornings",
    )
    appointment.refresh_from_db()
    assert (appointment.state, appointment.start, appointment.chair) == (
        State.BOOKED,
        at(MONDAY, 14),
        chairs[1],
    )
    moved = appointment.changes.last()
    assert (moved.old_start, moved.new_start, moved.old_chair, moved.new_chair) == (
        at(MONDAY, 9),
        at(MONDAY, 14),
        chair,
        chairs[1],
    )
    assert (moved.old_state, moved.reason, moved.changed_at) == (
        "confirmed",
        "Patient works mornings",
        later.now(),
    )
    assert appointment.changes.count() == 3
    # Its old place is free again.
    book(booker, patient, chair, at(MONDAY, 9))


def test_a_reschedule_is_refused_into_a_taken_chair_or_for_a_cancelled_appointment(
    booker, chair, patient
):
    first = book(booker, patient, chair, at(MONDAY, 9))
    second = book(booker, patient, chair, at(MONDAY, 12))
    # Moving within its own slot does not clash with itself.
    actions.reschedule(
        booker, first.pk, start=at(MONDAY, 9, 30), end=at(MONDAY, 11, 30), chair_id=chair.pk
    )
    message = refused(
        actions.reschedule,
        booker,
        second.pk,
        start=at(MONDAY, 11),
        end=at(MONDAY, 13),
        chair_id=chair.pk,
    )
    assert message.startswith("Chair 1 is taken 09:30–11:45")
    actions.cancel(booker, second.pk, "Patient asked")
    assert (
        refused(
            actions.reschedule,
            booker,
            second.pk,
            start=at(MONDAY, 14),
            end=at(MONDAY, 16),
            chair_id=chair.pk,
        )
        == "The appointment is cancelled; it cannot move."
    )


def test_history_lines_cannot_be_changed_or_deleted(booker, chair, patient):
    from django.db import DatabaseError, transaction

    book(booker, patient, chair, at(MONDAY, 9))
    for change in (lambda q: q.update(reason="rewritten"), lambda q: q.delete()):
        with pytest.raises(DatabaseError), transaction.atomic():
            change(AppointmentChange.objects.all())
    assert AppointmentChange.objects.get().reason == ""
