"""Audit events cannot be changed or removed: the model refuses, and so does the database."""

import os
import sqlite3
import subprocess
import sys

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse

from ketacare.audit.models import AppendOnlyError, AuditEvent
from ketacare.audit.verify import verify_chain

from .conftest import TABLE, trigger_active


@pytest.fixture
def event(patient):
    return AuditEvent.objects.filter(object_type="patient", action="create").get()


def assert_untouched(event):
    fresh = AuditEvent.objects.get(pk=event.pk)
    assert (fresh.action, fresh.changes, fresh.hash) == (event.action, event.changes, event.hash)
    assert verify_chain().ok


def test_trigger_is_installed(db):
    assert trigger_active()


def test_save_of_an_existing_event_is_refused(event):
    original = AuditEvent.objects.get(pk=event.pk)
    event.action = "view"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.save(update_fields=["action"])
    assert_untouched(original)


def test_delete_of_an_event_is_refused(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert_untouched(event)


def test_queryset_update_is_refused(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(action="view")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(changes={})
    assert_untouched(event)


def test_bulk_update_is_refused(event):
    event.action = "view"
    # bulk_update opens atomic(savepoint=False); our own savepoint keeps the test usable.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["action"])
    assert_untouched(AuditEvent.objects.get(pk=event.pk))


def test_queryset_delete_is_refused(event):
    count = AuditEvent.objects.count()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.count() == count
    assert_untouched(event)


def test_a_patient_with_audit_events_cannot_be_deleted(patient, event):
    # Deleting the subject must not take its audit trail with it (on_delete=PROTECT).
    patient.measurements.all().delete()
    with pytest.raises(ProtectedError):
        patient.delete()
    assert_untouched(event)


def raw(sql, params=()):
    """Run SQL in its own savepoint, as a database client outside the application would."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_raw_sql_update_is_rejected_by_the_database(event):
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"UPDATE {TABLE} SET action = %s WHERE id = %s", ["view", event.pk])
    assert_untouched(event)


def test_raw_sql_update_of_every_row_is_rejected(event):
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"UPDATE {TABLE} SET hash = hash")
    assert_untouched(event)


def test_raw_sql_delete_is_rejected_by_the_database(event):
    # SQLite refuses it too since migration 0007 (it did not before).
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"DELETE FROM {TABLE} WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"DELETE FROM {TABLE}")
    assert AuditEvent.objects.count() == count
    assert_untouched(event)


def test_new_events_can_still_be_appended(patient, nurse, as_user):
    before = AuditEvent.objects.count()
    as_user(nurse).get(reverse("patient-chart", args=[patient.pk]))
    assert AuditEvent.objects.count() > before
    assert verify_chain().ok


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="TRUNCATE triggers exist on PostgreSQL only"
)
@pytest.mark.parametrize("table", [TABLE, "audit_chainhead"])
def test_truncate_is_rejected_by_the_database(event, table):
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="cannot be truncated"), transaction.atomic():
        # The test database allows TRUNCATE for its own clean-up; switch that off here.
        raw("SET LOCAL ketacare.allow_audit_truncate = off")
        raw("SET CONSTRAINTS ALL IMMEDIATE")  # else PG refuses for pending FK checks first
        raw(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == count


def test_chain_head_cannot_be_deleted(event):
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic():
        raw("DELETE FROM audit_chainhead")
    assert verify_chain().ok


# SQLite refuses DELETE in production, not only in the test database.


def _migrated_sqlite_file(tmp_path):
    """A database file made by `ketacare migrate` with the production settings, outside this
    test process (no test settings, no test-suite patches)."""
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KETACARE_", "DJANGO_"))},
        "SECRET_KEY": "production-like",
        "KETACARE_DATA_DIR": str(data),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    env.pop("DATABASE_URL", None)
    migrate = subprocess.run(
        [sys.executable, "-c", "from ketacare.cli import main; main()", "migrate", "-v0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert (data / "audit_key").stat().st_mode & 0o777 == 0o600  # generated once, private
    return data / "ketacare.sqlite3"


def test_a_production_sqlite_database_refuses_delete(tmp_path):
    database = sqlite3.connect(_migrated_sqlite_file(tmp_path))
    try:
        database.execute(
            "INSERT INTO audit_auditevent (occurred_at, actor_username, role, action, "
            "object_type, object_id, changes, prev_hash, hash) "
            "VALUES ('2026-01-01 00:00:00', 'x', '', 'view', '', '', '{}', 'p', 'h')"
        )
        database.execute(
            "INSERT INTO inventory_ledgerentry (registration_id, sequence, kind, lot_id, "
            "quantity_units, quantity_mg, supplier, invoice, reason, details, actor_id, "
            "occurred_at, recorded_at, prev_hash, hash) VALUES (1, 1, 'receipt', 1, 1, 1, '', "
            "'', '', '{}', 1, '2026-01-01', '2026-01-01', 'p', 'h')"
        )
        database.commit()
        for table, refusal in [
            ("audit_auditevent", "append-only"),
            ("audit_chainhead", "cannot be deleted"),  # the installation's, made by migrate
            ("inventory_ledgerentry", "cannot be changed or deleted"),
        ]:
            with pytest.raises(sqlite3.DatabaseError, match=refusal):
                database.execute(f"DELETE FROM {table}")
            assert database.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] >= 1
    finally:
        database.close()


# The test suite's flush lifts the DELETE guards for itself only, and puts them back.


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_writes_events_that_the_flush_then_removes(patient, nurse, as_user):
    as_user(nurse).get(reverse("patient-chart", args=[patient.pk]))
    assert AuditEvent.objects.filter(action="view").exists()


def test_the_delete_guards_are_back_after_the_flush(event):
    assert not AuditEvent.objects.filter(action="view").exists()  # the flush emptied the table
    assert trigger_active()
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"DELETE FROM {TABLE}")
