"""The measures app's jobs, run by `ketacare worker`."""

from django_tasks import task

from ketacare.measures.dispatch import dispatch


@task()
def send_questionnaires() -> dict[str, int]:
    """Questionnaire links and reminders due (hourly)"""
    report = dispatch()
    # Counts only: the result is kept in the jobs table, and the labels name patients.
    return {
        "sent": len(report.sent),
        "reminded": len(report.reminded),
        "not_sent": len(report.not_sent) + len(report.reminders_not_sent),
    }
