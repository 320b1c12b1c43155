"""`ketacare worker`: it runs what is due, the hourly questionnaire dispatch among it, and
keeps exactly one next run of each periodic job queued."""

import threading
from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ketacare.actor import SYSTEM
from ketacare.jobs.actions import schedule_periodic
from ketacare.jobs.worker import worker_thread
from ketacare.measures import actions
from ketacare.measures.models import PatientLink
from tests.conftest import actor
from tests.jobs.conftest import START, row, run_worker
from tests.jobs.tasks import ADDED, add, add_and_tell
from tests.measures.helpers import contact_consent

pytestmark = pytest.mark.django_db(transaction=True)

DISPATCH = "ketacare.measures.tasks.send_questionnaires"


def dispatch_runs(status):
    return DBTaskResult.objects.filter(task_path=DISPATCH, status=status)


@pytest.mark.usefixtures("no_periodic_jobs")
def test_the_worker_runs_a_job_when_it_is_due_and_not_before():
    with time_machine.travel(START, tick=False) as clock:
        result = add.using(run_after=START + timedelta(minutes=5)).enqueue(2, 3)
        run_worker()
        assert row(result).status == TaskResultStatus.READY
        clock.shift(timedelta(minutes=5))
        run_worker()
    job = row(result)
    assert (job.status, job.return_value, len(job.worker_ids)) == (
        TaskResultStatus.SUCCESSFUL,
        5,
        1,
    )


def test_the_dispatch_runs_hourly_with_one_run_pending(patient, nurse, clinic, settings, tmp_path):
    settings.DATA_DIR = tmp_path  # the SMS outbox
    patient.phone = "+1 555 0100"
    patient.save()
    actions.assign_instrument(actor(nurse, clinic), patient, "phq9", "weekly", date(2026, 11, 2))
    with time_machine.travel(START, tick=False) as clock:
        contact_consent(nurse, patient)
        run_worker()  # schedules the dispatch (never run before: due now) and runs it
        [done] = dispatch_runs(TaskResultStatus.SUCCESSFUL)
        assert done.return_value == {"sent": 1, "reminded": 0, "not_sent": 0}
        assert PatientLink.objects.get().channel == "sms"
        [pending] = dispatch_runs(TaskResultStatus.READY)
        assert pending.run_after == START + timedelta(hours=1)

        run_worker()  # nothing due: nothing runs, and no second run is queued
        assert schedule_periodic(SYSTEM) == []
        assert list(dispatch_runs(TaskResultStatus.READY)) == [pending]

        clock.shift(timedelta(hours=1))
        run_worker()
        assert dispatch_runs(TaskResultStatus.SUCCESSFUL).count() == 2
        [pending] = dispatch_runs(TaskResultStatus.READY)
        assert pending.run_after == START + timedelta(hours=2)
    assert PatientLink.objects.count() == 1  # the open link is not sent again
    sms = (tmp_path / "outbox" / "sms.log").read_text().splitlines()
    assert len(sms) == 1


def test_a_periodic_job_waiting_for_its_retry_is_its_one_pending_run(settings):
    path = "tests.jobs.tasks.everywhere"  # raises every time
    settings.KETACARE_PERIODIC_JOBS = {path: 3600}
    settings.KETACARE_JOB_RETRY_DELAYS = [60]
    runs = DBTaskResult.objects.filter(task_path=path)
    with time_machine.travel(START, tick=False) as clock:
        run_worker()  # first attempt fails: put back for its retry, a minute later
        [retry] = runs
        assert (retry.status, retry.run_after) == (
            TaskResultStatus.READY,
            START + timedelta(minutes=1),
        )
        assert schedule_periodic(SYSTEM) == []
        clock.shift(timedelta(minutes=1))
        run_worker()  # the last attempt fails: the next hourly run is queued
        assert runs.get(pk=retry.pk).status == TaskResultStatus.FAILED
        [pending] = runs.filter(status=TaskResultStatus.READY)
        assert pending.run_after == START + timedelta(minutes=1, hours=1)


def test_a_run_left_running_by_a_killed_worker_holds_the_next_back_for_one_period_only(settings):
    settings.KETACARE_PERIODIC_JOBS = {DISPATCH: 3600}  # the hourly one alone
    with time_machine.travel(START, tick=False) as clock:
        [path] = schedule_periodic(SYSTEM)
        [run] = DBTaskResult.objects.filter(task_path=path)
        run.claim("killed-worker")  # and never finished
        clock.shift(timedelta(minutes=59))
        assert schedule_periodic(SYSTEM) == []  # perhaps still running
        clock.shift(timedelta(minutes=1))
        assert schedule_periodic(SYSTEM) == [path]
        [pending] = dispatch_runs(TaskResultStatus.READY)
        assert pending.run_after == START + timedelta(hours=1)


@pytest.mark.usefixtures("no_periodic_jobs")
def test_the_demos_worker_thread_runs_jobs_and_stops_with_the_server():
    # Waited for by an event, not by reading the job's row: the test database on SQLite is in
    # memory with a shared cache, where two threads meet each other's table locks at once
    # ("database schema is locked") instead of waiting, as a file database would.
    ADDED.clear()
    result = add_and_tell.enqueue(1, 2)
    with worker_thread(interval=0.05) as worker:
        assert ADDED.wait(timeout=20), "the worker thread did not run the job"
    # Leaving the block stops the worker once it has finished (and saved) the job.
    assert not worker.running
    assert row(result).status == TaskResultStatus.SUCCESSFUL
    assert row(result).return_value == 3
    assert "ketacare-worker" not in {thread.name for thread in threading.enumerate()}


def test_the_worker_refuses_to_exclude_queues_from_named_queues():
    with pytest.raises(CommandError, match="--exclude-queues can only be used"):
        call_command("worker", "--batch", "--queue-name=default", "--exclude-queues=slow")
