"""A job that raises is tried again after growing delays, then failed and shown to the clinic
admin; run by the real worker (`ketacare worker --batch`) at moments set by time-machine."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django_tasks import TaskResultStatus

from tests.conftest import client_for
from tests.jobs.conftest import START, row, run_worker
from tests.jobs.tasks import gateway_down

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_periodic_jobs")]


def test_a_failing_job_is_retried_after_growing_delays_then_shown_as_failed(clinic, clinic_admin):
    delays = [timedelta(seconds=s) for s in settings.KETACARE_JOB_RETRY_DELAYS]
    assert delays == sorted(delays) and len(set(delays)) == len(delays)  # they grow
    with time_machine.travel(START, tick=False) as clock:
        result = gateway_down.enqueue(clinic_id=clinic.pk)
        for attempt, delay in enumerate(delays, start=1):
            run_worker()
            job = row(result)
            assert (job.status, len(job.worker_ids)) == (TaskResultStatus.READY, attempt)
            assert job.run_after - job.started_at == delay
            clock.shift(delay - timedelta(seconds=1))
            run_worker()  # not due yet: not tried
            assert len(row(result).worker_ids) == attempt
            clock.shift(timedelta(seconds=1))
        run_worker()  # the last attempt
        failed = row(result)
        run_worker()  # a failed job is not tried again
    assert row(result).status == TaskResultStatus.FAILED
    assert len(row(result).worker_ids) == len(delays) + 1

    page = client_for(clinic_admin).get(reverse("failed-jobs"))
    assert page.status_code == 200
    [shown] = page.context["jobs"]
    assert shown.what == "Send the clinic's messages through a gateway that is down"
    assert shown.attempts == len(delays) + 1
    assert shown.error == "The SMS gateway did not answer (HTTP 503)."
    assert shown.failed_at == failed.finished_at
    assert "The SMS gateway did not answer (HTTP 503)." in page.content.decode()
