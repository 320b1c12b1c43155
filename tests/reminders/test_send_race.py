"""Two workers sending the same reminder at once send it once: the appointment's row is
locked while the first sends and writes its delivery row, and the second then finds it sent.
The delivery rows and opt-outs are what the database keeps as written."""

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connections, transaction

from ketacare.actor import Actor, FixedClock
from ketacare.reminders import actions
from ketacare.reminders.models import Delivery, OptOut
from tests.postgresql_locks import postgresql_only  # noqa: F401 - a fixture
from tests.reminders.conftest import START


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgresql_only")
def test_two_workers_send_one_reminder_once(appointment, settings, recorded_texts):
    settings.KETACARE_SMS_BACKEND = "tests.reminders.sms.SlowBackend"
    system = Actor(
        user=None, role="system", clinic=None, clock=FixedClock(START - timedelta(hours=2))
    )
    together = threading.Barrier(2, timeout=10)
    outcomes = []

    def send():
        try:
            together.wait()
            outcomes.append(actions.send_reminder(system, appointment.pk, 2, "sms").status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["none", "sent"]
    assert len(recorded_texts) == 1
    assert Delivery.objects.get().attempts == 1


@pytest.mark.django_db
def test_an_opt_out_cannot_be_changed_or_deleted(appointment):
    actions.record_sms_keyword("+13125550142", "stop", clock=FixedClock(START))
    for change in (
        lambda: OptOut.objects.update(stopped=False),
        lambda: OptOut.objects.all().delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    assert OptOut.objects.get().stopped
