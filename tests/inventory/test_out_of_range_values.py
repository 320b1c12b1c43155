"""Quantities and dates out of bounds in the ledger and its reports (issue 13: a quantity of
1e999999 in any inventory form, a report dated 0001-01-01 or 9999-12-31, were server errors):
refused with a message naming the value, from the page and from the action the command line
and the synthetic writer call; nothing is written."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import StockError
from ketacare.inventory.models import LedgerEntry
from tests.inventory.conftest import as_admin, as_nurse

HUGE = "1e999999"
BOUNDS_MESSAGE = "must be between 1900-01-01 and"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (HUGE, "must be a number, got '1e999999'"),
        ("10000000", r"must be at most 9+\.99, got '10000000'"),
    ],
)
@pytest.mark.parametrize(
    "move",
    ["receive", "dispense", "dispense dose", "transfer", "return", "loss", "product"],
)
def test_a_huge_quantity_is_refused_by_every_movement(
    amount,
    message,
    move,
    registration,
    vial,
    lot,
    safe,
    cabinet,
    patient,
    nurse,
    clinic_admin,
    clinic,
):
    who, admin = as_nurse(nurse, clinic), as_admin(clinic_admin, clinic)
    entries = LedgerEntry.objects.count()
    at = {"lot_id": lot.pk}
    calls = {
        "receive": lambda: inventory.receive(
            who,
            registration.pk,
            product_id=vial.pk,
            lot_number="L002",
            expires_on=timezone.localdate() + timedelta(days=300),
            location_id=safe.pk,
            units=amount,
            supplier="Acme Pharma",
            invoice="INV-9",
        ),
        "dispense": lambda: inventory.dispense(
            who,
            registration.pk,
            **at,
            location_id=safe.pk,
            units=amount,
            patient_id=patient.pk,
            dose_mg="35",
        ),
        "dispense dose": lambda: inventory.dispense(
            who,
            registration.pk,
            **at,
            location_id=safe.pk,
            units="10",
            patient_id=patient.pk,
            dose_mg=amount,
        ),
        "transfer": lambda: inventory.transfer(
            who,
            registration.pk,
            **at,
            from_location_id=safe.pk,
            to_location_id=cabinet.pk,
            units=amount,
        ),
        "return": lambda: inventory.return_to_supplier(
            who,
            registration.pk,
            **at,
            location_id=safe.pk,
            units=amount,
            supplier="Acme",
            reference="RA-1",
            reason="expired",
        ),
        "loss": lambda: inventory.report_loss(
            admin,
            registration.pk,
            **at,
            location_id=safe.pk,
            units=amount,
            details={
                "discovered_on": "2026-01-05",
                "loss_type": "theft",
                "description": "gone",
                "police_notified": "yes",
            },
        ),
        "product": lambda: inventory.add_product(
            admin,
            ndc="00000-0002-01",
            name="Ketamine",
            drug="racemic_ketamine",
            form="vial",
            mg_per_unit=amount,
            unit="mL",
            units_per_package="10",
        ),
    }
    with pytest.raises(StockError, match=message):
        calls[move]()
    assert LedgerEntry.objects.count() == entries


def test_the_receive_form_shows_the_message(registration, vial, safe, nurse, as_user):
    data = {
        "product": vial.pk,
        "lot_number": "L002",
        "expires_on": (timezone.localdate() + timedelta(days=300)).isoformat(),
        "location": safe.pk,
        "quantity": HUGE,
        "supplier": "Acme Pharma",
        "invoice": "INV-7",
    }
    response = as_user(nurse).post(reverse("inventory-receive"), data)
    assert response.status_code == 200
    assert "The quantity must be a number, got &#x27;1e999999&#x27;." in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_a_count_too_large_for_a_balance_is_refused(registration, lot, safe, clinic_admin, clinic):
    with pytest.raises(StockError, match=r"up to 9999999\.99"):
        inventory.record_count(
            as_admin(clinic_admin, clinic),
            registration.pk,
            kind="ad_hoc",
            lines=[inventory.Counted(lot.pk, safe.pk, "1" + "0" * 12)],
        )


def test_a_balance_cannot_grow_past_its_column(registration, vial, safe, lot, nurse, clinic):
    # The lot holds 100 mL; another 9,999,999.99 would not fit the balance's nine digits.
    with pytest.raises(StockError, match=r"The stock at Main safe must be at most 9999999\.99"):
        inventory.receive(
            as_nurse(nurse, clinic),
            registration.pk,
            product_id=vial.pk,
            lot_number=lot.lot_number,
            expires_on=lot.expires_on,
            location_id=safe.pk,
            units="9999999.99",
            supplier="Acme Pharma",
            invoice="INV-8",
        )
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("report", "params"),
    [
        ("inventory-report-dispensing", {"end": "0001-01-01"}),
        ("inventory-report-receipts", {"end": "0001-01-01"}),
        ("inventory-report-dispensing", {"start": "9999-12-30", "end": "9999-12-31"}),
        ("inventory-reconciliation", {"date": "9999-12-31"}),
    ],
)
def test_an_inventory_report_refuses_a_date_out_of_bounds(
    report, params, registration, clinic_admin, as_user
):
    response = as_user(clinic_admin).get(reverse(report), params)
    assert response.status_code == 400
    assert BOUNDS_MESSAGE in response.content.decode()
