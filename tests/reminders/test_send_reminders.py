"""The reminders job sends each reminder at its lead time, once, by text and email, with the
clinic, the local time and a link — and nothing about the patient's health."""

from datetime import timedelta

import pytest

from ketacare.actor import FixedClock
from ketacare.audit.models import AuditEvent
from ketacare.reminders import actions, links
from ketacare.reminders.dispatch import send_due
from ketacare.reminders.models import Delivery, OptOut
from ketacare.scheduling import actions as scheduling
from ketacare.scheduling.models import Appointment
from tests.conftest import make_patient
from tests.reminders.conftest import EMAIL, PHONE, START, book, emails

pytestmark = pytest.mark.django_db


def run_at(moment):
    return send_due(FixedClock(moment))


def statuses(appointment):
    return sorted(
        (d.lead_hours, d.channel, d.status)
        for d in Delivery.objects.filter(appointment=appointment)
    )


def test_each_reminder_goes_at_its_lead_time_once(appointment, recorded_texts):
    assert run_at(START - timedelta(hours=48, minutes=1)).counts == {}
    assert recorded_texts == [] and emails() == []

    assert run_at(START - timedelta(hours=48)).counts == {"sent": 2}
    assert [to for to, _ in recorded_texts] == [PHONE]
    assert [to for to, _, _ in emails()] == [EMAIL]
    # Every later run before the 2-hour reminder sends nothing again.
    for hours in (47, 24, 3):
        assert run_at(START - timedelta(hours=hours)).counts == {}
    assert len(recorded_texts) == 1 and len(emails()) == 1

    assert run_at(START - timedelta(hours=2)).counts == {"sent": 2}
    assert run_at(START - timedelta(minutes=5)).counts == {}
    assert run_at(START + timedelta(minutes=1)).counts == {}  # begun: no reminder
    assert len(recorded_texts) == 2 and len(emails()) == 2
    assert statuses(appointment) == [
        (2, "email", "sent"),
        (2, "sms", "sent"),
        (48, "email", "sent"),
        (48, "sms", "sent"),
    ]
    # Each delivery is audited, by the system, against the patient.
    events = AuditEvent.objects.filter(object_type="reminder_delivery")
    assert events.count() == 4
    assert {(e.role, e.patient_id) for e in events} == {("system", appointment.patient_id)}


def test_the_message_names_the_clinic_the_local_time_and_the_link_only(appointment, recorded_texts):
    run_at(START - timedelta(hours=48))
    [(_, text)] = recorded_texts
    [(_, subject, body)] = emails()
    url = links.absolute_url(appointment.pk)
    clinic = appointment.clinic.name
    assert text.startswith(f"{clinic}: a reminder of your appointment on ")
    assert "Wednesday 2 December at 09:00 (CST)" in text and url in text
    assert text.endswith("Reply STOP to stop texts.")
    assert "Wednesday 2 December at 09:00 (CST)" in body and url in body
    assert subject == f"Your appointment at {clinic}"
    patient = appointment.patient
    for message in (text, subject, body):
        # The clinic may name itself as it likes; nothing else says what it treats.
        words = message.replace(clinic, "").lower()
        for health in (
            "ketamine",
            "esketamine",
            "spravato",
            "dosing",
            "follow",
            "session",
            "infusion",
            "depression",
            "treatment",
            "evaluation",
            patient.family_name.lower(),
            patient.mrn,
        ):
            assert health not in words, (health, message)


def test_an_appointment_booked_late_gets_the_shortest_due_reminder_only(
    booker, reachable, chair, recorded_texts
):
    # Booked 30 hours ahead: the 48-hour moment has passed; one reminder now, not two.
    late = book(booker.at(START - timedelta(hours=30)), reachable, chair)
    run_at(START - timedelta(hours=29))
    assert statuses(late) == [(48, "email", "sent"), (48, "sms", "sent")]
    # A run that comes after both moments (the worker was down) sends the 2-hour one only.
    run_at(START - timedelta(hours=1))
    assert len(recorded_texts) == 2
    assert statuses(late)[:2] == [(2, "email", "sent"), (2, "sms", "sent")]


def test_cancelled_and_missed_appointments_get_no_reminder(booker, appointment, recorded_texts):
    scheduling.cancel(booker, appointment.pk, "Patient called")
    assert run_at(START - timedelta(hours=2)).counts == {}
    assert recorded_texts == [] and emails() == []


def test_a_patient_without_a_phone_gets_email_and_the_text_is_logged_skipped(
    booker, nurse, chicago, chair, recorded_texts
):
    patient = make_patient(nurse, chicago, email=EMAIL, family_name="Noether")
    appointment = book(booker, patient, chair)
    assert run_at(START - timedelta(hours=48)).counts == {"sent": 1, "skipped": 1}
    sms = Delivery.objects.get(appointment=appointment, channel="sms")
    assert (sms.status, sms.detail) == ("skipped", "No phone number on record.")
    # A skipped reminder is not tried again.
    assert run_at(START - timedelta(hours=47)).counts == {}


def test_a_patient_who_texted_stop_gets_email_only(appointment, recorded_texts):
    actions.record_sms_keyword("312-555-0142", "stop", clock=FixedClock(START - timedelta(days=3)))
    run_at(START - timedelta(hours=48))
    assert recorded_texts == [] and len(emails()) == 1
    sms = Delivery.objects.get(appointment=appointment, channel="sms")
    assert (sms.status, sms.detail) == ("skipped", "The patient stopped these reminders.")
    assert OptOut.objects.get().source == "sms_keyword"


def test_a_clinic_sets_its_own_lead_times_and_channels(clinic_admin, appointment, recorded_texts):
    from ketacare.accounts.permissions import Role
    from tests.conftest import actor

    admin = actor(clinic_admin, appointment.clinic, Role.CLINIC_ADMIN)
    actions.save_settings(admin, lead_hours=[24], channels=["sms"], late_cancel_hours=12)
    assert run_at(START - timedelta(hours=48)).counts == {}
    assert run_at(START - timedelta(hours=24)).counts == {"sent": 1}
    assert emails() == [] and len(recorded_texts) == 1
    assert Appointment.objects.get(pk=appointment.pk).state == "booked"


def test_a_moved_appointment_is_reminded_of_its_new_time(booker, appointment, recorded_texts):
    run_at(START - timedelta(hours=48))
    later = START + timedelta(days=1)
    scheduling.reschedule(
        booker.at(START - timedelta(hours=47)),
        appointment.pk,
        start=later,
        end=later + timedelta(hours=2),
        chair_id=appointment.chair_id,
    )
    assert run_at(START - timedelta(hours=46)).counts == {}  # nothing due for the new time yet
    assert run_at(later - timedelta(hours=48)).counts == {"sent": 2}
    assert "Thursday 3 December at 09:00 (CST)" in recorded_texts[-1][1]
    assert Delivery.objects.filter(appointment=appointment).count() == 4
