"""The test modules that take longest, slowest first (worker seconds on the 2-core CI machine,
December 2026), run first.

pytest-xdist (``--dist loadfile``) gives each worker whole modules in the order it receives
them; by default it sorts them by their number of tests, which sends a module of one slow test
(a kill -9 mid-write, the hostile-input walk) to the end, where one worker runs it alone while
the other waits. ``scripts/test.sh`` turns that sorting off (``--no-loadscope-reorder``) and
``conftest.py`` puts these modules first, so the long ones overlap and the short ones fill the
gaps. A module missing here only runs later; the list needs no precision, just the big ones."""

SLOWEST_FIRST = [
    "browser/test_every_page.py",  # 43 s
    "web/test_hostile_input.py",  # 34 s; 42 s on PostgreSQL
    "backup/test_backup_restore.py",  # 38 s
    "web/test_demo.py",  # 36 s
    "clinical/test_instrument_properties.py",  # 30 s
    "backup/test_kill_mid_write.py",  # 31 s
    "accounts/test_permission_matrix.py",  # 31 s
    "registry/test_demo_registry.py",  # 31 s
    "browser/test_dosing_day.py",  # 26 s
    "registry/test_synth.py",  # 25 s
    "backup/test_postgres_backup.py",  # 19 s on PostgreSQL
    "registry/test_recovery.py",  # 18 s
    "inventory/test_ledger_properties.py",  # 7 s; 15 s on PostgreSQL
    "web/test_serve.py",  # 15 s
    "clinical/test_score_command.py",  # 14 s
    "clinical/test_batch_scoring.py",  # 13 s
    "audit/test_append_only.py",  # 10 s
    "browser/test_register_and_find_patient.py",  # 10 s
    "clinical/test_cohort_statistics.py",  # 10 s
    "registry/test_deidentified_recovery.py",  # 9 s
    "browser/test_front_door.py",  # 8 s
]
