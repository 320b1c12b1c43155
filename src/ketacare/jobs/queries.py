"""The failed jobs a clinic admin sees."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ketacare.accounts.models import Clinic
from ketacare.jobs.failures import shown_error

# The newest failures shown; older ones stay in the table until pruned
# (`ketacare prune_db_task_results`).
SHOWN = 100


@dataclass(frozen=True)
class FailedJob:
    what: str
    enqueued_at: datetime
    failed_at: datetime | None
    attempts: int
    error: str
    system_wide: bool
    """A job of no clinic (the questionnaire dispatch covers every clinic)."""


def failed_jobs(clinic: Clinic) -> list[FailedJob]:
    """``clinic``'s failed jobs and the system-wide ones, newest first. A job belongs to a
    clinic when it is given ``clinic_id`` as a keyword argument; one without works for every
    clinic, so every clinic's admin sees its failures (the page shows no patient's data)."""
    kwargs = "args_kwargs__kwargs__"
    rows = (
        DBTaskResult.objects.filter(status=TaskResultStatus.FAILED)
        .filter(Q(**{f"{kwargs}clinic_id": clinic.pk}) | ~Q(**{f"{kwargs}has_key": "clinic_id"}))
        .order_by("-finished_at")[:SHOWN]
    )
    return [
        FailedJob(
            what=_what(row.task_path),
            enqueued_at=row.enqueued_at,
            failed_at=row.finished_at,
            attempts=len(row.worker_ids),
            error=shown_error(row.exception_class_path, row.traceback),
            system_wide="clinic_id" not in row.args_kwargs["kwargs"],
        )
        for row in rows
    ]


def _what(task_path: str) -> str:
    """The first line of the task's docstring (which says what the job does), else its name."""
    try:
        doc = import_string(task_path).func.__doc__ or ""
    except (ImportError, AttributeError):
        doc = ""
    return doc.strip().splitlines()[0] if doc.strip() else task_path.rsplit(".", 1)[-1]
