"""Concurrent writers on PostgreSQL: many threads, each with its own database connection,
released together by a barrier, race for the same stock. The registration's row lock must
serialize them so that the stock is never over-dispensed, the balance never goes below zero,
every loser gets a clean refusal, and the hash chain stays unbroken (consecutive sequences,
each entry naming its true predecessor). And ``verify()`` running while a dispense commits
does not mistake that write for tampering.

SQLite serializes whole transactions (BEGIN IMMEDIATE) rather than blocking on row locks, so
these tests only run on PostgreSQL.
"""

import itertools
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections

from ketacare.inventory import actions, chain
from ketacare.inventory.actions import StockError
from ketacare.inventory.chain import ledger_sums, verify
from ketacare.inventory.models import LedgerEntry, Registration, StockBalance
from tests.inventory.conftest import as_nurse, dispense, witness
from tests.postgresql_locks import postgresql_only, waits_on_a_lock  # noqa: F401 (fixture)

THREADS = 16
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgresql_only")]


def race(work, count: int = THREADS) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released together; each outcome is the return
    value or the exception raised, with the thread's database backend pid."""
    start = threading.Barrier(count, timeout=30)
    outcomes: list[object] = [None] * count
    backends: list[int | None] = [None] * count

    def run(i: int) -> None:
        try:
            with connection.cursor() as cursor:  # this thread's own connection
                cursor.execute("SELECT pg_backend_pid()")
                backends[i] = cursor.fetchone()[0]
            start.wait()
            outcomes[i] = work(i)
        except Exception as problem:  # every outcome is examined by the test
            outcomes[i] = problem
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"writer-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer is still running (deadlock?)"
    assert None not in backends and len(set(backends)) == count, (
        f"the threads did not each have their own connection: {backends}"
    )
    return outcomes


def assert_chain_unbroken(registration: Registration) -> None:
    registration.refresh_from_db()
    entries = list(LedgerEntry.objects.filter(registration=registration).order_by("sequence"))
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert (registration.last_sequence, registration.last_hash) == (
        entries[-1].sequence,
        entries[-1].hash,
    )
    assert verify([registration]) == []


def test_sixteen_dispenses_race_for_ten_doses_of_stock(
    registration, lot, safe, patient, nurse, clinic
):
    """The lot holds 100 mL; sixteen nurses each take 10 mL at the same moment."""
    who = as_nurse(nurse, clinic)
    assert StockBalance.objects.get(lot=lot, location=safe).quantity_units == 100

    outcomes = race(lambda i: dispense(who, registration, lot, safe, patient, units="10"))

    dispensed = [o for o in outcomes if isinstance(o, LedgerEntry)]
    refused = [o for o in outcomes if isinstance(o, StockError)]
    other = [o for o in outcomes if not isinstance(o, LedgerEntry | StockError)]
    assert other == [], f"unexpected outcomes: {other!r}"
    assert len(dispensed) == 10
    assert len(refused) == THREADS - 10
    for problem in refused:
        assert str(problem).startswith("Insufficient stock"), str(problem)
    assert StockBalance.objects.get(lot=lot, location=safe).quantity_units == 0
    assert ledger_sums(registration)[lot.pk, safe.pk] == 0
    assert LedgerEntry.objects.filter(kind="dispense").count() == 10
    assert sorted(e.sequence for e in dispensed) == list(range(2, 12))  # after the receipt
    assert_chain_unbroken(registration)


def test_racing_wastes_never_exceed_what_the_dose_left(
    registration, lot, safe, patient, nurse, prescriber, clinic
):
    """A 10 mL (500 mg) dispense with a 35 mg dose leaves 465 mg; sixteen witnessed wastes
    of 1 mL (50 mg) race for it: nine fit, seven are refused."""
    who = as_nurse(nurse, clinic)
    out = dispense(who, registration, lot, safe, patient, units="10", dose_mg="35")

    outcomes = race(
        lambda i: actions.waste(
            who,
            registration.pk,
            dispense_id=out.pk,
            units="1",
            reason="Remainder of single-dose vial, sharps bin",
            witness=witness(prescriber),
        )
    )

    wasted = [o for o in outcomes if isinstance(o, LedgerEntry)]
    refused = [o for o in outcomes if isinstance(o, StockError)]
    other = [o for o in outcomes if not isinstance(o, LedgerEntry | StockError)]
    assert other == [], f"unexpected outcomes: {other!r}"
    assert len(wasted) == 9
    assert len(refused) == THREADS - 9
    for problem in refused:
        assert str(problem).startswith("Only "), str(problem)
    total = sum(e.quantity_mg for e in LedgerEntry.objects.filter(dispense=out, kind="waste"))
    assert total == Decimal(450)
    assert total + out.dose_mg <= out.quantity_mg
    assert StockBalance.objects.get(lot=lot, location=safe).quantity_units == 90
    assert_chain_unbroken(registration)


def test_racing_transfers_and_dispenses_keep_both_balances(
    registration, lot, safe, cabinet, patient, nurse, clinic
):
    """Half the threads move 10 mL from the safe to the cabinet, half dispense 10 mL from the
    safe, all at once: whatever the order, ten movements fit and nothing goes negative."""
    who = as_nurse(nurse, clinic)

    def work(i: int) -> LedgerEntry:
        if i % 2:
            return actions.transfer(
                who,
                registration.pk,
                lot_id=lot.pk,
                from_location_id=safe.pk,
                to_location_id=cabinet.pk,
                units="10",
            )
        return dispense(who, registration, lot, safe, patient, units="10")

    outcomes = race(work)

    done = [o for o in outcomes if isinstance(o, LedgerEntry)]
    refused = [o for o in outcomes if isinstance(o, StockError)]
    other = [o for o in outcomes if not isinstance(o, LedgerEntry | StockError)]
    assert other == [], f"unexpected outcomes: {other!r}"
    assert len(done) == 10
    assert len(refused) == THREADS - 10
    assert all(str(problem).startswith("Insufficient stock") for problem in refused), refused
    transfers = sum(1 for e in done if e.kind == "transfer")
    assert StockBalance.objects.get(lot=lot, location=safe).quantity_units == 0
    assert StockBalance.objects.get(lot=lot, location=cabinet).quantity_units == 10 * transfers
    assert_chain_unbroken(registration)


def test_a_dispense_committed_while_verify_runs_is_not_reported(
    registration, lot, safe, patient, nurse, clinic, monkeypatch
):
    """verify() adds up the entries, then reads the stored balances. A dispense by another
    user committing between the two reads is an ordinary write, not a tampered balance."""
    who = as_nurse(nurse, clinic)
    sums_read = threading.Event()
    writer_stopped = threading.Event()  # waiting for a lock, or done
    real_sums = chain.ledger_sums

    def sums_then_the_writer(checked):
        sums = real_sums(checked)
        if threading.current_thread().name == "verifier":
            sums_read.set()
            # The balances are read only once the writer has committed or is held back.
            assert writer_stopped.wait(timeout=60)
        return sums

    monkeypatch.setattr(chain, "ledger_sums", sums_then_the_writer)
    outcomes: dict[str, object] = {}
    writer_pid: list[int] = []
    writer_ready = threading.Event()
    written = threading.Event()

    def verifier() -> None:
        try:
            outcomes["verify"] = verify([registration])
        except Exception as problem:
            outcomes["verify"] = problem
        finally:
            connections.close_all()

    def writer() -> None:
        try:
            with connection.cursor() as cursor:  # this thread's own connection
                cursor.execute("SELECT pg_backend_pid()")
                writer_pid.append(cursor.fetchone()[0])
            writer_ready.set()
            assert sums_read.wait(timeout=30)
            outcomes["dispense"] = dispense(who, registration, lot, safe, patient, units="10")
        except Exception as problem:
            outcomes["dispense"] = problem
        finally:
            written.set()
            connections.close_all()

    threads = [threading.Thread(target=verifier, name="verifier"), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    try:
        assert writer_ready.wait(timeout=30) and sums_read.wait(timeout=30)
        # PostgreSQL shows the writer's backend waiting for a lock (verify's, on the
        # registration) once it is blocked; without that lock it commits instead. Polled from
        # this thread's connection, outside any transaction, so each query sees the backends anew.
        deadline = time.monotonic() + 30
        held = False
        while not (held or written.is_set()):
            assert time.monotonic() < deadline, "the writer neither committed nor waited"
            held = waits_on_a_lock(writer_pid[0])
            if not held:
                time.sleep(0.005)
    finally:
        writer_stopped.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert isinstance(outcomes["dispense"], LedgerEntry), outcomes["dispense"]
    problems = outcomes["verify"]
    assert problems == [], [p.message for p in problems] if isinstance(problems, list) else problems
    assert StockBalance.objects.get(lot=lot, location=safe).quantity_units == 90
    assert_chain_unbroken(registration)
