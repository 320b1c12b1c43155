"""django-tasks-db's worker with ketacare's retries and periodic jobs, and the worker thread
that runs beside the demo's server."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from ketacare.actor import SYSTEM
from ketacare.jobs.actions import retry_or_fail, schedule_periodic


class RetryingWorker(Worker):
    """The library's worker runs each job once; this one queues a job that raised again after
    its delay (``retry_or_fail``) and keeps the periodic jobs scheduled."""

    def run(self) -> None:
        schedule_periodic(SYSTEM)
        super().run()

    def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        super().run_task(db_task_result)
        if db_task_result.status == TaskResultStatus.FAILED:
            retry_or_fail(SYSTEM, db_task_result)
        # A periodic job that just ran (or failed for the last time) gets its next run.
        schedule_periodic(SYSTEM)

    def attempt(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        """Run one attempt of ``db_task_result`` now, whenever it is due (the demo's seeding)."""
        db_task_result.claim(self.worker_id)
        self.run_task(db_task_result)


def make_worker(*, interval: float = 1.0, worker_id: str = "") -> RetryingWorker:
    """A worker of every queue of the default backend."""
    return RetryingWorker(
        queue_names=["*"],
        interval=interval,
        batch=False,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id or get_random_string(32),
        excluded_queue_names=[],
    )


@contextmanager
def worker_thread(interval: float = 1.0) -> Iterator[RetryingWorker]:
    """A worker in a thread for as long as the block runs (the demo's server); on leaving, it
    finishes the job it is running, then stops."""
    worker = make_worker(interval=interval, worker_id=f"demo-{get_random_string(8)}")

    def run() -> None:
        try:
            worker.run()
        finally:
            connections.close_all()  # the thread's own connection

    thread = threading.Thread(target=run, name="ketacare-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.running = False
        thread.join()
