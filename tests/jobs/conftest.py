import datetime as dt

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

START = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


def run_worker() -> None:
    """`ketacare worker --batch`: every job due now, then exit."""
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)


def row(result) -> DBTaskResult:
    return DBTaskResult.objects.get(pk=result.id)


@pytest.fixture
def no_periodic_jobs(settings):
    """Without the hourly dispatch, so that only the test's jobs run."""
    settings.KETACARE_PERIODIC_JOBS = {}
