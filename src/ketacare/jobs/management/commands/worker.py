import os
import signal
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker

from ketacare.jobs.worker import RetryingWorker


class Command(db_worker.Command):
    """django-tasks-db's ``db_worker`` (its options, its loop, its claiming of jobs) running
    ketacare's worker, which retries and schedules the periodic jobs."""

    help = (
        "Run the job queue: due jobs, their retries after a failure, and the periodic jobs "
        "(the hourly questionnaire dispatch). Keep one running beside the web server."
    )

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: Any,
    ) -> None:
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        if exclude_queues and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = RetryingWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
        )
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # in the reloaded child only, as db_worker does
            run_with_reloader(worker.run)
            return
        # A worker run from code (a test, call_command) leaves Ctrl+C as it found it.
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)
        previous = {number: signal.getsignal(number) for number in handled}
        worker.configure_signals()
        try:
            worker.run()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
