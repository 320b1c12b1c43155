"""Someone with the database password edits the log below the application; `ketacare audit
verify` notices and names the first event that does not fit.

The ``tamper`` fixture (conftest.py) bypasses the append-only trigger the way a database owner
could: DISABLE TRIGGER on PostgreSQL, DROP TRIGGER on SQLite.
"""

import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from ketacare.actor import SYSTEM
from ketacare.audit.models import AuditEvent
from ketacare.audit.record import Action, record
from ketacare.audit.verify import verify_chain

from .conftest import TRIGGER, trigger_active


def names_event(message: str, event_id: int) -> bool:
    return re.search(rf"#{event_id}\b", message) is not None


def assert_verify_fails_at(event_id: int, *, says: str) -> str:
    """Both the function and the management command report the failure at ``event_id``."""
    verdict = verify_chain()
    assert not verdict.ok
    assert verdict.broken_event_id == event_id, verdict.message
    assert names_event(verdict.message, event_id), verdict.message
    assert says in verdict.message
    with pytest.raises(CommandError) as excinfo:
        call_command("audit", "verify")
    assert names_event(str(excinfo.value), event_id), str(excinfo.value)
    assert str(excinfo.value) == verdict.message
    return verdict.message


@pytest.fixture
def log(busy_log):
    assert verify_chain().ok, "the log should verify before anyone touches it"
    return busy_log


def middle(events):
    return events[len(events) // 2]


# (a) One field of a middle event altered in place.


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action", "view"),
        ("changes", {"family_name": {"old": None, "new": "Someone Else"}}),
        ("actor_username", "prescriber"),
        ("role", "clinic_admin"),
        ("ip", "10.9.8.7"),
        ("object_id", "424242"),
    ],
)
def test_altered_field_is_named(log, tamper, field, value):
    target = middle(log)
    assert getattr(target, field) != value
    tamper.update(target.pk, **{field: value})
    assert getattr(AuditEvent.objects.get(pk=target.pk), field) == value
    assert_verify_fails_at(target.pk, says="was altered")


def test_altered_timestamp_is_named(log, tamper):
    target = middle(log)
    tamper.update(target.pk, occurred_at=target.occurred_at - timedelta(days=3))
    assert_verify_fails_at(target.pk, says="was altered")


def test_altered_patient_link_is_named(log, tamper):
    patients = [e.patient_id for e in log if e.patient_id]
    target = next(e for e in log if e.patient_id == patients[0])
    other = next(p for p in patients if p != target.patient_id)
    tamper.update(target.pk, patient=other)
    assert_verify_fails_at(target.pk, says="was altered")


def test_altered_first_event_is_named(log, tamper):
    first = log[0]
    tamper.update(first.pk, action="view")
    assert_verify_fails_at(first.pk, says="was altered")


def test_altered_last_event_is_named(log, tamper):
    last = log[-1]
    tamper.update(last.pk, changes={})
    assert_verify_fails_at(last.pk, says="was altered")


# (b) A middle event removed.


def test_deleted_event_is_reported_at_the_next_one(log, tamper):
    index = len(log) // 2
    removed, following = log[index], log[index + 1]
    tamper.delete(removed.pk)
    message = assert_verify_fails_at(following.pk, says="does not link to")
    assert names_event(message, log[index - 1].pk)


def test_deleted_first_event_is_reported_at_the_second(log, tamper):
    tamper.delete(log[0].pk)
    assert_verify_fails_at(log[1].pk, says="does not link to")


# (c) A forged event inserted.


def forged_after(previous: AuditEvent, new_id: int) -> AuditEvent:
    """A plausible event chained to ``previous`` with a self-consistent hash."""
    forged = AuditEvent(
        id=new_id,
        occurred_at=previous.occurred_at + timedelta(seconds=1),
        actor_id=previous.actor_id,
        actor_username=previous.actor_username,
        role=previous.role,
        clinic_id=previous.clinic_id,
        action="view",
        object_type="patient",
        object_id=str(previous.patient_id or ""),
        patient_id=previous.patient_id,
        ip="127.0.0.1",
        changes={},
        prev_hash=previous.hash,
    )
    forged.hash = forged.compute_hash()
    return forged


def test_forged_event_in_the_middle_breaks_the_next_link(log, tamper):
    index = len(log) // 2
    before, after = log[index], log[index + 1]
    tamper.shift_ids_after(before.pk, by=1)  # make room for one row after `before`
    tamper.insert(forged_after(before, before.pk + 1))
    assert AuditEvent.objects.filter(pk=before.pk + 1, action="view").exists()
    # `after` now has id +1 and still links to `before`, not to the forged event.
    message = assert_verify_fails_at(after.pk + 1, says="does not link to")
    assert names_event(message, before.pk + 1)


def test_forged_event_at_the_end_is_caught_by_the_chain_head(log, tamper):
    last = log[-1]
    tamper.insert(forged_after(last, last.pk + 1))
    verdict = verify_chain()
    assert not verdict.ok
    # Events up to the head check out; the forged one lies beyond it.
    assert verdict.checked == len(log)
    assert names_event(verdict.message, last.pk + 1)
    assert names_event(verdict.message, last.pk)
    assert verdict.broken_event_id == last.pk + 1
    with pytest.raises(CommandError, match="chain head"):
        call_command("audit", "verify")


def test_forged_event_with_a_made_up_link_is_named(log, tamper):
    last = log[-1]
    forged = forged_after(last, last.pk + 1)
    forged.prev_hash = "a" * 64
    forged.hash = forged.compute_hash()
    tamper.insert(forged)
    assert_verify_fails_at(last.pk + 1, says="beyond the chain head")


# (d) The newest events removed.


@pytest.mark.parametrize("removed", [1, 3])
def test_deleted_last_events_are_caught_by_the_chain_head(log, tamper, removed):
    tamper.delete(*(e.pk for e in log[-removed:]))
    new_last = log[-removed - 1]
    verdict = verify_chain()
    assert not verdict.ok
    assert verdict.checked == len(log) - removed
    assert "removed from the end" in verdict.message
    assert names_event(verdict.message, new_last.pk)
    assert names_event(verdict.message, log[-1].pk)
    assert verdict.broken_event_id == log[-1].pk
    with pytest.raises(CommandError, match="chain head"):
        call_command("audit", "verify")


# (e) A row altered and its own hash recomputed.


def test_rehashed_middle_event_breaks_the_next_link(log, tamper):
    index = len(log) // 2
    target, following = log[index], log[index + 1]
    target.changes = {"family_name": {"old": None, "new": "Forged"}}
    target.action = "view"
    new_hash = target.compute_hash()
    tamper.update(target.pk, changes=target.changes, action="view", hash=new_hash)
    # The altered row is self-consistent now; the break shows at the next event's link.
    assert AuditEvent.objects.get(pk=target.pk).compute_hash() == new_hash
    message = assert_verify_fails_at(following.pk, says="does not link to")
    assert names_event(message, target.pk)


def test_rehashed_last_event_is_caught_by_the_chain_head(log, tamper):
    last = log[-1]
    last.action = "view"
    tamper.update(last.pk, action="view", hash=last.compute_hash())
    verdict = verify_chain()
    assert not verdict.ok
    assert verdict.checked == len(log)
    with pytest.raises(CommandError):
        call_command("audit", "verify")


# The bypass itself stays inside the test.


def test_trigger_bypass_is_rolled_back_with_the_transaction(log):
    assert trigger_active()
    with pytest.raises(RuntimeError), transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {TRIGGER}")
            else:
                cursor.execute(f"DROP TRIGGER {TRIGGER}")
        assert not trigger_active()
        raise RuntimeError("roll back the savepoint")
    assert trigger_active()


def test_trigger_is_back_after_the_tamper_tests(log):
    """Runs after the tests above in this module: none of their bypasses leaked."""
    assert trigger_active()
    assert verify_chain().ok


def test_event_written_during_the_walk_is_not_reported(log, monkeypatch):
    # An ordinary write between reading the head and finishing the walk is no tampering.
    original = AuditEvent.compute_hash
    written = []

    def check_and_write_once(event):
        if not written:
            written.append(True)
            record(SYSTEM, Action.VIEW, object_type="audit_log")
        return original(event)

    monkeypatch.setattr(AuditEvent, "compute_hash", check_and_write_once)
    verdict = verify_chain()
    assert written
    assert verdict.ok, verdict.message
    assert verdict.checked == len(log)
