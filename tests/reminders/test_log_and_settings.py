"""Staff read the delivery log (their clinic's only, in a bounded number of queries); the
clinic admin sets the lead times, channels and the late-cancellation threshold."""

from datetime import timedelta

import pytest
from django.urls import reverse

from ketacare.actor import FixedClock
from ketacare.audit.models import AuditEvent
from ketacare.reminders.dispatch import send_due
from ketacare.reminders.models import ReminderSettings
from ketacare.reminders.queries import default_policy, policy_for
from tests.conftest import client_for, make_patient
from tests.reminders.conftest import PHONE, START, book

pytestmark = pytest.mark.django_db


def test_the_log_lists_deliveries_in_bounded_queries(
    booker, nurse, chicago, chair, django_assert_max_num_queries
):
    def patients_booked(n, offset):
        for i in range(n):
            n = offset + i
            patient = make_patient(
                nurse,
                chicago,
                phone=f"{PHONE[:-2]}{n:02d}",
                email=f"p{n}@example.org",
                family_name=f"P{n}",
            )
            book(booker, patient, chair, start=START + timedelta(weeks=n))

    patients_booked(1, 0)
    send_due(FixedClock(START - timedelta(hours=2)))
    client = client_for(nurse)
    client.get(reverse("reminder-log"))
    with django_assert_max_num_queries(20) as one:
        page = client.get(reverse("reminder-log"))
    assert len(page.context["deliveries"]) == 2

    patients_booked(8, 1)
    for week in range(1, 9):
        send_due(FixedClock(START + timedelta(weeks=week, hours=-2)))
    with django_assert_max_num_queries(len(one)):
        page = client.get(reverse("reminder-log"))
    assert len(page.context["deliveries"]) == 18
    html = page.content.decode()
    assert "P8" in html and html.count('class="status-sent"') == 18


def test_another_clinics_staff_see_none_of_it(appointment, outsider):
    send_due(FixedClock(START - timedelta(hours=2)))
    page = client_for(outsider).get(reverse("reminder-log"))
    assert page.status_code == 200
    assert list(page.context["deliveries"]) == []
    assert appointment.patient.family_name not in page.content.decode()


@pytest.mark.parametrize("role", ["prescriber", "nurse", "coordinator", "clinic_admin"])
def test_who_reads_the_log(role, staff):
    assert client_for(staff[role]).get(reverse("reminder-log")).status_code == 200


def test_a_researcher_does_not(researcher):
    assert client_for(researcher).get(reverse("reminder-log")).status_code == 403


def test_the_admin_sets_the_policy(clinic_admin, clinic):
    client = client_for(clinic_admin)
    form = client.get(reverse("reminder-settings"))
    assert form.context["form"].initial["lead_hours"] == "48, 2"
    response = client.post(
        reverse("reminder-settings"),
        {"lead_hours": "2, 72, 2", "channels": ["email"], "late_cancel_hours": "12"},
    )
    assert response.status_code == 302
    policy = policy_for(clinic)
    assert (policy.lead_hours, policy.channels, policy.late_cancel_hours) == (
        (72, 2),
        ("email",),
        12,
    )
    event = AuditEvent.objects.get(object_type="reminder_settings")
    assert event.changes["lead_hours"] == {"old": None, "new": [72, 2]}
    # Another clinic keeps the defaults.
    assert policy_for(clinic.pk + 1000) == default_policy()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lead_hours": "two", "channels": ["sms"], "late_cancel_hours": "24"}, "whole hours"),
        ({"lead_hours": "0", "channels": ["sms"], "late_cancel_hours": "24"}, "1 to 168"),
        ({"lead_hours": "9" * 40, "channels": ["sms"], "late_cancel_hours": "24"}, "whole hours"),
        ({"lead_hours": "200", "channels": ["sms"], "late_cancel_hours": "24"}, "1 to 168"),
        ({"lead_hours": "48", "channels": ["fax"], "late_cancel_hours": "24"}, "not one of"),
        ({"lead_hours": "48", "channels": [], "late_cancel_hours": "24"}, "required"),
        (
            {"lead_hours": "48", "channels": ["sms"], "late_cancel_hours": "1e999999"},
            "whole number",
        ),
        ({"lead_hours": "48", "channels": ["sms"], "late_cancel_hours": "-1"}, "greater than"),
    ],
)
def test_bad_settings_are_refused_with_a_message(clinic_admin, data, message):
    response = client_for(clinic_admin).post(reverse("reminder-settings"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ReminderSettings.objects.exists()
    assert not AuditEvent.objects.filter(object_type="reminder_settings").exists()


@pytest.mark.parametrize("role", ["prescriber", "nurse", "coordinator", "researcher"])
def test_only_the_admin_changes_the_policy(role, staff):
    client = client_for(staff[role])
    assert client.get(reverse("reminder-settings")).status_code == 403
    data = {"lead_hours": "1", "channels": ["sms"], "late_cancel_hours": "1"}
    assert client.post(reverse("reminder-settings"), data).status_code == 403
    assert not ReminderSettings.objects.exists()
