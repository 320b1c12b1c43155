"""The demo fills its outbox with reminders on its first start, whatever the day."""

from datetime import timedelta

import pytest

from ketacare.reminders.demo import seed
from ketacare.reminders.models import Delivery
from tests.reminders.conftest import START, emails

pytestmark = pytest.mark.django_db


def test_reminders_due_now_are_sent(appointment, recorded_texts):
    assert seed(appointment.clinic, now=START - timedelta(hours=30)).counts == {"sent": 2}
    assert len(recorded_texts) == 1 and len(emails()) == 1


def test_with_nothing_due_yet_the_next_appointments_first_reminders_are_sent(
    appointment, recorded_texts
):
    assert seed(appointment.clinic, now=START - timedelta(days=4)).counts == {"sent": 2}
    assert set(Delivery.objects.values_list("lead_hours", flat=True)) == {48}
    # Seeding again sends nothing twice.
    assert seed(appointment.clinic, now=START - timedelta(days=4)).counts == {}
    assert len(recorded_texts) == 1
