"""Role fixtures, so that permission tests read like sentences: the prescriber may, the
researcher may not, the outsider (another clinic's nurse) cannot even see it."""

import itertools
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.backends.sqlite3 import base as sqlite_backend
from django.test import Client

from ketacare.accounts.actions import create_clinic, create_staff
from ketacare.accounts.permissions import Role
from ketacare.actor import SYSTEM, Actor
from ketacare.patients import actions as patient_actions
from ketacare.patients.models import DEMOGRAPHIC_FIELDS
from tests import postgresql_pass
from tests.slow_modules import SLOWEST_FIRST

PASSWORD = "correct horse battery staple"
# A valid new-patient form, as a nurse would post it.
NEW_PATIENT_FORM = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1985-12-10",
    "sex_at_birth": "female",
    "allergies": "NKDA",
    "weight_kg": "61.5",
    "height_cm": "165",
}
ROLES = ["prescriber", "nurse", "coordinator", "clinic_admin", "researcher"]


def _flush_past_delete_guards(original):
    """Django's flush (after transactional and browser tests) empties SQLite tables with
    DELETE, which the append-only triggers refuse (migrations audit 0007, inventory 0003).
    For the test database only, the flush drops those triggers and creates them again in the
    same transaction; production never flushes, and its triggers are unconditional."""

    def execute_sql_flush(self, sql_list):
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND sql LIKE '%BEFORE DELETE%'"
                )
                guards = cursor.fetchall()
                for name, _ in guards:
                    cursor.execute(f'DROP TRIGGER "{name}"')
            original(self, sql_list)
            with self.connection.cursor() as cursor:
                for _, sql in guards:
                    cursor.execute(sql)

    return execute_sql_flush


# Through the backend's base module: importing its operations module first is circular.
sqlite_backend.DatabaseOperations.execute_sql_flush = _flush_past_delete_guards(
    sqlite_backend.DatabaseOperations.execute_sql_flush
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    # Before pytest deselects by -m, which reads these marks.
    postgresql_pass.mark(items)
    # The slowest modules first (tests/slow_modules.py), each module's tests kept together and
    # in their order: a stable sort.
    rank = {module: place for place, module in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(postgresql_pass.module_of(item), len(rank)))


_test_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def checkpoint_dirs(tmp_path_factory):
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(autouse=True)
def own_checkpoint_dir(settings, checkpoint_dirs, request):
    """Each test appends its checkpoints to its own files: the test database is rolled back
    after each test, and checkpoints left by another test would name events it never had.
    (The directory is made by the first checkpoint written, if any.)"""
    settings.KETACARE_CHECKPOINT_DIR = checkpoint_dirs / f"{next(_test_numbers):06d}"


@pytest.fixture
def clinic(db):
    return create_clinic(SYSTEM, "Riverside Ketamine Clinic")


@pytest.fixture
def other_clinic(db):
    return create_clinic(SYSTEM, "Harbor Mental Health")


def _staff(clinic, role: str, username: str | None = None):
    return create_staff(
        SYSTEM,
        clinic=clinic,
        username=username or role,
        password=PASSWORD,
        role=role,
        first_name=role.title(),
        last_name="Tester",
    )


@pytest.fixture
def staff(clinic):
    """One user per role at the clinic, keyed by role name."""
    return {role: _staff(clinic, role) for role in ROLES}


@pytest.fixture
def prescriber(staff):
    return staff["prescriber"]


@pytest.fixture
def nurse(staff):
    return staff["nurse"]


@pytest.fixture
def coordinator(staff):
    return staff["coordinator"]


@pytest.fixture
def clinic_admin(staff):
    return staff["clinic_admin"]


@pytest.fixture
def researcher(staff):
    return staff["researcher"]


@pytest.fixture
def outsider(other_clinic):
    """A nurse at another clinic."""
    return _staff(other_clinic, Role.NURSE, username="outsider")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_user():
    return client_for


def actor(user, clinic, role=Role.NURSE) -> Actor:
    return Actor(user=user, role=str(role), clinic=clinic, ip="127.0.0.1")


def edit_form_data(patient, **changes):
    """The edit form as the browser posts it: every field (and the version it was opened at),
    some changed."""
    data = {"version": patient.version}
    for name in DEMOGRAPHIC_FIELDS:
        value = getattr(patient, name)
        data[name] = value.isoformat() if hasattr(value, "isoformat") else value
    data.update(changes)
    return data


# A new patient as create_patient takes it (the form's cleaned data).
PATIENT_DATA = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": date(1985, 12, 10),
    "sex_at_birth": "female",
    "allergies": "NKDA",
    "weight_kg": Decimal("61.5"),
    "height_cm": Decimal("165.0"),
}


def make_patient(user, clinic, **overrides):
    return patient_actions.create_patient(actor(user, clinic), {**PATIENT_DATA, **overrides})


@pytest.fixture
def patient(clinic, nurse):
    return make_patient(nurse, clinic)


@pytest.fixture
def alert(patient, nurse, clinic):
    """An open safety alert: a PHQ-9 with item 9 above 0, entered by the nurse."""
    from django.utils import timezone

    from ketacare.measures import actions as measure_actions

    response = measure_actions.record_staff_response(
        actor(nurse, clinic), patient, "phq9", [1, 1, 1, 1, 1, 1, 1, 1, 1], timezone.now()
    )
    return response.alerts.get()


@pytest.fixture
def assignment(patient, nurse, clinic):
    """A weekly PHQ-9 for the patient, from today."""
    from django.utils import timezone

    from ketacare.measures import actions as measure_actions

    return measure_actions.assign_instrument(
        actor(nurse, clinic), patient, "phq9", "weekly", timezone.localdate()
    )


@pytest.fixture
def outsider_patient(other_clinic, outsider):
    return make_patient(outsider, other_clinic, given_name="Grace", family_name="Hopper")
