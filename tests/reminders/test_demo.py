"""The demo fills its outbox with reminders on its first start, whatever the day."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

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


@pytest.mark.parametrize("weekday", [0, 2, 5])  # a Monday, a Wednesday, a Saturday
def test_the_demos_week_fills_the_outbox(weekday, settings, tmp_path, recorded_texts):
    """The demo's own appointments and reminders, seeded as `ketacare demo` seeds them: texts
    in the SMS backend and emails in the outbox, none naming what the clinic treats."""
    from ketacare.accounts.models import Clinic
    from ketacare.web.demo_data import DEMO_CLINIC, seed_demo

    today = timezone.localdate()
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    with time_machine.travel(timezone.make_aware(datetime.combine(day, time(15))), tick=False):
        seed_demo(patient_count=6)  # which calls ``seed`` once the week is booked
        clinic = Clinic.objects.get(name=DEMO_CLINIC)
    sent = Delivery.objects.filter(appointment__clinic=clinic, status=Delivery.Status.SENT)
    assert sent.count() >= 2
    assert recorded_texts and emails()
    for _, body in recorded_texts:
        words = body.replace(clinic.name, "").lower()
        assert not any(w in words for w in ("ketamine", "dosing", "infusion", "telehealth"))
