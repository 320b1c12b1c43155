"""Setting up what appointments are booked in: chairs, opening hours, shifts, and payers'
authorisations — each written with its audit event, each refusal writing nothing."""

from datetime import date, time, timedelta

from ketacare.accounts.permissions import Role
from ketacare.audit.models import AuditEvent
from ketacare.scheduling import actions
from ketacare.scheduling.models import Authorisation, Chair, OpeningHours, Shift
from tests.conftest import actor
from tests.scheduling.conftest import MONDAY, NOW, WEEKDAYS, at, book, refused


def test_a_clinic_admin_adds_a_chair_with_what_it_can_host(admin, clinic):
    chair = actions.add_chair(admin, "  Chair 1 ", ["nasal_spray", "iv_pump", "iv_pump"])
    assert (chair.clinic, chair.name, chair.capabilities, chair.active) == (
        clinic,
        "Chair 1",
        ["iv_pump", "nasal_spray"],
        True,
    )
    assert chair.created_at == NOW
    event = AuditEvent.objects.get(object_type="chair", object_id=str(chair.pk))
    assert (event.action, event.occurred_at) == ("create", NOW)
    assert event.changes["name"] == {"old": None, "new": "Chair 1"}


def test_a_chair_is_refused_without_a_name_with_a_taken_one_or_an_unknown_capability(admin):
    actions.add_chair(admin, "Chair 1", [])
    assert refused(actions.add_chair, admin, " ", []) == "Name the chair."
    assert (
        refused(actions.add_chair, admin, "Chair 1", [])
        == "There is already a chair named Chair 1."
    )
    assert "Unknown capabilities: laser." in refused(actions.add_chair, admin, "Chair 2", ["laser"])
    assert "at most 40 characters" in refused(actions.add_chair, admin, "x" * 41, [])


def test_only_a_clinic_admin_sets_up_the_book(booker):
    message = refused(actions.add_chair, booker, "Chair 1", [])
    assert message == "Only these roles may do this: Clinic admin."


def test_a_chair_is_renamed_and_retired_once_nothing_upcoming_holds_it(
    admin, booker, chair, patient
):
    appointment = book(booker, patient, chair, at(MONDAY, 9))
    message = refused(
        actions.edit_chair, admin, chair.pk, name="Chair 1", capabilities=[], active=False
    )
    assert message == "Chair 1 holds 1 upcoming appointment(s); move them before retiring it."
    actions.cancel(booker, appointment.pk, "Patient unwell")
    edited = actions.edit_chair(
        admin, chair.pk, name="Recliner A", capabilities=["iv_pump"], active=False
    )
    assert Chair.objects.get(pk=chair.pk).active is False
    event = AuditEvent.objects.filter(object_type="chair", action="update").get()
    assert event.changes == {
        "name": {"old": "Chair 1", "new": "Recliner A"},
        "capabilities": {"old": ["iv_pump", "nasal_spray"], "new": ["iv_pump"]},
        "active": {"old": True, "new": False},
    }
    assert edited.updated_at == NOW


def test_another_clinics_chair_is_unknown(admin, other_clinic, outsider):
    theirs = actions.add_chair(actor(outsider, other_clinic, Role.CLINIC_ADMIN).at(NOW), "C", [])
    message = refused(
        actions.edit_chair, admin, theirs.pk, name="Mine", capabilities=[], active=True
    )
    assert message == "Unknown chair."


def test_opening_hours_replace_the_week_before(admin, clinic):
    actions.set_opening_hours(admin, WEEKDAYS)
    actions.set_opening_hours(admin, {0: (time(9), time(17)), 5: (time(9), time(12))})
    assert [(h.weekday, h.opens, h.closes) for h in OpeningHours.objects.filter(clinic=clinic)] == [
        (0, time(9), time(17)),
        (5, time(9), time(12)),
    ]
    assert AuditEvent.objects.filter(object_type="openinghours").count() == 2


def test_opening_hours_that_close_before_they_open_are_refused(admin):
    message = refused(
        actions.set_opening_hours, admin, {2: (time(18), time(8)), 9: (time(8), time(9))}
    )
    assert message == (
        "On weekday 2 the clinic must open before it closes. "
        "Unknown weekday 9 (0 = Monday … 6 = Sunday)."
    )
    assert not OpeningHours.objects.exists()


def test_a_shift_records_the_staff_members_role_and_refuses_an_overlap(admin, prescriber):
    shift = actions.add_shift(
        admin, staff_id=prescriber.pk, start=at(MONDAY, 8), end=at(MONDAY, 14)
    )
    assert (shift.role, shift.created_by) == ("prescriber", admin.user)
    assert AuditEvent.objects.filter(object_type="shift", object_id=str(shift.pk)).exists()
    message = refused(
        actions.add_shift, admin, staff_id=prescriber.pk, start=at(MONDAY, 13), end=at(MONDAY, 18)
    )
    assert message == "Prescriber Tester already has a shift then."
    # Back to back is not an overlap.
    actions.add_shift(admin, staff_id=prescriber.pk, start=at(MONDAY, 14), end=at(MONDAY, 18))
    assert Shift.objects.count() == 2


def test_a_shift_is_refused_for_another_clinics_staff_or_backwards_or_too_long(
    admin, outsider, nurse
):
    start = at(MONDAY, 8)
    assert refused(
        actions.add_shift, admin, staff_id=outsider.pk, start=start, end=at(MONDAY, 9)
    ) == ("Unknown staff member at this clinic.")
    assert refused(actions.add_shift, admin, staff_id=nurse.pk, start=start, end=start) == (
        "The shift must end after it starts."
    )
    assert (
        refused(
            actions.add_shift, admin, staff_id=nurse.pk, start=start, end=start + timedelta(days=2)
        )
        == "The shift is longer than 24 hours."
    )


def test_an_authorisation_is_recorded_for_the_patient(booker, patient):
    authorisation = actions.record_authorisation(
        booker,
        patient_id=patient.pk,
        payer="Acme Health",
        reference="PA-123",
        approved_sessions="8",
        valid_from=MONDAY,
        valid_to=MONDAY + timedelta(days=60),
    )
    assert (authorisation.approved_sessions, authorisation.recorded_by) == (8, booker.user)
    event = AuditEvent.objects.get(object_type="authorisation")
    assert event.patient_id == patient.pk
    assert event.changes["reference"] == {"old": None, "new": "PA-123"}


def test_an_authorisation_is_refused_with_every_problem_named(booker, patient):
    def record(**changes):
        data = {
            "patient_id": patient.pk,
            "payer": "Acme Health",
            "reference": "PA-1",
            "approved_sessions": 8,
            "valid_from": MONDAY,
            "valid_to": MONDAY,
        } | changes
        before = Authorisation.objects.count()
        message = refused(actions.record_authorisation, booker, **data)
        assert Authorisation.objects.count() == before
        return message

    assert record(payer="", valid_to=MONDAY - timedelta(days=1)) == (
        "Name the payer. The authorisation must end on or after the day it starts."
    )
    assert record(approved_sessions=0) == (
        "The approved sessions must be between 1 and 999, got 0."
    )
    assert "The last valid date must be between" in record(valid_to=date(9999, 1, 1))
    assert record(patient_id=0) == "Unknown patient."
