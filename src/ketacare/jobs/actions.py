"""The job queue's writes: a failed attempt put back in the queue after its delay, and the
next run of each periodic job. The worker acts as ``SYSTEM``; times come from the actor."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from ketacare.actor import Actor
from ketacare.jobs.failures import retry_delay

# Any 64-bit number unique to this lock; PostgreSQL's advisory locks are named by numbers.
_SCHEDULE_LOCK = 0x6B657461_6A6F6273  # "ketajobs"


@transaction.atomic
def retry_or_fail(actor: Actor, result: DBTaskResult[Any, Any]) -> bool:
    """After an attempt of ``result`` that raised: queue it again after the delay its number
    of attempts calls for, keeping its last error, or leave it failed after the last attempt.
    Returns whether it will be tried again."""
    delay = retry_delay(len(result.worker_ids))
    if result.status != TaskResultStatus.FAILED or delay is None:
        return False
    result.status = TaskResultStatus.READY
    result.run_after = actor.now() + delay
    result.finished_at = None
    result.save(update_fields=["status", "run_after", "finished_at"])
    return True


@transaction.atomic
def schedule_periodic(actor: Actor) -> list[str]:
    """Queue the next run of each periodic job (``KETACARE_PERIODIC_JOBS``) that has none
    waiting or running: due one period after its last run started, or now if that has passed.
    A failed run waiting for its retry counts as its next run, so a job never has two runs
    pending. A run still marked running a whole period after it started is taken as lost (its
    worker was killed mid-job), so that it does not stop the job for good. Returns the paths
    of the jobs queued."""
    if connection.vendor == "postgresql":
        # Two workers finishing at once would both see no pending run; on SQLite the
        # transaction (IMMEDIATE) already holds the write lock.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEDULE_LOCK])
    periodic: dict[str, int] = settings.KETACARE_PERIODIC_JOBS
    queued = []
    for path, every_seconds in periodic.items():
        every = timedelta(seconds=every_seconds)
        runs = DBTaskResult.objects.filter(task_path=path)
        waiting = Q(status=TaskResultStatus.READY)
        running = Q(status=TaskResultStatus.RUNNING, started_at__gt=actor.now() - every)
        if runs.filter(waiting | running).exists():
            continue
        last = runs.aggregate(last=Max("started_at"))["last"]
        due = actor.now() if last is None else max(actor.now(), last + every)
        task: Task[[], object] = import_string(path)
        task.using(run_after=due).enqueue()
        queued.append(path)
    return queued
