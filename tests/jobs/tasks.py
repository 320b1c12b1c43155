"""Jobs for the tests: the worker imports them by their path, as it does ketacare's."""

import threading

from django_tasks import task

from ketacare.jobs.failures import JobError


@task()
def gateway_down(clinic_id: int) -> None:
    """Send the clinic's messages through a gateway that is down"""
    raise JobError("The SMS gateway did not answer (HTTP 503).")


@task()
def quotes_a_patient(clinic_id: int) -> None:
    """Fail with a message that names a patient"""
    raise ValueError("Ada Lovelace, MRN 1000001: PHQ-9 item 9 answered 3")


@task()
def everywhere() -> None:
    """A job of no clinic that fails"""
    raise JobError("The database was read-only.")


@task()
def add(a: int, b: int) -> int:
    return a + b


# Set by ``add_and_tell`` in the worker's thread, for a test running the worker in a thread.
ADDED = threading.Event()


@task()
def add_and_tell(a: int, b: int) -> int:
    ADDED.set()
    return a + b
