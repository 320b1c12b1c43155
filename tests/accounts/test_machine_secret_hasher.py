"""The hasher for machine-made secrets (accounts.hashers): only for 256-bit secrets, never
chosen for a person's password, and a password it verifies is not re-hashed."""

import secrets

import pytest
from django.contrib.auth.hashers import check_password, make_password

from ketacare.accounts.hashers import MachineSecretHasher
from ketacare.accounts.models import User

ALGORITHM = MachineSecretHasher.algorithm


def test_it_refuses_anything_but_a_256_bit_hex_secret():
    for weak in ("correct horse battery staple", "ab" * 31, "Z" * 64):
        with pytest.raises(ValueError, match="256 random bits"):
            make_password(weak, hasher=ALGORITHM)


def test_it_verifies_the_secret_and_nothing_else():
    secret = secrets.token_hex(32)
    encoded = make_password(secret, hasher=ALGORITHM)
    assert encoded.startswith(ALGORITHM + "$")
    assert check_password(secret, encoded)
    assert not check_password(secrets.token_hex(32), encoded)
    assert not check_password("short", encoded)


@pytest.mark.django_db
def test_a_person_s_password_is_never_hashed_with_it():
    user = User.objects.create_user("nurse.a", password=secrets.token_hex(32))
    assert not user.password.startswith(ALGORITHM)


@pytest.mark.django_db
def test_a_verified_secret_stays_as_it_is():
    secret = secrets.token_hex(32)
    user = User.objects.create_user("synth.nurse")
    user.password = make_password(secret, hasher=ALGORITHM)
    user.save(update_fields=["password"])
    stored = user.password
    assert user.check_password(secret)
    user.refresh_from_db()
    assert user.password == stored
    assert not user.check_password(secrets.token_hex(32))


@pytest.mark.django_db
def test_a_machine_secret_passes_the_rules_whatever_the_clinic_is_called():
    """Random hex can read as a word of the clinic's name ("7e57" is "test"), which the
    password rules refuse: a machine secret (the synthetic staff's, the demo logins' first
    password) is drawn again until they accept it."""
    from django.contrib.auth.password_validation import validate_password

    from ketacare.accounts.actions import create_clinic
    from ketacare.accounts.passwords import for_clinic, machine_secret
    from ketacare.actor import SYSTEM

    clinic = create_clinic(SYSTEM, "Test Cafe Bead Face Deaf Clinic")
    # A thousand draws: plain hex would be refused for this name in nearly every run of them.
    for _ in range(1000):
        secret = machine_secret(clinic)
        assert len(secret) == 64 and int(secret, 16) >= 0
        validate_password(secret, for_clinic(User(), clinic))
