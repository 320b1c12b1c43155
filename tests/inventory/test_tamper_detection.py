"""Someone with the database owner's rights edits the controlled-substance ledger below the
application; ``ketacare inventory verify`` notices and names the first entry that does not fit
(or the balance that does not add up), and exits non-zero.

The tamperer takes the append-only trigger out of the way for their own statement only:
``ALTER TABLE ... DISABLE TRIGGER`` and ``ENABLE`` again on PostgreSQL; on SQLite, where a
trigger cannot be disabled, ``DROP TRIGGER`` and the same ``CREATE TRIGGER`` again. Either
way the trigger is back in place before anything is verified.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from ketacare.inventory import actions
from ketacare.inventory.chain import entry_digest, ledger_sums, verify
from ketacare.inventory.models import LedgerEntry, Registration, StockBalance
from tests.inventory.conftest import DEA_NUMBER, as_nurse, dispense, witness

TABLE = LedgerEntry._meta.db_table
TRIGGER = "inventory_ledger_entry"  # migration inventory 0002
BALANCES = StockBalance._meta.db_table


def trigger_active() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgenabled FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
                [TRIGGER, TABLE],
            )
            row = cursor.fetchone()
            return row is not None and row[0] != "D"
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s AND tbl_name = %s",
            [TRIGGER, TABLE],
        )
        return cursor.fetchone() is not None


@contextmanager
def owner_bypass():
    """The append-only trigger out of the way for the statements inside, and back after."""
    assert trigger_active(), "the append-only trigger should be in place before the bypass"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED; PostgreSQL refuses ALTER
            # TABLE while the transaction still has their checks pending. Run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        elif connection.vendor == "sqlite":
            # One trigger for UPDATE, one for DELETE (migration 0003).
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s)",
                [TRIGGER, f"{TRIGGER}_no_delete"],
            )
            found = cursor.fetchall()
            creates = [sql for _, sql in found]
            for name, _ in found:
                cursor.execute(f"DROP TRIGGER {name}")
        else:  # pragma: no cover
            pytest.skip(f"no tamper recipe for {connection.vendor}")
    assert not trigger_active()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
            else:
                for create in creates:
                    cursor.execute(create)
    assert trigger_active()


def _db(field: str, value: object) -> object:
    return LedgerEntry._meta.get_field(field).get_db_prep_save(value, connection)


def tamper_update(entry: LedgerEntry, **values: object) -> None:
    quote = connection.ops.quote_name
    columns = [f"{quote(LedgerEntry._meta.get_field(name).column)} = %s" for name in values]
    with transaction.atomic(), owner_bypass(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET {', '.join(columns)} WHERE id = %s",
            [*(_db(n, v) for n, v in values.items()), entry.pk],
        )
        assert cursor.rowcount == 1


def tamper_delete(entry: LedgerEntry) -> None:
    with transaction.atomic(), owner_bypass(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])
        assert cursor.rowcount == 1


def names_entry(message: str, sequence: int) -> bool:
    return re.search(rf"\bentry #{sequence}\b", message) is not None


def verify_fails(*, says: str, entry: int | None = None) -> str:
    """verify() and the management command both report the problem; returns the message."""
    problems = verify(Registration.objects.all())
    assert len(problems) == 1, problems
    message = problems[0].message
    assert says in message, message
    if entry is not None:
        assert names_entry(message, entry), message
    with pytest.raises(CommandError) as failure:
        call_command("inventory", "verify")
    assert str(failure.value) == f"{DEA_NUMBER}: {message}"
    return message


@pytest.fixture
def ledger(registration, lot, safe, cabinet, patient, nurse, prescriber, clinic):
    """Six entries written by the real actions:
    #1 receipt 100 mL into the safe, #2 transfer 20 mL to the cabinet, #3 dispense 10 mL from
    the safe (35 mg dose), #4 waste 2 mL of it, #5 dispense 10 mL from the cabinet, #6 its
    reversal. Safe 70 mL, cabinet 20 mL."""
    who = as_nurse(nurse, clinic)
    actions.transfer(
        who,
        registration.pk,
        lot_id=lot.pk,
        from_location_id=safe.pk,
        to_location_id=cabinet.pk,
        units="20",
    )
    out = dispense(who, registration, lot, safe, patient, units="10", dose_mg="35")
    actions.waste(
        who,
        registration.pk,
        dispense_id=out.pk,
        units="2",
        reason="Remainder, sharps bin",
        witness=witness(prescriber),
    )
    second = dispense(who, registration, lot, cabinet, patient, units="10", dose_mg="50")
    actions.reverse(who, registration.pk, entry_id=second.pk, reason="Wrong patient chosen")
    entries = list(LedgerEntry.objects.order_by("sequence"))
    assert [e.kind for e in entries] == [
        "receipt",
        "transfer",
        "dispense",
        "waste",
        "dispense",
        "reversal",
    ]
    assert verify([registration]) == []
    return {e.sequence: e for e in entries}


# --- an untouched ledger ---------------------------------------------------------------------


def test_an_untouched_ledger_verifies(ledger):
    out = StringIO()
    call_command("inventory", "verify", stdout=out)  # returns: exit status 0
    assert out.getvalue().startswith("Ledger intact: 6 entries in 1 registration(s)")
    assert StockBalance.objects.count() == 2


def test_the_database_refuses_an_update_while_the_trigger_is_on(ledger):
    refused = pytest.raises(DatabaseError, match="a ledger entry cannot be changed")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET quantity_units = 1 WHERE id = %s", [ledger[3].pk])
    assert LedgerEntry.objects.get(pk=ledger[3].pk).quantity_units == 10


# --- an entry changed in place ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity_units", Decimal("9.00")),
        ("quantity_mg", Decimal("450.00")),
        ("dose_mg", Decimal("5.00")),
        ("reason", "nothing to see"),
        ("kind", "waste"),
    ],
)
def test_a_changed_entry_is_named(ledger, field, value):
    target = ledger[3]
    tamper_update(target, **{field: value})
    assert getattr(LedgerEntry.objects.get(pk=target.pk), field) == value
    message = verify_fails(says="was changed after it was written (hash mismatch)", entry=3)
    assert f"(id {target.pk}, " in message


@pytest.mark.parametrize("field", ["occurred_at", "recorded_at"])
def test_a_changed_time_is_named(ledger, field):
    target = ledger[4]
    tamper_update(target, **{field: getattr(target, field) - timedelta(days=2)})
    verify_fails(says="hash mismatch", entry=4)


def test_a_changed_witness_is_named(ledger, clinic_admin):
    target = ledger[4]
    tamper_update(target, witness=clinic_admin.pk)
    verify_fails(says="hash mismatch", entry=4)


def test_a_changed_first_entry_is_named(ledger):
    tamper_update(ledger[1], quantity_units=Decimal("1000.00"))
    verify_fails(says="hash mismatch", entry=1)


def test_a_changed_last_entry_is_named(ledger):
    tamper_update(ledger[6], reason="")
    verify_fails(says="hash mismatch", entry=6)


# --- an entry changed and its own hash recomputed --------------------------------------------


def test_a_rehashed_entry_breaks_the_link_of_the_next(ledger):
    target = ledger[3]
    target.quantity_units, target.quantity_mg = Decimal("5.00"), Decimal("250.00")
    new_hash = entry_digest(target.content(), target.prev_hash)
    tamper_update(
        target, quantity_units=Decimal("5.00"), quantity_mg=Decimal("250.00"), hash=new_hash
    )
    message = verify_fails(says="does not follow the entry before it (chain broken)", entry=4)
    assert not names_entry(message, 3)


def test_a_rehashed_last_entry_is_caught_by_the_chain_head(ledger):
    target = ledger[6]
    target.reason = "Returned to the cabinet"
    tamper_update(
        target, reason=target.reason, hash=entry_digest(target.content(), target.prev_hash)
    )
    verify_fails(says="is not the one the chain head recorded", entry=6)


# --- entries removed -------------------------------------------------------------------------


def test_a_deleted_middle_entry_is_a_gap_in_the_sequence(ledger):
    tamper_delete(ledger[2])
    verify_fails(says="entry #2 is missing (next found: #3)", entry=2)


def test_a_deleted_first_entry_is_a_gap_in_the_sequence(ledger):
    # The receipt: nothing else refers to it.
    tamper_delete(ledger[1])
    verify_fails(says="entry #1 is missing (next found: #2)", entry=1)


def test_a_deleted_last_entry_is_caught_by_the_chain_head(ledger):
    tamper_delete(ledger[6])
    verify_fails(says="entries after #5 were removed (the chain head names more)")


# --- a balance changed -----------------------------------------------------------------------


def test_a_changed_balance_names_its_lot_and_location(ledger, lot, safe, cabinet):
    with connection.cursor() as cursor:  # no trigger guards the balances; the entries do
        cursor.execute(
            f"UPDATE {BALANCES} SET quantity_units = %s WHERE lot_id = %s AND location_id = %s",
            [Decimal("90.00"), lot.pk, cabinet.pk],
        )
        assert cursor.rowcount == 1
    message = verify_fails(says=f"the balance of lot id {lot.pk} at location id {cabinet.pk}")
    assert re.search(r"is 90(\.00)? but its entries add up to 20(\.00)?$", message), message


def test_a_deleted_balance_row_is_reported(ledger, lot, safe):
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {BALANCES} WHERE lot_id = %s AND location_id = %s", [lot.pk, safe.pk]
        )
    message = verify_fails(says=f"the balance of lot id {lot.pk} at location id {safe.pk} is 0")
    assert message.endswith("add up to 70.00")


# --- the command as an operator runs it --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_console_script_exits_non_zero_naming_the_entry(ledger, tmp_path):
    """`ketacare inventory verify` in a subprocess, against the (committed) test database."""
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database lives in this process's memory")
    script = os.path.join(os.path.dirname(sys.executable), "ketacare")
    db = connection.settings_dict
    login = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{login}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KETACARE_", "DJANGO_"))},
        "DATABASE_URL": url,
        "SECRET_KEY": "test-only-not-secret",
        "KETACARE_AUDIT_KEY": settings.KETACARE_AUDIT_KEY,  # the key the ledger was written with
        "KETACARE_DATA_DIR": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(sys.path),  # this checkout's code, wherever it runs
    }

    def run():
        return subprocess.run(
            [script, "inventory", "verify"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    clean = run()
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.startswith("Ledger intact: 6 entries in 1 registration(s)")

    tamper_update(ledger[3], quantity_units=Decimal("9.00"))
    tampered = run()
    assert tampered.returncode == 1, (tampered.stdout, tampered.stderr)
    assert "CommandError" in tampered.stderr
    assert names_entry(tampered.stderr, 3), tampered.stderr
    assert "hash mismatch" in tampered.stderr


# --- an entry forged past the chain head ----------------------------------------------------------


def test_a_forged_entry_beyond_the_chain_head_is_named(ledger, prescriber):
    """A plain INSERT (the trigger guards UPDATE and DELETE only) of a waste that links to the
    last entry and carries its own correct hash, without moving the registration's head. A
    waste moves no stock, so only the chain head can tell."""
    last, source = ledger[6], ledger[3]
    forged = LedgerEntry(
        registration_id=last.registration_id,
        sequence=7,
        kind="waste",
        lot_id=source.lot_id,
        quantity_units=Decimal("1.00"),
        quantity_mg=Decimal("50.00"),
        patient_id=source.patient_id,
        dispense=source,
        reason="Remainder",
        witness=prescriber,
        actor_id=source.actor_id,
        occurred_at=last.occurred_at + timedelta(minutes=1),
        recorded_at=last.recorded_at + timedelta(minutes=1),
        prev_hash=last.hash,
    )
    forged.hash = entry_digest(forged.content(), forged.prev_hash)
    forged.save()
    verify_fails(says="lies beyond the chain head", entry=7)


# --- evidence outside the database (issue 13) -------------------------------------------------
# A consistent rewrite — entries, digests, the registration's head and the balances together —
# passed `inventory verify` while the digests were unkeyed SHA-256 and the head lived only in
# the database. The digests are keyed now, and signed checkpoints of each head are appended to
# a file outside the database.


def sha256_entry_digest(entry: LedgerEntry, prev_hash: str) -> str:
    """The unkeyed digest anyone can compute from the row."""
    payload = {**entry.content(), "prev_hash": prev_hash}
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def keyed_entry_digest(entry: LedgerEntry, prev_hash: str) -> str:
    """What someone who also stole the audit key could compute."""
    return entry_digest(entry.content(), prev_hash)


def set_head(registration: Registration, sequence: int, last_hash: str) -> None:
    with connection.cursor() as cursor:  # no trigger guards the registration row
        cursor.execute(
            "UPDATE inventory_registration SET last_sequence = %s, last_hash = %s WHERE id = %s",
            [sequence, last_hash, registration.pk],
        )


def balances_made_to_fit(registration: Registration) -> None:
    """Every stored balance set to what the remaining entries add up to."""
    with connection.cursor() as cursor:
        for (lot, location), units in ledger_sums(registration).items():
            cursor.execute(
                f"UPDATE {BALANCES} SET quantity_units = %s WHERE lot_id = %s AND location_id = %s",
                [units, lot, location],
            )


def rehash_ledger(registration: Registration, entries: list[LedgerEntry], digest) -> None:
    prev = "0" * 64
    for entry in entries:
        entry.prev_hash = prev
        entry.hash = digest(entry, prev)
        tamper_update(entry, prev_hash=prev, hash=entry.hash)
        prev = entry.hash
    set_head(registration, entries[-1].sequence, prev)


def nightly_verify() -> None:
    """`ketacare inventory verify` as cron runs it: it passes and checkpoints every head."""
    call_command("inventory", "verify", stdout=StringIO())


def test_the_database_refuses_a_delete_while_the_trigger_is_on(ledger):
    # PostgreSQL always did; SQLite does since migration 0003.
    refused = pytest.raises(DatabaseError, match="a ledger entry cannot be changed or deleted")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [ledger[6].pk])
    assert LedgerEntry.objects.filter(pk=ledger[6].pk).exists()
    assert verify(Registration.objects.all()) == []


def test_tail_deleted_with_a_rewound_head_and_fitted_balances_is_named(ledger, registration):
    nightly_verify()
    tamper_delete(ledger[6])
    set_head(registration, 5, ledger[5].hash)
    balances_made_to_fit(registration)
    message = verify_fails(says="removed from the end and the chain head rewound", entry=6)
    assert names_entry(message, 5), message


def test_tail_deletion_is_named_by_an_automatic_checkpoint(
    ledger, registration, lot, safe, patient, nurse, clinic, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.KETACARE_CHECKPOINT_EVERY = 1
    with django_capture_on_commit_callbacks(execute=True):
        newest = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, units="5")
    assert newest.sequence == 7
    tamper_delete(newest)
    set_head(registration, 6, ledger[6].hash)
    balances_made_to_fit(registration)
    verify_fails(says="chain head rewound", entry=7)


def test_an_edit_with_the_whole_ledger_rehashed_without_the_key_is_named(ledger, registration):
    ledger[3].reason = "nothing to see"
    tamper_update(ledger[3], reason=ledger[3].reason)
    rehash_ledger(registration, list(ledger.values()), sha256_entry_digest)
    verify_fails(says="was re-hashed without the audit key", entry=1)


def test_an_edit_rehashed_with_the_stolen_key_is_named_by_the_checkpoint(ledger, registration):
    nightly_verify()
    ledger[3].reason = "nothing to see"
    tamper_update(ledger[3], reason=ledger[3].reason)
    rehash_ledger(registration, list(ledger.values()), keyed_entry_digest)
    verify_fails(says="recorded another digest for entry #6", entry=6)


def test_an_edited_ledger_checkpoint_is_named(ledger, settings):
    nightly_verify()
    path = settings.KETACARE_CHECKPOINT_DIR / "ledger.log"
    path.write_text(path.read_text().replace('"count":6', '"count":7'))
    problems = verify(Registration.objects.all())
    assert [p.label for p in problems] == ["checkpoints"]
    assert "does not carry a valid signature" in problems[0].message
    with pytest.raises(CommandError, match=r"checkpoints: Checkpoint .* line 1"):
        call_command("inventory", "verify")


def test_entries_from_before_keyed_chains_still_verify_and_stay_sealed(
    ledger, registration, lot, safe, patient, nurse, clinic
):
    from django.apps import apps

    migration = __import__(
        "ketacare.inventory.migrations.0003_keyed_ledger_chains", fromlist=["seal"]
    )
    # The ledger as the unkeyed code wrote it, sealed on upgrade.
    entries = list(ledger.values())
    rehash_ledger(registration, entries, sha256_entry_digest)
    migration.seal_legacy_entries(apps, None)
    assert verify(Registration.objects.all()) == []
    # After the upgrade, a keyed entry follows the last unkeyed one.
    newest = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, units="5")
    assert newest.prev_hash == entries[-1].hash
    assert verify(Registration.objects.all()) == []
    entries.append(LedgerEntry.objects.get(pk=newest.pk))
    # Rewriting the sealed entries (with plain SHA-256, as they were) does not pass.
    entries[2].reason = "nothing to see"
    tamper_update(entries[2], reason=entries[2].reason)
    rehash_ledger(registration, entries, sha256_entry_digest)
    verify_fails(says="the last written before keyed chains, is not the one the seal records")
