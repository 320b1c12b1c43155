"""The demo's failed job: what a clinic admin sees on the failed-jobs page when a job has
failed after every retry."""

import logging

from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from ketacare.accounts.models import Clinic
from ketacare.jobs.failures import JobError
from ketacare.jobs.worker import make_worker


@task()
def deliver_through_demo_gateway(clinic_id: int) -> None:
    """Send the clinic's messages through its SMS gateway"""
    raise JobError("The SMS gateway refused the login: the demo has no gateway account.")


def seed_failed_job(clinic: Clinic) -> None:
    """Run the demo's job to its last failed attempt, once per demo database."""
    if DBTaskResult.objects.filter(task_path=deliver_through_demo_gateway.module_path).exists():
        return
    result = deliver_through_demo_gateway.enqueue(clinic_id=clinic.pk)
    job = DBTaskResult.objects.get(pk=result.id)
    worker = make_worker(worker_id="demo-seed")
    # Its tracebacks are expected here and would fill the demo's console.
    tasks_log = logging.getLogger("django_tasks")
    level = tasks_log.level
    tasks_log.setLevel(logging.CRITICAL)
    try:
        # Every attempt at once rather than after its delays, through the worker's own code.
        while True:
            worker.attempt(job)
            if job.status == TaskResultStatus.FAILED:
                break
    finally:
        tasks_log.setLevel(level)
