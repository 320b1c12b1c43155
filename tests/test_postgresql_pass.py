"""The PostgreSQL pass's list names modules that exist, and its marks reach the tests."""

import subprocess
import sys

from tests.postgresql_pass import BROWSER_NOT_ON_POSTGRESQL, ON_POSTGRESQL, TESTS


def test_every_module_the_lists_name_exists():
    # A module renamed or moved would silently leave the PostgreSQL pass.
    named = [*ON_POSTGRESQL, *BROWSER_NOT_ON_POSTGRESQL]
    missing = [name for name in named if not (TESTS / name).is_file()]
    assert missing == []


def test_the_postgresql_pass_selects_the_listed_modules_and_the_browser_tests():
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-m",
            "postgresql",
            "-p",
            "no:cacheprovider",
            "tests/test_bounds.py",
            "tests/browser/test_patient_link.py",
            "tests/patients/test_chart.py",
        ],
        capture_output=True,
        text=True,
        cwd=TESTS.parent,
        check=False,
    )
    modules = {line.split("::")[0] for line in collected.stdout.splitlines() if "::" in line}
    assert modules == {"tests/test_bounds.py", "tests/browser/test_patient_link.py"}, collected


def test_every_module_the_slow_list_names_exists():
    from tests.slow_modules import SLOWEST_FIRST

    assert [name for name in SLOWEST_FIRST if not (TESTS / name).is_file()] == []
