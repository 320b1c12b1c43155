"""For the tests of row locks between real connections, which only PostgreSQL has: SQLite
serialises whole transactions instead of blocking on a row."""

import os

import pytest
from django.db import connection


@pytest.fixture
def postgresql_only():
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        # Misconfigured: a PostgreSQL run that is not on PostgreSQL must not pass by skipping.
        assert connection.vendor == "postgresql", (
            f"DATABASE_URL names PostgreSQL but the test database is {connection.vendor}"
        )
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks that block between connections (PostgreSQL)")


def waits_on_a_lock(pid: int) -> bool:
    """Whether the backend ``pid`` is blocked on a lock now. Asked from the calling thread's
    connection, outside any transaction, so that each call sees the backends anew."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"
