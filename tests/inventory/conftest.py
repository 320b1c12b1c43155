"""A registration with a safe and a cabinet, a ketamine vial product and a lot in stock."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.inventory import actions
from ketacare.inventory.actions import Signature
from tests.conftest import PASSWORD, actor

DEA_NUMBER = "AB1234563"  # check digit: 1+3+5 + 2×(2+4+6) = 33 → 3


def as_admin(clinic_admin, clinic):
    return actor(clinic_admin, clinic, Role.CLINIC_ADMIN)


def as_nurse(nurse, clinic):
    return actor(nurse, clinic, Role.NURSE)


def witness(user):
    return Signature(user.get_username(), PASSWORD)


@pytest.fixture
def registration(clinic, clinic_admin):
    return actions.create_registration(
        as_admin(clinic_admin, clinic), DEA_NUMBER, "Riverside Ketamine Clinic", "1 River St"
    )


@pytest.fixture
def safe(registration, clinic, clinic_admin):
    return actions.add_location(
        as_admin(clinic_admin, clinic), registration.pk, "Main safe", "safe"
    )


@pytest.fixture
def cabinet(registration, clinic, clinic_admin):
    return actions.add_location(
        as_admin(clinic_admin, clinic), registration.pk, "Infusion room cabinet", "cabinet"
    )


@pytest.fixture
def vial(clinic, clinic_admin):
    """Ketamine 50 mg/mL, 10 mL vials: quantities in mL."""
    return actions.add_product(
        as_admin(clinic_admin, clinic),
        ndc="00000-0001-01",
        name="Ketamine HCl 50 mg/mL, 10 mL vial (demo NDC)",
        drug="racemic_ketamine",
        form="vial",
        mg_per_unit=Decimal("50"),
        unit="mL",
        units_per_package=Decimal("10"),
    )


def receive(who, registration, product, location, units, lot_number="L001", expires_on=None):
    return actions.receive(
        who,
        registration.pk,
        product_id=product.pk,
        lot_number=lot_number,
        expires_on=expires_on or timezone.localdate() + timedelta(days=365),
        location_id=location.pk,
        units=units,
        supplier="Acme Pharma",
        invoice="INV-1",
    )


@pytest.fixture
def lot(registration, vial, safe, clinic, nurse):
    """100 mL (ten vials) of lot L001 in the safe."""
    return receive(as_nurse(nurse, clinic), registration, vial, safe, "100").lot


def dispense(who, registration, lot, location, patient, units="10", dose_mg="35", **extra):
    return actions.dispense(
        who,
        registration.pk,
        lot_id=lot.pk,
        location_id=location.pk,
        units=units,
        patient_id=patient.pk,
        dose_mg=dose_mg,
        **extra,
    )


__all__ = ["Decimal", "date"]
