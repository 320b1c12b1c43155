from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.measures import actions
from ketacare.measures.dispatch import dispatch
from ketacare.measures.models import Assignment, PatientLink
from ketacare.measures.schedule import next_due
from tests.conftest import actor
from tests.measures.helpers import contact_consent

D = date(2026, 11, 2)


@pytest.mark.parametrize(
    ("schedule", "last", "every", "expected"),
    [
        ("once", None, None, D),
        ("once", D + timedelta(days=1), None, None),
        ("once", D - timedelta(days=5), None, D),  # answered before the assignment began
        ("weekly", None, None, D),
        ("weekly", D + timedelta(days=3), None, D + timedelta(days=10)),
        ("every_n_days", D, 14, D + timedelta(days=14)),
        ("before_session", None, None, None),
    ],
)
def test_next_due(schedule, last, every, expected):
    assert next_due(schedule, D, last, every) == expected


def test_every_n_days_needs_the_number():
    with pytest.raises(ValueError, match="needs a number of days"):
        next_due("every_n_days", D, None, None)


def test_schedule_from_the_measures_page(as_user, coordinator, patient):
    client = as_user(coordinator)
    url = reverse("measure-assign", args=[patient.pk])
    client.post(url, {"instrument_id": "gad7", "schedule": "every_n_days", "starts_on": D})
    assert not Assignment.objects.exists()  # no number of days: refused
    client.post(
        url, {"instrument_id": "gad7", "schedule": "every_n_days", "every_days": 10, "starts_on": D}
    )
    assignment = Assignment.objects.get()
    assert (assignment.instrument_id, assignment.every_days) == ("gad7", 10)
    page = client.get(reverse("patient-measures", args=[patient.pk])).content.decode()
    assert "Every N days (10 days)" in page
    client.post(reverse("measure-assign-end", args=[patient.pk, assignment.pk]))
    assert not Assignment.objects.get().active
    assert AuditEvent.objects.filter(object_type="assignment").count() == 2


def test_due_questionnaires_are_texted_once_then_reminded_once(
    patient, nurse, clinic, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    patient.phone = "+1 555 0100"
    patient.save()
    actions.assign_instrument(actor(nurse, clinic), patient, "phq9", "weekly", D)
    with time_machine.travel("2026-11-02 15:00:00+00:00", tick=False) as clock:
        contact_consent(nurse, patient)
        assert dispatch().sent == [f"MRN {patient.mrn} PHQ-9"]
        assert dispatch().sent == []  # an open link exists: not sent again
        link = PatientLink.objects.get()
        assert link.channel == "sms"
        clock.shift(timedelta(hours=25))
        assert dispatch().reminded == [f"MRN {patient.mrn} PHQ-9"]
        assert dispatch().reminded == []  # one reminder only
    outbox = (tmp_path / "outbox" / "sms.log").read_text().splitlines()
    assert len(outbox) == 2
    assert outbox[1].split("\t")[2].startswith("Reminder:")
    assert "Lovelace" not in "".join(outbox)


def test_answered_questionnaire_is_next_due_a_week_later(patient, nurse, clinic):
    patient.email = "ada@example.org"
    patient.save()
    contact_consent(nurse, patient, signed_at=timezone.make_aware(timezone.datetime(2026, 11, 1)))
    actions.assign_instrument(actor(nurse, clinic), patient, "phq9", "weekly", D)
    actions.record_staff_response(
        actor(nurse, clinic),
        patient,
        "phq9",
        [0] * 9,
        timezone.make_aware(timezone.datetime(2026, 11, 3, 10, 0)),
    )
    with time_machine.travel("2026-11-09 12:00:00+00:00", tick=False):
        assert dispatch().sent == []
    with time_machine.travel("2026-11-10 12:00:00+00:00", tick=False):
        assert dispatch().sent == [f"MRN {patient.mrn} PHQ-9"]
    assert len(mail.outbox) == 1


def test_unreachable_patient_is_reported_not_skipped_silently(patient, nurse, clinic, capsys):
    contact_consent(nurse, patient)
    actions.assign_instrument(actor(nurse, clinic), patient, "phq9", "once", D)
    with time_machine.travel("2026-11-05 12:00:00+00:00", tick=False):
        call_command("send_questionnaires")
    captured = capsys.readouterr()
    assert (
        f"Not sent (No phone number or email address is on record): MRN {patient.mrn} PHQ-9"
        in captured.err
    )
    assert "0 links, 0 reminders, 1 not sent." in captured.out
    assert not PatientLink.objects.exists()
    assert Assignment.objects.get().not_sent_reason == "no_phone_or_email"


def test_clinician_rated_scales_are_left_for_staff_to_enter(patient, nurse, clinic, capsys):
    # A scheduled MADRS is due for staff; the dispatch sends nothing and does not stop.
    patient.email = "ada@example.org"
    patient.save()
    contact_consent(nurse, patient, signed_at=timezone.make_aware(timezone.datetime(2026, 11, 1)))
    actions.assign_instrument(actor(nurse, clinic), patient, "madrs", "weekly", D)
    actions.assign_instrument(actor(nurse, clinic), patient, "gad7", "weekly", D)
    with time_machine.travel("2026-11-05 12:00:00+00:00", tick=False):
        assert dispatch().sent == [f"MRN {patient.mrn} GAD-7"]
    assert list(PatientLink.objects.values_list("instrument_id", flat=True)) == ["gad7"]


def test_dry_run_sends_nothing(patient, nurse, clinic, capsys):
    patient.email = "ada@example.org"
    patient.save()
    contact_consent(nurse, patient, signed_at=timezone.make_aware(timezone.datetime(2026, 11, 1)))
    actions.assign_instrument(actor(nurse, clinic), patient, "phq9", "once", D)
    with time_machine.travel("2026-11-05 12:00:00+00:00", tick=False):
        call_command("send_questionnaires", "--dry-run")
    assert "Would send link" in capsys.readouterr().out
    assert not PatientLink.objects.exists()
    assert mail.outbox == []
