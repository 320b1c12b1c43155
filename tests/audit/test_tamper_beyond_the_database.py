"""Tampering that rewrites the database consistently — the rows, their digests and the chain
head together — is still named by `ketacare audit verify`, because the evidence lives outside
the database: the digests are keyed with the audit key, and signed checkpoints of the chain
heads are appended to a file the database cannot rewrite (issue 13).

Each scenario passed `audit verify` before keyed chains and checkpoints.
"""

import hashlib
import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ketacare.accounts.actions import create_clinic
from ketacare.actor import SYSTEM, Actor
from ketacare.audit.chain import GENESIS_HASH, canonical, event_digest
from ketacare.audit.models import AuditEvent
from ketacare.audit.record import Action, record
from ketacare.audit.verify import verify_chain
from tests.conftest import actor


def names_event(message: str, event_id: int) -> bool:
    return re.search(rf"#{event_id}\b", message) is not None


def sha256_digest(event: AuditEvent, prev_hash: str) -> str:
    """The unkeyed digest anyone can compute: canonical JSON of the content and the link."""
    payload = {key: canonical(value) for key, value in event.content().items()}
    payload["prev_hash"] = prev_hash
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def keyed_digest(event: AuditEvent, prev_hash: str) -> str:
    """What someone who also stole the audit key could compute."""
    return event_digest(event.content(), prev_hash)


def rewind_head(newest: AuditEvent, to: AuditEvent, removed: int) -> None:
    """Point the chain head that names ``newest`` at ``to`` instead, as if the events after
    ``to`` had never been written (no trigger guards an UPDATE of the head)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_chainhead SET last_event_id = %s, last_hash = %s, "
            "event_count = event_count - %s WHERE last_event_id = %s",
            [to.pk, to.hash, removed, newest.pk],
        )
        assert cursor.rowcount == 1


def rehash(tamper, events: list[AuditEvent], digest) -> None:
    """Re-link and re-hash every event in order, and move the head to the new last digest."""
    prev = GENESIS_HASH
    for event in events:
        event.prev_hash = prev
        event.hash = digest(event, prev)
        tamper.update(event.pk, prev_hash=prev, hash=event.hash)
        prev = event.hash
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_chainhead SET last_hash = %s WHERE last_event_id = %s",
            [prev, events[-1].pk],
        )
        assert cursor.rowcount == 1


def edit_middle(tamper, events: list[AuditEvent]) -> AuditEvent:
    target = events[len(events) // 2]
    target.action = "view"
    target.changes = {"family_name": {"old": None, "new": "Someone Else"}}
    tamper.update(target.pk, action=target.action, changes=target.changes)
    return target


@pytest.fixture
def log(busy_log):
    # One clinic's events: on one chain, whether chains are per clinic or not.
    assert len({e.clinic_id for e in busy_log}) == 1
    assert verify_chain().ok
    return busy_log


def nightly_verify() -> None:
    """`ketacare audit verify` as cron runs it: it passes, and checkpoints the heads."""
    call_command("audit", "verify", stdout=StringIO())


# --- the newest events removed and the head rewound with them ---------------------------------


@pytest.mark.parametrize("removed", [1, 3])
def test_tail_deleted_with_a_rewound_head_is_named_by_the_checkpoint(log, tamper, removed):
    nightly_verify()
    tamper.delete(*(e.pk for e in log[-removed:]))
    new_last = log[-removed - 1]
    rewind_head(log[-1], to=new_last, removed=removed)
    verdict = verify_chain()
    assert not verdict.ok, "a rewound head must not pass once a checkpoint recorded more"
    assert "removed from the end and the chain head rewound" in verdict.message
    assert names_event(verdict.message, log[-1].pk), verdict.message
    assert names_event(verdict.message, new_last.pk), verdict.message
    assert verdict.broken_event_id == log[-1].pk
    with pytest.raises(CommandError, match="rewound"):
        call_command("audit", "verify")


def test_tail_deletion_is_named_by_an_automatic_checkpoint(
    clinic, nurse, patient, tamper, settings, django_capture_on_commit_callbacks
):
    """No verify run in between: the chain checkpoints itself every N events."""
    settings.KETACARE_CHECKPOINT_EVERY = 4
    who = actor(nurse, clinic)
    with django_capture_on_commit_callbacks(execute=True):
        views = [record(who, Action.VIEW, obj=patient, patient=patient) for _ in range(9)]
    assert verify_chain().ok
    # Any 4 consecutive events include one whose count was a multiple of 4.
    tamper.delete(*(e.pk for e in views[-4:]))
    rewind_head(views[-1], to=views[-5], removed=4)
    verdict = verify_chain()
    assert not verdict.ok
    assert "chain head rewound" in verdict.message
    assert names_event(verdict.message, views[-5].pk), verdict.message


def test_the_whole_chain_deleted_is_named_by_the_checkpoint(log, tamper):
    nightly_verify()
    tamper.delete(*(e.pk for e in log))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_chainhead SET last_event_id = 0, last_hash = %s, event_count = 0 "
            "WHERE last_event_id = %s",
            [GENESIS_HASH, log[-1].pk],
        )
    verdict = verify_chain()
    assert not verdict.ok
    assert "ends at its start (0 events)" in verdict.message
    assert names_event(verdict.message, log[-1].pk)


# --- an event edited and every event re-hashed --------------------------------------------------


def test_an_edit_with_the_whole_chain_rehashed_without_the_key_is_named(log, tamper):
    edit_middle(tamper, log)
    rehash(tamper, log, sha256_digest)
    verdict = verify_chain()
    assert not verdict.ok, "a chain re-hashed with plain SHA-256 must not verify"
    assert "re-hashed without the audit key" in verdict.message
    assert names_event(verdict.message, log[0].pk), verdict.message
    assert verdict.broken_event_id == log[0].pk
    with pytest.raises(CommandError, match="without the audit key"):
        call_command("audit", "verify")


def test_an_edit_rehashed_with_a_guessed_key_is_named(log, tamper, settings):
    edit_middle(tamper, log)
    real_key = settings.KETACARE_AUDIT_KEY
    settings.KETACARE_AUDIT_KEY = "a guess"
    rehash(tamper, log, keyed_digest)
    settings.KETACARE_AUDIT_KEY = real_key
    verdict = verify_chain()
    assert not verdict.ok
    assert f"Audit event #{log[0].pk} was altered" in verdict.message


def test_an_edit_rehashed_with_the_stolen_key_is_named_by_the_checkpoint(log, tamper):
    """Someone with the database and the key: the chain is consistent again, but it is not
    the chain the checkpoint signed."""
    nightly_verify()
    target = edit_middle(tamper, log)
    rehash(tamper, log, keyed_digest)
    assert AuditEvent.objects.get(pk=target.pk).compute_hash() == (
        AuditEvent.objects.get(pk=target.pk).hash
    )
    verdict = verify_chain()
    assert not verdict.ok
    assert "recorded another digest" in verdict.message
    assert names_event(verdict.message, log[-1].pk)


# --- the checkpoint file itself ------------------------------------------------------------------


def checkpoint_file(settings):
    return settings.KETACARE_CHECKPOINT_DIR / "audit.log"


def test_verify_checkpoints_the_heads_it_verified(log, settings):
    nightly_verify()
    lines = checkpoint_file(settings).read_text().splitlines()
    fields = json.loads(lines[-1])
    assert (fields["last_id"], fields["hash"]) == (log[-1].pk, log[-1].hash)
    assert fields["count"] == len(log)
    assert checkpoint_file(settings).stat().st_mode & 0o777 == 0o600
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "1 checkpoint matched" in out.getvalue()


def test_the_checkpoint_command_appends_every_head(log, settings, outsider, other_clinic):
    record(SYSTEM, Action.VIEW, object_type="audit_log")
    call_command("audit", "checkpoint", stdout=StringIO())
    chains = [json.loads(line)["chain"] for line in checkpoint_file(settings).read_text().split()]
    assert chains == ["installation", f"clinic:{log[-1].clinic_id}", f"clinic:{other_clinic.pk}"]
    assert verify_chain().checkpoints_matched == 3


def test_an_edited_checkpoint_line_is_named(log, settings):
    nightly_verify()
    path = checkpoint_file(settings)
    fields = json.loads(path.read_text())
    fields["last_id"] -= 1  # someone trims the evidence to match a shortened log
    path.write_text(json.dumps(fields) + "\n")
    verdict = verify_chain()
    assert not verdict.ok
    assert "line 1 does not carry a valid signature" in verdict.message


def test_another_key_is_named(log, settings):
    nightly_verify()
    settings.KETACARE_AUDIT_KEY = "a new key, the old one lost"
    verdict = verify_chain()
    assert not verdict.ok
    assert "was signed with audit key" in verdict.message
    assert "not with this installation's key" in verdict.message


def test_a_checkpoint_of_a_chain_whose_head_was_removed_is_named(log, tamper, settings):
    nightly_verify()
    fields = json.loads(checkpoint_file(settings).read_text())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_chainhead DISABLE TRIGGER audit_head_no_delete")
        else:
            cursor.execute("DROP TRIGGER audit_head_no_delete")
        cursor.execute("DELETE FROM audit_chainhead WHERE last_event_id = %s", [log[-1].pk])
    tamper.delete(*(e.pk for e in log))
    verdict = verify_chain()
    assert not verdict.ok
    assert f"records audit chain {fields['chain']}" in verdict.message
    assert "has no head" in verdict.message


# --- an installation upgraded from unkeyed chains ------------------------------------------


def upgraded_log(tamper) -> list[AuditEvent]:
    """Events as the unkeyed code wrote them (plain SHA-256 on the installation's chain),
    sealed as migration audit 0007 seals them on upgrade."""
    from django.apps import apps

    migration = __import__(
        "ketacare.audit.migrations.0007_per_clinic_keyed_chains", fromlist=["seal"]
    )
    events = [record(SYSTEM, Action.VIEW, object_type="audit_log") for _ in range(5)]
    rehash(tamper, events, sha256_digest)
    migration.seal_legacy_events(apps, None)
    return events


def test_events_from_before_keyed_chains_still_verify(tamper):
    old = upgraded_log(tamper)
    assert AuditEvent.objects.get(pk=old[-1].pk).legacy_hash() == old[-1].hash
    # After the upgrade: keyed events on the installation's chain and a clinic's.
    newer = record(SYSTEM, Action.VIEW, object_type="audit_log")
    assert newer.prev_hash == old[-1].hash
    clinic = create_clinic(SYSTEM, "Opened after the upgrade")
    record(Actor(user=None, role="system", clinic=clinic), Action.VIEW, object_type="clinic")
    verdict = verify_chain()
    assert verdict.ok, verdict.message
    assert verdict.checked == AuditEvent.objects.count()


def test_unkeyed_events_cannot_be_rewritten_after_the_seal(tamper):
    old = upgraded_log(tamper)
    edit_middle(tamper, old)
    rehash(tamper, old, sha256_digest)
    verdict = verify_chain()
    assert not verdict.ok
    assert f"Audit event #{old[-1].pk}, the last written before keyed chains" in verdict.message


def test_no_unkeyed_event_may_follow_the_seal(tamper):
    old = upgraded_log(tamper)
    newer = [record(SYSTEM, Action.VIEW, object_type="audit_log") for _ in range(2)]
    everything = [*old, *newer]
    rehash(tamper, everything, sha256_digest)
    verdict = verify_chain()
    assert not verdict.ok
    assert "re-hashed without the audit key" in verdict.message
    assert names_event(verdict.message, newer[0].pk)


def test_a_removed_seal_is_named(tamper):
    old = upgraded_log(tamper)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_chainhead SET legacy_seal = '' WHERE id = 1")
    verdict = verify_chain()
    assert not verdict.ok
    assert "seal over the audit events written before keyed chains" in verdict.message
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_chainhead SET legacy_event_id = NULL, legacy_hash = '' WHERE id = 1"
        )
    verdict = verify_chain()
    assert not verdict.ok
    assert f"Audit event #{old[0].pk} carries an unkeyed SHA-256 digest" in verdict.message
