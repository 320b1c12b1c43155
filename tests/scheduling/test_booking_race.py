"""Two coordinators book the last free slot of a chair at the same moment, each on their own
database connection: the book's lock (the clinic's row) makes the second wait until the first
has committed, so its check sees the first booking and it is refused with a message — never two
appointments in one chair.

The check is held open in the first writer until the second is seen waiting for the lock (or
has checked too, which only happens without the lock, and then the test fails). SQLite
serializes whole transactions rather than blocking on row locks, so this runs on PostgreSQL."""

import threading
import time

import pytest
from django.db import connection, connections

from ketacare.accounts.permissions import Role
from ketacare.scheduling.actions import SchedulingError, appointments
from ketacare.scheduling.models import Appointment
from tests.conftest import actor
from tests.postgresql_locks import postgresql_only, waits_on_a_lock  # noqa: F401 (fixture)
from tests.scheduling.conftest import MONDAY, NOW, at, book

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgresql_only")]


def test_two_coordinators_booking_the_last_slot_at_once_one_wins(
    booker, nurse, clinic, chair, patient, monkeypatch
):
    writers = {"coordinator": booker, "nurse": actor(nurse, clinic, Role.NURSE).at(NOW)}
    checked: list[str] = []
    first_checked, release = threading.Event(), threading.Event()
    real_check = appointments.placing_problems

    def held_after_checking(*args, **kwargs):
        answer = real_check(*args, **kwargs)
        checked.append(threading.current_thread().name)
        if len(checked) == 1:
            first_checked.set()
            assert release.wait(timeout=30)
        return answer

    monkeypatch.setattr(appointments, "placing_problems", held_after_checking)
    start = threading.Barrier(len(writers), timeout=30)
    outcomes: dict[str, object] = {}
    pids: dict[str, int] = {}

    def write(name: str) -> None:
        try:
            with connection.cursor() as cursor:  # this thread's own connection
                cursor.execute("SELECT pg_backend_pid()")
                pids[name] = cursor.fetchone()[0]
            start.wait()
            outcomes[name] = book(writers[name], patient, chair, at(MONDAY, 9))
        except Exception as problem:  # every outcome is examined by the test
            outcomes[name] = problem
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(name,), name=name) for name in writers]
    for thread in threads:
        thread.start()
    try:
        assert first_checked.wait(timeout=30)
        # The other writer is held at the chair's lock — or, without one, checks too.
        waiting = [pid for name, pid in pids.items() if name != checked[0]]
        deadline = time.monotonic() + 30
        while len(checked) < 2:
            assert time.monotonic() < deadline, "the second writer neither waited nor checked"
            if waits_on_a_lock(waiting[0]):
                break
            time.sleep(0.005)
    finally:
        release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer is still running (deadlock?)"

    booked = [o for o in outcomes.values() if isinstance(o, Appointment)]
    refused = [o for o in outcomes.values() if isinstance(o, SchedulingError)]
    assert (len(booked), len(refused)) == (1, 1), outcomes
    assert str(refused[0]) == (
        "Chair 1 is taken 09:00–11:15, with 15 minutes to turn the chair round. "
        "The patient already has an appointment 09:00–11:00."
    )
    assert Appointment.objects.get() == booked[0]
