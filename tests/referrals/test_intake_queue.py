"""The intake queue: its order, its transitions, accepting a referral, its pages."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.audit.models import AuditEvent
from ketacare.measures.models import Assignment
from ketacare.patients.models import Patient
from ketacare.referrals import intake, queue
from ketacare.referrals.demo import seed
from ketacare.referrals.intake import IntakeError
from ketacare.referrals.models import ContactAttempt, Referral, ReferralChange
from tests.conftest import actor, client_for, make_patient
from tests.referrals.intake_helpers import (
    MODERATE,
    as_coordinator,
    contacted,
    hours_ago,
    refer,
)


def test_urgent_referrals_come_first_then_by_arrival(clinic):
    routine_old = refer(clinic, at=hours_ago(30))
    urgent_new = refer(clinic, MODERATE, at=hours_ago(1))
    routine_new = refer(clinic, at=hours_ago(2))
    urgent_old = refer(clinic, MODERATE, at=hours_ago(3))
    rows = queue.open_queue(clinic, timezone.now())
    assert [r.referral.pk for r in rows] == [
        urgent_old.pk,
        urgent_new.pk,
        routine_old.pk,
        routine_new.pk,
    ]
    assert [r.urgent for r in rows] == [True, True, False, False]


def test_the_first_contact_attempt_makes_a_new_referral_contacted(clinic, coordinator):
    referral = contacted(clinic, coordinator)
    assert referral.state == "contacted"
    assert referral.first_contact_at is not None
    change = referral.changes.get()
    assert (change.old_state, change.new_state, change.changed_by) == (
        "new",
        "contacted",
        coordinator,
    )
    assert AuditEvent.objects.filter(object_type__icontains="contactattempt").exists()


def test_transitions_are_refused_with_a_clear_message_and_write_nothing(clinic, coordinator):
    who = as_coordinator(coordinator, clinic)
    referral = refer(clinic)
    with pytest.raises(IntakeError, match="when a contact attempt is logged"):
        intake.change_state(who, referral.pk, "contacted")
    with pytest.raises(IntakeError, match="Choose why"):
        intake.change_state(who, referral.pk, "not_a_fit", referred_to="GP")
    intake.change_state(
        who, referral.pk, "not_a_fit", reason="higher_level_of_care", referred_to="County PES"
    )
    with pytest.raises(IntakeError, match="not a fit; it can no longer change"):
        intake.change_state(who, referral.pk, "withdrawn")
    with pytest.raises(IntakeError, match="not a fit"):
        intake.log_contact(who, referral.pk, at=timezone.now(), channel="phone", outcome="reached")
    assert ReferralChange.objects.filter(referral=referral).count() == 1
    assert Referral.objects.get(pk=referral.pk).referred_to == "County PES"


def test_a_prescriber_reads_but_does_not_change_the_queue(clinic, prescriber):
    referral = refer(clinic)
    with pytest.raises(IntakeError, match="Only these roles"):
        intake.change_state(actor(prescriber, clinic, Role.PRESCRIBER), referral.pk, "withdrawn")


def test_history_lines_cannot_be_rewritten(clinic, coordinator):
    referral = contacted(clinic, coordinator)
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        ReferralChange.objects.filter(referral=referral).update(note="rewritten")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        ContactAttempt.objects.filter(referral=referral).delete()


def test_accept_registers_the_patient_once_and_assigns_the_questionnaires(clinic, coordinator):
    referral = contacted(clinic, coordinator)
    client = client_for(coordinator)
    url = reverse("referral-accept", args=[referral.pk])
    before = Patient.objects.count()
    first = client.post(url, {"sex_at_birth": "female"})
    patient = Patient.objects.get(given_name="Grace", family_name="Hopper")
    assert first["Location"] == reverse("patient-chart", args=[patient.pk])
    # A double submit: refused, no second patient.
    second = client.post(url, {"sex_at_birth": "female"}, follow=True)
    assert "already accepted" in second.content.decode()
    assert Patient.objects.count() == before + 1
    referral.refresh_from_db()
    assert (referral.patient, referral.state) == (patient, "contacted")
    assert patient.phone == referral.phone
    assert set(
        Assignment.objects.filter(patient=patient).values_list("instrument_id", flat=True)
    ) == {
        "phq9",
        "gad7",
        "auditc",
        "dast10",
    }


def test_accept_with_a_time_books_the_evaluation(clinic, coordinator, clinic_admin):
    from ketacare.scheduling import actions as scheduling

    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    scheduling.set_opening_hours(admin, {day: (time(0), time(23, 59)) for day in range(7)})
    referral = contacted(clinic, coordinator)
    start = datetime.combine(timezone.localdate() + timedelta(days=2), time(10), tzinfo=UTC)
    _, patient, appointment = intake.accept(
        as_coordinator(coordinator, clinic),
        referral.pk,
        sex_at_birth="female",
        evaluation_start=start,
    )
    assert appointment is not None and appointment.kind == "evaluation"
    assert appointment.patient == patient
    referral.refresh_from_db()
    assert referral.state == "evaluation_booked"


def test_a_likely_duplicate_is_shown_and_refuses_accept_until_confirmed(clinic, coordinator, nurse):
    existing = make_patient(nurse, clinic, given_name="Grace", family_name="Hopper")
    referral = contacted(clinic, coordinator, date_of_birth=existing.date_of_birth)
    page = client_for(coordinator).get(reverse("referral-detail", args=[referral.pk]))
    assert existing.mrn in page.content.decode()
    who = as_coordinator(coordinator, clinic)
    with pytest.raises(IntakeError, match="may already be registered"):
        intake.accept(who, referral.pk, sex_at_birth="female")
    assert Referral.objects.get(pk=referral.pk).patient is None
    intake.accept(who, referral.pk, sex_at_birth="female", confirmed_duplicates=[existing.pk])


def test_a_referral_is_accepted_into_the_existing_patient_it_turned_out_to_be(
    clinic, coordinator, nurse, other_clinic, outsider
):
    existing = make_patient(nurse, clinic, given_name="Grace", family_name="Hopper")
    referral = contacted(clinic, coordinator, date_of_birth=existing.date_of_birth)
    page = client_for(coordinator).get(reverse("referral-detail", args=[referral.pk]))
    assert f'name="existing_patient_id" value="{existing.pk}"' in page.content.decode()
    before = Patient.objects.count()
    response = client_for(coordinator).post(
        reverse("referral-accept", args=[referral.pk]), {"existing_patient_id": existing.pk}
    )
    assert response["Location"] == reverse("patient-chart", args=[existing.pk])
    assert Patient.objects.count() == before
    referral.refresh_from_db()
    assert referral.patient == existing
    event = AuditEvent.objects.filter(object_type="referral", patient_id=existing.pk).last()
    assert event.changes == {"accepted_into": existing.mrn}
    assert Assignment.objects.filter(patient=existing, instrument_id="phq9").count() == 1
    # Another clinic's patient is no one here; a patient keeps one referral.
    elsewhere = make_patient(outsider, other_clinic, given_name="Ada")
    again = contacted(clinic, coordinator, given_name="Grace", family_name="Hopper")
    who = as_coordinator(coordinator, clinic)
    with pytest.raises(IntakeError, match="No such patient"):
        intake.accept(who, again.pk, sex_at_birth="", existing_patient_id=elsewhere.pk)
    with pytest.raises(IntakeError, match="earlier referral"):
        intake.accept(who, again.pk, sex_at_birth="", existing_patient_id=existing.pk)
    assert Referral.objects.get(pk=again.pk).patient is None


def test_a_new_referral_is_not_accepted_before_contact(clinic, coordinator):
    referral = refer(clinic)
    with pytest.raises(IntakeError, match="log the contact"):
        intake.accept(as_coordinator(coordinator, clinic), referral.pk, sex_at_birth="female")


def test_bad_input_is_a_message_not_an_error(clinic, coordinator):
    referral = refer(clinic)
    client = client_for(coordinator)
    for name, data in [
        ("referral-contact", {"at": "yesterday-ish", "channel": "pigeon", "outcome": ""}),
        ("referral-close", {"state": "not_a_fit", "reason": "nope"}),
        ("referral-accept", {"sex_at_birth": "x", "evaluation_start": "soon", "chair_id": "z"}),
    ]:
        response = client.post(reverse(name, args=[referral.pk]), data, follow=True)
        assert response.status_code == 200
        assert "Nothing was saved" in response.content.decode()
    assert not ReferralChange.objects.exists() and not ContactAttempt.objects.exists()


def test_pages_by_role_and_clinic(clinic, staff, other_clinic, outsider):
    referral = refer(clinic)
    detail = reverse("referral-detail", args=[referral.pk])
    contact = reverse("referral-contact", args=[referral.pk])
    for role, user in staff.items():
        client = client_for(user)
        can_view = role != "researcher"
        assert client.get(reverse("intake-queue")).status_code == (200 if can_view else 403)
        assert client.get(detail).status_code == (200 if can_view else 403)
        expected = 302 if role in ("coordinator", "nurse") else 403
        assert client.post(contact, {}).status_code == expected, role
    assert client_for(outsider).get(detail).status_code == 404
    assert client_for(outsider).post(contact, {}).status_code == 404
    outsider_page = client_for(outsider).get(reverse("intake-queue"))
    assert detail not in outsider_page.content.decode()


def test_the_queue_page_takes_the_same_queries_for_one_or_many(clinic, coordinator):
    client = client_for(coordinator)
    contacted(clinic, coordinator)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("intake-queue")).status_code == 200
        return len(captured)

    queries()  # the first request of a session does its own once-only work
    one = queries()
    for n in range(4):
        refer(clinic, MODERATE if n % 2 else [1, 0, 0, 0, 0, 0, 0], at=hours_ago(n + 1))
    contacted(clinic, coordinator)
    assert queries() == one


def test_the_funnel_counts_the_last_thirty_days(clinic, coordinator):
    contacted(clinic, coordinator)
    refer(clinic, at=hours_ago(24 * 40))
    who = as_coordinator(coordinator, clinic)
    closed = refer(clinic)
    intake.change_state(who, closed.pk, "not_a_fit", reason="insurance", referred_to="CMHC")
    figures = queue.funnel(clinic, timezone.now())
    assert figures.arrivals == 2
    assert figures.contacted == 1
    assert figures.not_a_fit == [("Insurance or cost", 1)]


def test_the_demo_seed_fills_the_queue(clinic, coordinator):
    urgent, new, done = seed(clinic)
    assert (urgent.risk, new.state) == ("moderate", "new")
    assert Referral.objects.get(pk=done.pk).state == "contacted"
    rows = queue.open_queue(clinic, timezone.now())
    assert rows[0].referral.pk == urgent.pk and len(rows) == 3


def test_the_queue_page_shows_the_late_urgent_referral_and_the_funnel(clinic, coordinator):
    late = refer(clinic, MODERATE, at=hours_ago(30))
    page = client_for(coordinator).get(reverse("intake-queue")).content.decode()
    assert reverse("referral-detail", args=[late.pk]) in page
    assert "overdue" in page and "Urgent" in page
    assert "1 d 6 h" in page
    assert '<dd id="funnel-arrivals">1</dd>' in page


def test_opening_a_referral_is_audited_and_a_nameless_one_is_not_accepted(clinic, coordinator):
    from ketacare.referrals import actions
    from ketacare.referrals.screener import judge

    crisis = actions.save_crisis_screen(
        actions.public_actor(clinic, "203.0.113.9"), clinic, judge([1, 1, 1, 1, 0, 0, 0])
    )
    who = as_coordinator(coordinator, clinic)
    intake.log_contact(who, crisis.pk, at=timezone.now(), channel="phone", outcome="no_answer")
    client_for(coordinator).get(reverse("referral-detail", args=[crisis.pk]))
    assert AuditEvent.objects.filter(action="view", object_id=str(crisis.pk)).exists()
    with pytest.raises(IntakeError, match="no full name and date of birth"):
        intake.accept(who, crisis.pk, sex_at_birth="male")


def test_the_queue_is_reached_from_the_top_bar_or_the_patient_list(staff):
    from django.urls import reverse

    from tests.conftest import client_for

    queue = reverse("intake-queue")
    for role, in_bar in (("coordinator", True), ("nurse", False)):
        page = client_for(staff[role]).get(reverse("patient-list")).content.decode()
        bar = page.split("</nav>")[0]
        assert (f'href="{queue}"' in bar) is in_bar, role
        assert f'href="{queue}"' in page, role


def test_accepting_invites_the_person_to_their_portal_as_they_asked_to_be_contacted(
    clinic, coordinator, django_capture_on_commit_callbacks, settings
):
    from django.core import mail

    from tests.reminders.sms import RecordingBackend

    settings.KETACARE_SMS_BACKEND = "tests.reminders.sms.RecordingBackend"
    RecordingBackend.sent.clear()
    who = as_coordinator(coordinator, clinic)
    by_email = contacted(clinic, coordinator, email="grace@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        _, patient, _ = intake.accept(who, by_email.pk, sex_at_birth="female")
    (message,) = mail.outbox
    assert message.to == ["grace@example.org"]
    assert f"/portal/clinic/{clinic.pk}/" in message.body and "Grace" not in message.body
    assert AuditEvent.objects.filter(
        object_type="portal_invitation", patient_id=patient.pk, changes__channel="email"
    ).exists()
    by_text = contacted(
        clinic, coordinator, given_name="Ada", preferred_contact="text", phone="+1 555 010 9999"
    )
    with django_capture_on_commit_callbacks(execute=True):
        intake.accept(who, by_text.pk, sex_at_birth="female")
    assert [to for to, _ in RecordingBackend.sent] == ["+1 555 010 9999"]


def test_nobody_is_invited_who_did_not_agree_to_be_contacted(
    clinic, coordinator, django_capture_on_commit_callbacks
):
    from django.core import mail

    referral = contacted(clinic, coordinator, email="grace@example.org")
    Referral.objects.filter(pk=referral.pk).update(consent_to_contact=False)
    with django_capture_on_commit_callbacks(execute=True):
        intake.accept(as_coordinator(coordinator, clinic), referral.pk, sex_at_birth="female")
    assert mail.outbox == []


def test_an_attempt_in_the_minute_the_referral_arrived_counts_from_its_arrival(clinic, coordinator):
    arrived = hours_ago(1).replace(second=30, microsecond=0)
    referral = refer(clinic, at=arrived)
    to_the_minute = arrived.replace(second=0)
    attempt = intake.log_contact(
        as_coordinator(coordinator, clinic),
        referral.pk,
        at=to_the_minute,
        channel="phone",
        outcome="reached",
    )
    referral.refresh_from_db()
    assert attempt.at == referral.first_contact_at == referral.created_at
    with pytest.raises(IntakeError, match="before the referral arrived"):
        intake.log_contact(
            as_coordinator(coordinator, clinic),
            referral.pk,
            at=to_the_minute - timedelta(seconds=1),
            channel="phone",
            outcome="reached",
        )
