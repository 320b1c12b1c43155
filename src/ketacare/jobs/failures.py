"""How a job that raised is retried, and what of its error a clinic admin is shown."""

from datetime import timedelta

from django.conf import settings
from django.utils.module_loading import import_string


class JobError(Exception):
    """A job's failure described for the failed-jobs page: its message is shown to the clinic
    admin, so it must say what went wrong without naming a patient or their health ("The SMS
    gateway refused the message (HTTP 503)"). Any other exception is shown by its class only,
    since its message may quote a row."""

    def __init__(self, message: str) -> None:
        # One line: the page reads the message back from the last line of the traceback.
        super().__init__(" ".join(message.split()))


def retry_delay(attempts: int) -> timedelta | None:
    """The wait before the next attempt of a job that has raised ``attempts`` times, or None
    when that was the last attempt (``KETACARE_JOB_RETRY_DELAYS``)."""
    delays: list[int] = settings.KETACARE_JOB_RETRY_DELAYS
    if 1 <= attempts <= len(delays):
        return timedelta(seconds=delays[attempts - 1])
    return None


def shown_error(exception_class_path: str, traceback: str) -> str:
    """The error as the failed-jobs page shows it: a ``JobError``'s message; for any other
    exception its class name only (the worker's log has the traceback)."""
    name = exception_class_path.rsplit(".", 1)[-1] or "Unknown error"
    try:
        exception_class = import_string(exception_class_path)
    except ImportError:
        return name
    lines = traceback.strip().splitlines()
    if isinstance(exception_class, type) and issubclass(exception_class, JobError) and lines:
        return lines[-1].partition(": ")[2] or name
    return f"{name} (details in the worker's log)"
