"""The reminders' job, run by `ketacare worker` every few minutes (KETACARE_PERIODIC_JOBS)."""

from django_tasks import task

from ketacare.jobs.failures import JobError
from ketacare.reminders.dispatch import send_due


@task()
def send_reminders() -> dict[str, int]:
    """Appointment reminders due (every few minutes)"""
    report = send_due()
    if report.failures:
        # Raised after every other reminder was sent and each failure recorded on its
        # delivery row: the worker's retry sends only the ones still failed.
        kinds = sorted({failure.split(":", 1)[0] for failure in report.failures})
        raise JobError(
            f"{len(report.failures)} appointment reminder(s) could not be sent "
            f"({', '.join(kinds)}); they are tried again. See the reminder delivery log."
        )
    # Counts only: the result is kept in the jobs table.
    return report.counts
