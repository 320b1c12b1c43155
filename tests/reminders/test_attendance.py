"""No-shows and late cancellations are counted per patient (the clinic's threshold) and shown
on the chart."""

from datetime import timedelta

import pytest
from django.urls import reverse

from ketacare.accounts.permissions import Role
from ketacare.reminders import actions
from ketacare.reminders.queries import attendance
from ketacare.scheduling import actions as scheduling
from tests.conftest import actor, client_for
from tests.reminders.conftest import START, book

pytestmark = pytest.mark.django_db


def test_no_shows_and_late_cancellations_are_counted(booker, reachable, chair, clinic_admin, nurse):
    missed = book(booker, reachable, chair)
    late = book(booker, reachable, chair, start=START + timedelta(days=1))
    early = book(booker, reachable, chair, start=START + timedelta(days=2))
    kept = book(booker, reachable, chair, start=START + timedelta(days=7))
    scheduling.mark_no_show(booker.at(START + timedelta(minutes=30)), missed.pk)
    scheduling.cancel(booker.at(late.start - timedelta(hours=10)), late.pk, "Unwell")
    scheduling.cancel(booker.at(early.start - timedelta(days=2)), early.pk, "Travelling")
    scheduling.confirm(booker, kept.pk)

    counted = attendance(reachable)
    assert (counted.no_shows, counted.late_cancellations, counted.late_cancel_hours) == (1, 1, 24)

    # The clinic's own threshold decides what is late.
    admin = actor(clinic_admin, reachable.clinic, Role.CLINIC_ADMIN)
    actions.save_settings(admin, lead_hours=[48, 2], channels=["sms"], late_cancel_hours=6)
    assert attendance(reachable).late_cancellations == 0

    chart = client_for(nurse).get(reverse("patient-chart", args=[reachable.pk])).content.decode()
    assert "No-shows: <strong>1</strong>" in chart
    assert "Late cancellations (under 6 h): <strong>0</strong>" in chart


def test_a_patient_who_always_came_has_none(reachable):
    counted = attendance(reachable)
    assert (counted.no_shows, counted.late_cancellations) == (0, 0)
