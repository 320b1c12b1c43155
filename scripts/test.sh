#!/bin/sh
# The whole test suite: once on SQLite, then once on PostgreSQL.
# PostgreSQL: KETACARE_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test).
# Without it the PostgreSQL run is skipped, loudly, except in CI (CI=true), where it fails.
set -u
unset DATABASE_URL
# In parallel on every core (pytest-xdist; KETACARE_TEST_WORKERS=0 runs in one process), each
# module taken whole by one worker, so that a world a module builds once is built once (not
# once per worker), and the slowest tests listed at the end so that a slow newcomer is seen.
# (--dist loadfile: loadgroup's xdist_group marks do nothing with pytest 9.2 and xdist 3.8.)
# --no-loadscope-reorder: modules in collection order, the slowest first (tests/slow_modules.py),
# not sorted by how many tests they hold, which left a module of one long test to the end.
set -- -n "${KETACARE_TEST_WORKERS:-auto}" --dist loadfile --no-loadscope-reorder --durations=15 "$@"
status=0

echo "=== Test suite on SQLite ==="
pytest "$@" || status=1

if [ -n "${KETACARE_TEST_DATABASE_URL:-}" ]; then
    echo "=== Test suite on PostgreSQL (KETACARE_TEST_DATABASE_URL) ==="
    # What can differ on PostgreSQL (decision 0112, tests/postgresql_pass.py): triggers, locks,
    # races, SQL sums and casts, column limits, bulk writes, backups and the browser tests.
    # tests/clinical is pure Python (no database): running it twice would prove nothing more.
    DATABASE_URL="$KETACARE_TEST_DATABASE_URL" pytest --ignore=tests/clinical -m postgresql "$@" || status=1
elif [ "${CI:-}" = "true" ]; then
    echo "FAILED: CI must also run the suite on PostgreSQL; set KETACARE_TEST_DATABASE_URL." >&2
    status=1
else
    echo "=== PostgreSQL run SKIPPED: set KETACARE_TEST_DATABASE_URL=postgres://USER@HOST:5432/DB to run it ==="
fi
exit $status
