"""A staff password cannot be the clinic's name, the product's name or a common password with
digits added, on every path that sets one: the staff page, create_staff, the createstaff
command and the change page."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from ketacare.accounts.actions import create_staff
from ketacare.accounts.models import Clinic, User
from ketacare.actor import SYSTEM
from ketacare.web.demo_data import DEMO_PASSWORD
from tests.conftest import PASSWORD

CLINIC_NAME = "This password contains “riverside”"
PRODUCT_NAME = "This password contains “ketacare”"
COMMON = "common password with digits or symbols added"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Riverside-2026", CLINIC_NAME),
        ("riverside2026!", CLINIC_NAME),
        ("RIVER SIDE 2026 !!", CLINIC_NAME),
        ("R1vers1de-Nights", CLINIC_NAME),
        ("2026_riverside", CLINIC_NAME),
        (DEMO_PASSWORD, PRODUCT_NAME),
        ("my-KetaCare-login-99", PRODUCT_NAME),
        ("K3tacare-login-99", PRODUCT_NAME),
        ("Password2026!", COMMON),
        ("1234qwertyuiop!", COMMON),
        ("Sunshine!2025", COMMON),
    ],
)
def test_a_guessable_password_is_refused_with_a_clear_message(nurse, password, reason):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, nurse)
    assert any(reason in message for message in refused.value.messages)


@pytest.mark.parametrize(
    "password",
    [PASSWORD, "lantern quarry velvet 84", "abc-7391-5820-1164", "riverbed-sideways-97"],
)
def test_a_strong_password_passes(nurse, password):
    validate_password(password, nurse)


def test_the_name_of_every_clinic_of_the_user_counts_and_of_no_other(nurse, other_clinic):
    # "Harbor Mental Health" is not the nurse's clinic, until she works there too.
    validate_password("harbor lights 1997 x", nurse)
    nurse.memberships.create(clinic=other_clinic, role="nurse")
    with pytest.raises(ValidationError, match="harbor"):
        validate_password("harbor lights 1997 x", nurse)


def test_create_staff_refuses_the_clinics_name_and_the_demo_password(clinic):
    for password in ("Riverside-2026", DEMO_PASSWORD):
        with pytest.raises(ValidationError) as refused:
            create_staff(SYSTEM, clinic=clinic, username="j.doe", password=password, role="nurse")
        assert "password" in refused.value.message_dict
    assert not User.objects.filter(username="j.doe").exists()


def test_the_staff_page_refuses_the_clinics_name_without_an_error_page(as_user, clinic_admin):
    form = {
        "username": "j.doe",
        "first_name": "Jane",
        "last_name": "Doe",
        "role": "nurse",
        "password": "Riverside-2026",
    }
    response = as_user(clinic_admin).post(reverse("staff-new"), form)
    assert response.status_code == 200
    assert CLINIC_NAME in " ".join(response.context["form"].errors["password"])
    assert not User.objects.filter(username="j.doe").exists()


@pytest.mark.parametrize("password", ["Riverside-2026", DEMO_PASSWORD])
def test_the_createstaff_command_refuses_them(db, password):
    Clinic.objects.create(name="Riverside Ketamine Clinic")
    with pytest.raises(CommandError, match="This password contains"):
        call_command(
            "createstaff", "j.doe", "--clinic", "Riverside Ketamine Clinic",
            "--role", "clinic_admin", "--password", password,
        )  # fmt: skip
    assert not User.objects.filter(username="j.doe").exists()


def test_a_new_clinics_name_is_refused_by_createstaff_and_the_clinic_not_left_behind(db):
    with pytest.raises(CommandError, match="“sunrise”"):
        call_command(
            "createstaff", "j.doe", "--clinic", "Sunrise Wellness",
            "--role", "clinic_admin", "--password", "Sunrise-Wellness-2026",
        )  # fmt: skip
    assert not Clinic.objects.filter(name="Sunrise Wellness").exists()


@pytest.mark.parametrize("password", ["Riverside-2026", DEMO_PASSWORD])
def test_the_change_page_refuses_them(nurse, password):
    client = Client()
    client.post(reverse("login"), {"username": "nurse", "password": PASSWORD})
    response = client.post(
        reverse("password-change"),
        {"current_password": PASSWORD, "new_password": password, "new_password_again": password},
    )
    assert response.status_code == 200
    assert "This password contains" in " ".join(response.context["form"].errors["new_password"])
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)
