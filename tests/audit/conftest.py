"""Helpers for the audit tests: raw SQL the way someone with the database password could run it.

``tamper`` takes the append-only triggers out of the way for one test (PostgreSQL: DISABLE
TRIGGER, re-enabled afterwards; SQLite: DROP TRIGGER, of the UPDATE and the DELETE trigger).
Both are transactional DDL, so the per-test rollback restores the triggers in any case
(``test_tamper_detection`` checks that).
"""

from typing import Any

import pytest
from django.db import DatabaseError, connection

from ketacare.audit.models import AuditEvent
from tests.conftest import make_patient

TABLE = AuditEvent._meta.db_table
TRIGGER = "audit_event_append_only"
SQLITE_DELETE_TRIGGER = "audit_event_no_delete"  # SQLite: one trigger per statement kind


def trigger_active() -> bool:
    """Whether the append-only trigger is installed and enabled on the audit table."""
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


def _db_value(field_name: str, value: Any) -> Any:
    """``value`` adapted for a raw query on this backend (JSON, inet, datetimes)."""
    return AuditEvent._meta.get_field(field_name).get_db_prep_save(value, connection)


class Tamper:
    """Raw SQL against the audit table, below the ORM and with the trigger out of the way."""

    def update(self, event_id: int, **values: Any) -> None:
        """Set columns of one row, e.g. ``update(5, action="delete")`` or ``hash=...``."""
        columns = []
        params = []
        for name, value in values.items():
            field = AuditEvent._meta.get_field(name)
            columns.append(f"{connection.ops.quote_name(field.column)} = %s")
            params.append(_db_value(name, value))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET {', '.join(columns)} WHERE id = %s",
                [*params, event_id],
            )
            assert cursor.rowcount == 1

    def delete(self, *event_ids: int) -> None:
        with connection.cursor() as cursor:
            for event_id in event_ids:
                cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [event_id])
                assert cursor.rowcount == 1

    def insert(self, event: AuditEvent) -> None:
        """Write an unsaved event (with its ``id`` set) as a raw row."""
        fields = AuditEvent._meta.concrete_fields
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        params = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} ({columns}) VALUES ({placeholders})",
                params,
            )

    def shift_ids_after(self, event_id: int, by: int) -> None:
        """Renumber every event after ``event_id`` (two steps, so no id collides)."""
        offset = 10_000_000
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET id = id + %s WHERE id > %s",
                [offset, event_id],
            )
            cursor.execute(
                f"UPDATE {TABLE} SET id = id - %s WHERE id > %s",
                [offset - by, offset],
            )


@pytest.fixture
def tamper(db):
    """Raw write access to the audit table as the database owner, trigger bypassed."""
    assert trigger_active(), "the append-only trigger should be in place before the bypass"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED; PostgreSQL refuses ALTER
            # TABLE while this transaction still has their checks pending. Run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        elif connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER {TRIGGER}")
            cursor.execute(f"DROP TRIGGER IF EXISTS {SQLITE_DELETE_TRIGGER}")
        else:  # pragma: no cover
            pytest.skip(f"no tamper recipe for {connection.vendor}")
    assert not trigger_active()
    yield Tamper()
    if connection.vendor == "postgresql":
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
        except DatabaseError:
            # The test left the transaction aborted; its rollback re-enables the trigger.
            pass


@pytest.fixture
def busy_log(clinic, staff):
    """A log written by real actions: the clinic, its staff and three registrations."""
    for given, family in [("Ada", "Lovelace"), ("Mary", "Somerville"), ("Emmy", "Noether")]:
        make_patient(staff["nurse"], clinic, given_name=given, family_name=family)
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) >= 10
    return events
