"""A provider's error fails the job after every other reminder went out and the failure is on
its delivery row; the real worker (`ketacare worker --batch`) tries again after its delays,
sending only what failed, and after the last attempt the clinic admin sees the job failed."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django_tasks import TaskResultStatus

from ketacare.reminders.models import Delivery
from ketacare.reminders.tasks import send_reminders
from tests.conftest import client_for
from tests.jobs.conftest import row, run_worker
from tests.reminders.conftest import START, emails

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_periodic_jobs")]

DUE = START - timedelta(hours=48)


@pytest.fixture
def no_periodic_jobs(settings):
    settings.KETACARE_PERIODIC_JOBS = {}


@pytest.fixture
def gateway_down(settings):
    settings.KETACARE_SMS_BACKEND = "tests.reminders.sms.DownBackend"


def sms_row(appointment):
    return Delivery.objects.get(appointment=appointment, channel="sms")


def test_a_failed_text_is_retried_then_shown_as_failed(
    appointment, gateway_down, clinic_admin, recorded_texts
):
    delays = [timedelta(seconds=s) for s in settings.KETACARE_JOB_RETRY_DELAYS]
    with time_machine.travel(DUE, tick=False) as clock:
        result = send_reminders.enqueue()
        for attempt, delay in enumerate(delays, start=1):
            run_worker()
            job = row(result)
            assert (job.status, len(job.worker_ids)) == (TaskResultStatus.READY, attempt)
            assert (sms_row(appointment).status, sms_row(appointment).attempts) == (
                "failed",
                attempt,
            )
            clock.shift(delay)
        run_worker()  # the last attempt
    assert row(result).status == TaskResultStatus.FAILED
    failed = sms_row(appointment)
    assert (failed.status, failed.attempts) == ("failed", len(delays) + 1)
    assert failed.detail == "GatewayDown: The SMS gateway answered HTTP 503."
    # The email went out once, at the first attempt; the retries did not send it again.
    assert len(emails()) == 1
    assert Delivery.objects.get(appointment=appointment, channel="email").attempts == 1

    page = client_for(clinic_admin).get(reverse("failed-jobs"))
    [shown] = page.context["jobs"]
    assert shown.what == "Appointment reminders due (every few minutes)"
    assert shown.attempts == len(delays) + 1
    assert shown.error == (
        "1 appointment reminder(s) could not be sent (GatewayDown); they are tried again. "
        "See the reminder delivery log."
    )
    # The delivery log shows it too.
    log = client_for(clinic_admin).get(reverse("reminder-log")).content.decode()
    assert "GatewayDown: The SMS gateway answered HTTP 503." in log


def test_a_retry_after_the_gateway_recovers_sends_only_what_failed(
    appointment, gateway_down, settings, recorded_texts
):
    with time_machine.travel(DUE, tick=False) as clock:
        result = send_reminders.enqueue()
        run_worker()
        assert row(result).status == TaskResultStatus.READY  # to be tried again
        settings.KETACARE_SMS_BACKEND = "tests.reminders.sms.RecordingBackend"
        clock.shift(timedelta(seconds=settings.KETACARE_JOB_RETRY_DELAYS[0]))
        run_worker()
    assert row(result).status == TaskResultStatus.SUCCESSFUL
    assert row(result).return_value == {"sent": 1}
    assert len(recorded_texts) == 1 and len(emails()) == 1
    assert (sms_row(appointment).status, sms_row(appointment).attempts) == ("sent", 2)
