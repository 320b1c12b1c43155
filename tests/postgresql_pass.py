"""What the PostgreSQL pass of the suite runs (decision 0112).

The whole suite runs on SQLite. The PostgreSQL pass (``scripts/test.sh``, ``-m postgresql``)
runs the tests whose outcome can differ on PostgreSQL: the triggers and rules that keep records
append-only, row locks and races, sums and casts in SQL, the date of a moment in the clinic's
time zone, column limits and the values PostgreSQL refuses, case-insensitive search, bulk
writes and sequences, PostgreSQL's own backup, and the browser tests (the real server on a real
database) but the walk of every page's layout. A page, a form or a permission answered the
same way on both is tested once.

A developer running ``pytest`` with ``DATABASE_URL`` set still runs everything on PostgreSQL:
only the pass in ``scripts/test.sh`` selects."""

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# Test module (relative to tests/) -> why it runs on PostgreSQL too.
ON_POSTGRESQL: dict[str, str] = {
    "audit/test_append_only.py": "triggers and rules refusing UPDATE, DELETE and TRUNCATE",
    "audit/test_tamper_detection.py": "rows changed behind the application's back, by SQL",
    "audit/test_tamper_beyond_the_database.py": "a database rewritten wholesale",
    "audit/test_hash_chain.py": "hashes of values as the database gives them back",
    "audit/test_no_partial_record.py": "a transaction rolled back half-way",
    "audit/test_audit_log_page.py": "date ranges over time zones; pages of a large table",
    "inventory/test_tamper_detection.py": "ledger rows changed by SQL",
    "inventory/test_dispense_race.py": "row locks held between two connections",
    "measures/test_link_race.py": "row locks held between two connections",
    "scheduling/test_booking_race.py": "the book's row lock held between two connections",
    "scheduling/test_closures.py": "wall-clock hours across a daylight-saving change",
    "scheduling/test_week_page.py": "a week's bounds in the clinic's zone across a DST change",
    "scheduling/test_series.py": "the book read back as the rules see it: times, joins, locks",
    "reminders/test_send_race.py": "the appointment's row lock; opt-outs refused by triggers",
    "reminders/test_send_reminders.py": "the unique delivery row; times in the clinic's zone",
    "reminders/test_attendance.py": "a moment minus the threshold, in SQL",
    "reminders/test_failed_send_is_retried.py": "the worker's retries, transaction by transaction",
    "inventory/test_ledger_properties.py": "sums of decimals; the no-negative rule",
    "inventory/test_movements.py": "sums of decimals",
    "inventory/test_reconciliation.py": "sums of decimals",
    "inventory/test_reports.py": "sums grouped by day and product",
    "treatments/test_given_dose_stays_in_the_ledger.py": "the session and the ledger in one step",
    "accounts/test_login_security.py": "lock-out counters summed in SQL",
    "accounts/test_reauth.py": "lock-out counters summed in SQL",
    "portal/test_sign_in.py": "a code used up under its row lock; lock-out counters in SQL",
    "portal/test_messages.py": "messages refused change by triggers; the inbox's subqueries",
    "portal/test_consents.py": "signed consents refused change by triggers; the patient's lock",
    "test_bounds.py": "column limits: integers, decimals, dates",
    "accounts/test_out_of_range_values.py": "column limits",
    "audit/test_out_of_range_values.py": "column limits",
    "inventory/test_out_of_range_values.py": "column limits",
    "measures/test_out_of_range_values.py": "column limits",
    "patients/test_out_of_range_values.py": "column limits",
    "planning/test_out_of_range_values.py": "column limits",
    "registry/test_out_of_range_values.py": "column limits",
    "treatments/test_out_of_range_values.py": "column limits",
    "web/test_hostile_input.py": "NUL bytes PostgreSQL refuses in text; overflowing numbers",
    "patients/test_search.py": "case-insensitive matching of unicode names",
    "patients/test_likely_duplicates.py": "case-insensitive matching of unicode names",
    "treatments/test_board.py": "the day of a moment in the clinic's time zone; annotations",
    "measures/test_schedule_and_dispatch.py": "the last answer per patient (Max) and due dates",
    "test_clock.py": "timestamps stored and read back at the actor's time",
    "registry/test_research_export.py": "the registry's queries, casts and dates",
    "registry/test_dashboard.py": "the registry's queries and counts",
    "registry/test_export_with_implausible_dates.py": "dates at the ends of the calendar",
    "registry/test_columns.py": "the registry's columns as the database types them",
    "registry/test_model_cache.py": "the data version read from the database",
    "registry/test_synth.py": "bulk writes, sequences and the chains they extend",
    "treatments/test_no_bypass.py": "every path to a safety rule, the bulk writer among them",
    "backup/test_postgres_backup.py": "pg_dump and pg_restore",
    "jobs/test_worker.py": "jobs claimed with SELECT … FOR UPDATE SKIP LOCKED; an advisory lock",
    "jobs/test_failed_jobs_page.py": "a job's clinic read from its JSON arguments",
    "jobs/test_verify_chains.py": "the chains verified as the database gives them back",
}


# Browser tests that stay off the PostgreSQL pass, and why: what they check is the page as the
# browser lays it out, which no database changes (the flows' browser tests all run there).
BROWSER_NOT_ON_POSTGRESQL: dict[str, str] = {
    "browser/test_every_page.py": "every page's width, console and accessibility, not its data",
}


def module_of(item: pytest.Item) -> str:
    return item.path.relative_to(TESTS).as_posix()


def mark(items: list[pytest.Item]) -> None:
    """Mark ``postgresql`` the tests of the listed modules and the browser tests."""
    for item in items:
        module = module_of(item)
        browser = item.get_closest_marker("browser") and module not in BROWSER_NOT_ON_POSTGRESQL
        if module in ON_POSTGRESQL or browser:
            item.add_marker(pytest.mark.postgresql)
