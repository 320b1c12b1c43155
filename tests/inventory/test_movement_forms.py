"""Each movement form calls its action: a good POST moves the stock, a bad one shows why on
the form and writes nothing, and a GET never writes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.inventory import actions
from ketacare.inventory.actions import Counted
from ketacare.inventory.models import (
    CountLine,
    Discrepancy,
    LedgerEntry,
    PhysicalCount,
    StockBalance,
)
from tests.conftest import PASSWORD
from tests.inventory.conftest import as_admin, as_nurse, dispense, receive


def units(lot, location):
    return StockBalance.objects.get(lot=lot, location=location).quantity_units


def stock(lot, location):
    return f"{lot.pk}:{location.pk}"


def refused(response, message):
    """The form came back with the message, and the page is the form again (not a redirect)."""
    assert response.status_code == 200
    assert message in response.content.decode(), response.content.decode()


@pytest.fixture
def dispensed(registration, lot, safe, patient, nurse, clinic):
    """10 mL (500 mg) out for a 35 mg dose: 465 mg to waste."""
    return dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)


# --- receive ----------------------------------------------------------------------------------


def receipt(vial, location, **changes):
    data = {
        "product": vial.pk,
        "lot_number": "L002",
        "expires_on": (timezone.localdate() + timedelta(days=300)).isoformat(),
        "location": location.pk,
        "quantity": "50",
        "supplier": "Acme Pharma",
        "invoice": "INV-7",
    }
    return {**data, **changes}


def test_receiving_adds_a_lot_to_the_stock(registration, vial, safe, nurse, as_user):
    response = as_user(nurse).post(reverse("inventory-receive"), receipt(vial, safe))
    assert response.status_code == 302
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.lot.lot_number, entry.quantity_mg) == (
        "receipt",
        "L002",
        Decimal("2500.00"),
    )
    assert units(entry.lot, safe) == 50


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": "0"}, "The quantity must be more than 0, got 0."),
        ({"quantity": "1.234"}, "at most two decimals"),
        ({"supplier": ""}, "Name the supplier."),
        ({"lot_number": ""}, "Write the lot number from the package."),
    ],
)
def test_a_bad_receipt_shows_why_and_writes_nothing(
    changes, message, registration, vial, safe, nurse, as_user
):
    response = as_user(nurse).post(reverse("inventory-receive"), receipt(vial, safe, **changes))
    refused(response, message)
    assert not LedgerEntry.objects.exists()
    assert not StockBalance.objects.exclude(quantity_units=0).exists()


def test_a_location_of_another_registration_is_not_offered(
    registration, vial, safe, nurse, as_user, outsider, other_clinic
):
    from ketacare.accounts.permissions import Role
    from tests.conftest import actor

    theirs = actions.create_registration(
        actor(outsider, other_clinic, Role.CLINIC_ADMIN), "BC1234563", "Harbor", ""
    )
    their_safe = actions.add_location(
        actor(outsider, other_clinic, Role.CLINIC_ADMIN), theirs.pk, "Harbor safe", "safe"
    )
    response = as_user(nurse).post(reverse("inventory-receive"), receipt(vial, their_safe))
    refused(response, "Select a valid choice")
    assert not LedgerEntry.objects.exists()


# --- dispense ---------------------------------------------------------------------------------


def test_dispensing_takes_stock_out_for_the_patient(lot, safe, patient, nurse, as_user):
    response = as_user(nurse).post(
        reverse("inventory-dispense"),
        {"stock": stock(lot, safe), "quantity": "10", "patient_mrn": patient.mrn, "dose_mg": "35"},
    )
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(kind="dispense")
    assert (entry.patient, entry.dose_mg, entry.quantity_mg) == (
        patient,
        Decimal("35.00"),
        Decimal("500.00"),
    )
    assert units(lot, safe) == 90


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": "0"}, "The quantity must be more than 0"),
        ({"quantity": "101"}, "Insufficient stock: lot L001 at Main safe holds 100.00"),
        ({"dose_mg": "600"}, "The dose (600 mg) is more than is dispensed"),
        ({"patient_mrn": "00000000"}, "No patient with MRN 00000000 at this clinic."),
        ({"patient_mrn": "00000011"}, "is not a valid MRN"),
    ],
)
def test_a_bad_dispense_shows_why_and_writes_nothing(
    changes, message, lot, safe, patient, nurse, as_user
):
    data = {"stock": stock(lot, safe), "quantity": "10", "patient_mrn": patient.mrn}
    response = as_user(nurse).post(
        reverse("inventory-dispense"), {**data, "dose_mg": "35", **changes}
    )
    refused(response, message)
    assert LedgerEntry.objects.count() == 1  # the receipt
    assert units(lot, safe) == 100


def test_another_clinics_patient_cannot_be_dispensed_to(
    lot, safe, nurse, outsider_patient, as_user
):
    response = as_user(nurse).post(
        reverse("inventory-dispense"),
        {
            "stock": stock(lot, safe),
            "quantity": "1",
            "patient_mrn": outsider_patient.mrn,
            "dose_mg": "10",
        },
    )
    refused(response, "at this clinic")
    assert LedgerEntry.objects.count() == 1


def test_an_expired_lot_needs_the_prescribers_override(
    registration, vial, safe, patient, nurse, prescriber, clinic, as_user
):
    old = receive(
        as_nurse(nurse, clinic),
        registration,
        vial,
        safe,
        "10",
        "OLD1",
        timezone.localdate() - timedelta(days=3),
    ).lot
    client = as_user(nurse)
    url = reverse("inventory-dispense")
    html = client.get(url).content.decode()
    assert "EXPIRED" in html
    assert 'name="override_password"' in html
    data = {"stock": stock(old, safe), "quantity": "1", "patient_mrn": patient.mrn, "dose_mg": "10"}
    refused(client.post(url, data), "Dispensing it needs a prescriber&#x27;s override")
    wrong = {**data, "override_username": "prescriber", "override_password": "nope"}
    refused(
        client.post(url, {**wrong, "override_reason": "Shortage"}), "signature was not accepted"
    )
    assert LedgerEntry.objects.count() == 1
    signed = {**data, "override_username": "prescriber", "override_password": PASSWORD}
    response = client.post(url, {**signed, "override_reason": "Shortage; pharmacist agreed"})
    assert response.status_code == 302
    assert LedgerEntry.objects.get(kind="dispense").override_by == prescriber


def test_the_override_fields_are_not_offered_without_an_expired_lot(lot, nurse, as_user):
    html = as_user(nurse).get(reverse("inventory-dispense")).content.decode()
    assert "override_password" not in html


# --- waste ------------------------------------------------------------------------------------


def waste_form(**changes):
    data = {
        "quantity": "9.3",
        "reason": "Remainder of a single-dose vial, into the sharps bin",
        "witness_username": "prescriber",
        "witness_password": PASSWORD,
    }
    return {**data, **changes}


def test_a_witnessed_waste_is_recorded_against_the_dispense(dispensed, prescriber, nurse, as_user):
    response = as_user(nurse).post(reverse("inventory-waste", args=[dispensed.pk]), waste_form())
    assert response.status_code == 302
    wasted = LedgerEntry.objects.get(kind="waste")
    assert (wasted.dispense, wasted.witness, wasted.quantity_mg) == (
        dispensed,
        prescriber,
        Decimal("465.00"),
    )


def test_the_witness_password_is_a_password_input_never_echoed(dispensed, nurse, as_user):
    url = reverse("inventory-waste", args=[dispensed.pk])
    html = as_user(nurse).get(url).content.decode()
    assert 'type="password" name="witness_password"' in html
    response = as_user(nurse).post(url, waste_form(witness_password="wrong-password"))
    assert "wrong-password" not in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"witness_password": "wrong"}, "The signature was not accepted. Nothing was recorded."),
        ({"witness_username": "nurse", "witness_password": PASSWORD}, "another person"),
        ({"witness_username": "researcher", "witness_password": PASSWORD}, "may not act as"),
        ({"reason": "  "}, "Write how and why it was wasted."),
        ({"quantity": "0"}, "The quantity must be more than 0"),
        ({"quantity": "9.4"}, "Only 465.00 mg of this dispense is left to waste"),
    ],
)
def test_a_bad_waste_shows_why_and_writes_nothing(
    changes, message, dispensed, nurse, staff, as_user
):
    before = LedgerEntry.objects.count()
    url = reverse("inventory-waste", args=[dispensed.pk])
    refused(as_user(nurse).post(url, waste_form(**changes)), message)
    assert LedgerEntry.objects.count() == before


def test_waste_is_only_against_a_dispense(lot, nurse, as_user):
    receipt_entry = LedgerEntry.objects.get(kind="receipt")
    response = as_user(nurse).get(reverse("inventory-waste", args=[receipt_entry.pk]))
    assert response.status_code == 302
    response = as_user(nurse).post(
        reverse("inventory-waste", args=[receipt_entry.pk]), waste_form()
    )
    assert response.status_code == 302
    assert LedgerEntry.objects.count() == 1


def test_the_waste_form_shows_what_is_left_to_waste(dispensed, nurse, as_user):
    html = as_user(nurse).get(reverse("inventory-waste", args=[dispensed.pk])).content.decode()
    # 10 mL of 50 mg/mL dispensed for a 35 mg dose: 465 mg, asked for in mL.
    assert "Left to waste: <strong>9.3 mL (465 mg)</strong>" in html
    assert '<label for="id_quantity">Quantity wasted (mL)' in html


def test_what_is_left_shrinks_with_each_waste(dispensed, nurse, prescriber, as_user):
    url = reverse("inventory-waste", args=[dispensed.pk])
    as_user(nurse).post(url, waste_form(quantity="9"))
    html = as_user(nurse).get(url).content.decode()
    assert "Left to waste: <strong>0.3 mL (15 mg)</strong>" in html


def test_a_reversed_dispense_takes_no_waste(dispensed, registration, nurse, clinic, as_user):
    # The reversal put all of it back in stock; a waste now would count its mg twice.
    actions.reverse(as_nurse(nurse, clinic), registration.pk, entry_id=dispensed.pk, reason="x")
    url = reverse("inventory-waste", args=[dispensed.pk])
    assert as_user(nurse).get(url).status_code == 302
    assert as_user(nurse).post(url, waste_form(quantity="1")).status_code == 302
    assert not LedgerEntry.objects.filter(kind="waste").exists()


# --- transfer, return, loss -------------------------------------------------------------------


def test_a_transfer_moves_stock_between_locations(lot, safe, cabinet, nurse, as_user):
    response = as_user(nurse).post(
        reverse("inventory-transfer"),
        {"stock": stock(lot, safe), "to_location": cabinet.pk, "quantity": "20"},
    )
    assert response.status_code == 302
    assert (units(lot, safe), units(lot, cabinet)) == (80, 20)


def test_a_transfer_to_the_same_place_is_refused(lot, safe, cabinet, nurse, as_user):
    response = as_user(nurse).post(
        reverse("inventory-transfer"),
        {"stock": stock(lot, safe), "to_location": safe.pk, "quantity": "20"},
    )
    refused(response, "A transfer needs two different locations.")
    assert units(lot, safe) == 100


def test_a_return_takes_stock_to_the_supplier(lot, safe, nurse, as_user):
    url = reverse("inventory-return")
    data = {"stock": stock(lot, safe), "quantity": "30", "reason": "Recalled"}
    refused(as_user(nurse).post(url, data), "Name the supplier or reverse distributor")
    assert units(lot, safe) == 100
    # Without the supplier's reference it is refused too (issue 13), through the form and the
    # action alike.
    refused(as_user(nurse).post(url, {**data, "supplier": "Acme Pharma"}), "for the return (return")
    assert units(lot, safe) == 100
    response = as_user(nurse).post(url, {**data, "supplier": "Acme Pharma", "reference": "RA-1029"})
    assert response.status_code == 302
    returned = LedgerEntry.objects.get(kind="return")
    assert (returned.supplier, returned.invoice) == ("Acme Pharma", "RA-1029")
    assert units(lot, safe) == 70


def test_the_return_action_needs_the_suppliers_reference(lot, safe, nurse, clinic):
    from ketacare.accounts.permissions import Role
    from tests.conftest import actor

    with pytest.raises(actions.StockError, match="supplier's reference"):
        actions.return_to_supplier(
            actor(nurse, clinic, Role.NURSE),
            lot.registration_id,
            lot_id=lot.pk,
            location_id=safe.pk,
            units="30",
            supplier="Acme Pharma",
            reference="  ",
            reason="Recalled",
        )
    assert units(lot, safe) == 100


LOSS_FACTS = {
    "discovered_on": "2026-11-28",
    "loss_type": "theft",
    "description": "Vial missing from the safe at the evening count.",
    "police_notified": "yes",
}


def test_a_loss_is_recorded_with_the_form_106_facts(lot, safe, clinic_admin, as_user):
    response = as_user(clinic_admin).post(
        reverse("inventory-loss"), {"stock": stock(lot, safe), "quantity": "10", **LOSS_FACTS}
    )
    assert response.status_code == 302
    loss = LedgerEntry.objects.get(kind="loss")
    assert loss.details == LOSS_FACTS
    assert units(lot, safe) == 90


def test_a_loss_without_its_facts_is_refused(lot, safe, clinic_admin, as_user):
    facts = {**LOSS_FACTS, "police_notified": "", "description": ""}
    response = as_user(clinic_admin).post(
        reverse("inventory-loss"), {"stock": stock(lot, safe), "quantity": "10", **facts}
    )
    refused(response, "A loss report needs whether the police were notified")
    refused(response, "A loss report needs what happened")
    assert not LedgerEntry.objects.filter(kind="loss").exists()


def test_a_nurse_cannot_report_a_loss(lot, safe, nurse, as_user):
    response = as_user(nurse).post(
        reverse("inventory-loss"), {"stock": stock(lot, safe), "quantity": "10", **LOSS_FACTS}
    )
    assert response.status_code == 403
    assert units(lot, safe) == 100


# --- reverse ----------------------------------------------------------------------------------


def test_a_reversal_undoes_the_entry(dispensed, lot, safe, nurse, as_user):
    url = reverse("inventory-reverse", args=[dispensed.pk])
    refused(as_user(nurse).post(url, {"reason": " "}), "Write why the entry is reversed.")
    assert units(lot, safe) == 90
    response = as_user(nurse).post(url, {"reason": "Wrong patient chosen"})
    assert response.status_code == 302
    assert LedgerEntry.objects.get(kind="reversal").corrects == dispensed
    assert units(lot, safe) == 100
    refused(as_user(nurse).post(url, {"reason": "again"}), "is already reversed")
    assert LedgerEntry.objects.filter(kind="reversal").count() == 1


def test_a_nurse_cannot_reverse_a_loss(
    lot, safe, nurse, clinic_admin, clinic, registration, as_user
):
    loss = actions.report_loss(
        as_admin(clinic_admin, clinic),
        registration.pk,
        lot_id=lot.pk,
        location_id=safe.pk,
        units="1",
        details=LOSS_FACTS,
    )
    response = as_user(nurse).post(
        reverse("inventory-reverse", args=[loss.pk]),
        {"reason": "x", "witness_username": "prescriber", "witness_password": PASSWORD},
    )
    refused(response, "Only a clinic admin may reverse a loss")
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


# --- counts and discrepancies -----------------------------------------------------------------


def test_a_count_with_a_difference_opens_a_discrepancy(lot, safe, cabinet, clinic_admin, as_user):
    client = as_user(clinic_admin)
    url = reverse("inventory-count-new")
    form = client.get(url).context["form"]
    assert form["kind"].value() == "initial"  # the registration's first count
    names = [field.name for _, field in form.lines()]
    assert names == [f"counted_{lot.pk}_{safe.pk}"]  # the empty cabinet has no balance row
    response = client.post(url, {"kind": "ad_hoc", names[0]: "97.5", "note": "Evening count"})
    assert response.status_code == 302
    line = CountLine.objects.get()
    assert (line.book_units, line.counted_units) == (Decimal("100.00"), Decimal("97.50"))
    assert Discrepancy.objects.get().line == line


@pytest.mark.parametrize(("value", "message"), [("", "Enter what was counted"), ("-1", "greater")])
def test_a_bad_count_writes_nothing(value, message, lot, safe, clinic_admin, as_user):
    response = as_user(clinic_admin).post(
        reverse("inventory-count-new"), {"kind": "ad_hoc", f"counted_{lot.pk}_{safe.pk}": value}
    )
    refused(response, message)
    assert not PhysicalCount.objects.exists()


@pytest.fixture
def discrepancy(registration, lot, safe, clinic_admin, clinic):
    count = actions.record_count(
        as_admin(clinic_admin, clinic),
        registration.pk,
        kind="ad_hoc",
        lines=[Counted(lot.pk, safe.pk, "98")],
    )
    return count.lines.get().discrepancy


def test_adjusting_a_discrepancy_sets_the_book_to_the_count(
    discrepancy, lot, safe, clinic_admin, as_user
):
    url = reverse("inventory-discrepancy", args=[discrepancy.pk])
    response = as_user(clinic_admin).post(
        url, {"resolution": "adjusted", "note": "Recounted twice; two vials short."}
    )
    assert response.status_code == 302
    discrepancy.refresh_from_db()
    assert discrepancy.resolution == "adjusted"
    assert discrepancy.entry.kind == "adjustment"
    assert units(lot, safe) == 98
    # Once resolved, the page shows the outcome and offers no form.
    response = as_user(clinic_admin).get(url)
    assert response.context["form"] is None
    assert "Book adjusted to the count" in response.content.decode()


def test_resolving_as_a_loss_needs_the_form_106_facts(
    discrepancy, lot, safe, clinic_admin, as_user
):
    url = reverse("inventory-discrepancy", args=[discrepancy.pk])
    client = as_user(clinic_admin)
    refused(
        client.post(url, {"resolution": "loss", "note": "Not found"}),
        "A loss report needs the date the loss was discovered",
    )
    refused(client.post(url, {"resolution": "explained", "note": ""}), "Write what was found.")
    discrepancy.refresh_from_db()
    assert discrepancy.is_open
    assert units(lot, safe) == 100
    response = client.post(url, {"resolution": "loss", "note": "Not found", **LOSS_FACTS})
    assert response.status_code == 302
    assert LedgerEntry.objects.get(kind="loss").quantity_units == 2
    assert units(lot, safe) == 98


# --- nothing on GET; refused roles ------------------------------------------------------------


def test_opening_the_forms_writes_nothing(dispensed, discrepancy, clinic_admin, as_user):
    client = as_user(clinic_admin)
    before = LedgerEntry.objects.count()
    for url in [
        reverse("inventory-receive"),
        reverse("inventory-dispense"),
        reverse("inventory-transfer"),
        reverse("inventory-return"),
        reverse("inventory-loss"),
        reverse("inventory-count-new"),
        reverse("inventory-setup"),
        reverse("inventory-waste", args=[dispensed.pk]),
        reverse("inventory-reverse", args=[dispensed.pk]),
        reverse("inventory-discrepancy", args=[discrepancy.pk]),
    ]:
        assert client.get(url).status_code == 200, url
    assert LedgerEntry.objects.count() == before
    assert PhysicalCount.objects.count() == 1
    assert Discrepancy.objects.get().is_open


@pytest.mark.parametrize("role", ["researcher", "coordinator"])
def test_researchers_and_coordinators_are_refused_and_nothing_moves(
    role, staff, lot, safe, cabinet, dispensed, as_user
):
    client = as_user(staff[role])
    before = LedgerEntry.objects.count()
    posts = [
        (reverse("inventory-transfer"), {"stock": stock(lot, safe), "to_location": cabinet.pk}),
        (reverse("inventory-reverse", args=[dispensed.pk]), {"reason": "x"}),
        (reverse("inventory-waste", args=[dispensed.pk]), waste_form()),
        (reverse("inventory-ledger"), {}),
    ]
    for url, data in posts:
        assert client.post(url, {**data, "quantity": "1"}).status_code == 403, url
        assert client.get(url).status_code == 403, url
    assert LedgerEntry.objects.count() == before
