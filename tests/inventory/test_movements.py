"""Each movement changes the balances it should, refuses bad input with a clear message, and
writes nothing when refused."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.inventory import actions
from ketacare.inventory.actions import Signature, StockError
from ketacare.inventory.chain import verify
from ketacare.inventory.models import LedgerEntry, Registration, StockBalance
from tests.conftest import PASSWORD
from tests.inventory.conftest import as_admin, as_nurse, dispense, receive, witness


def units(lot, location):
    return StockBalance.objects.get(lot=lot, location=location).quantity_units


def test_receipt_dispense_and_waste(registration, lot, safe, patient, nurse, prescriber, clinic):
    who = as_nurse(nurse, clinic)
    assert units(lot, safe) == 100
    out = dispense(who, registration, lot, safe, patient, units="10", dose_mg="35")
    assert out.quantity_mg == Decimal("500.00")
    assert units(lot, safe) == 90
    wasted = actions.waste(
        who,
        registration.pk,
        dispense_id=out.pk,
        units="9.3",
        reason="Remainder of single-dose vial, drawn into sharps bin",
        witness=witness(prescriber),
    )
    assert wasted.quantity_mg == Decimal("465.00")
    assert wasted.witness == prescriber
    assert units(lot, safe) == 90  # a waste disposes of dispensed drug, not of stock
    assert verify([registration]) == []
    assert AuditEvent.objects.filter(object_type="ledgerentry").count() == 3


@pytest.mark.parametrize("bad", ["0", "-5", "abc", "1.234", "NaN", "Infinity"])
def test_bad_quantities_are_refused(bad, registration, lot, safe, patient, nurse, clinic):
    before = LedgerEntry.objects.count()
    with pytest.raises(StockError, match="quantity"):
        dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, units=bad)
    assert LedgerEntry.objects.count() == before
    assert units(lot, safe) == 100


def test_more_than_the_balance_is_refused(registration, lot, safe, patient, nurse, clinic):
    with pytest.raises(StockError, match="Insufficient stock: lot L001 at Main safe holds 100"):
        dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, units="100.5")
    assert units(lot, safe) == 100


def test_an_unknown_lot_or_another_clinic_s_registration_is_refused(
    registration, lot, safe, patient, nurse, clinic, outsider, other_clinic
):
    from tests.conftest import actor

    with pytest.raises(StockError, match="Unknown lot"):
        actions.dispense(
            as_nurse(nurse, clinic),
            registration.pk,
            lot_id=999999,
            location_id=safe.pk,
            units="1",
            patient_id=patient.pk,
            dose_mg="10",
        )
    with pytest.raises(StockError, match="Unknown DEA registration"):
        dispense(actor(outsider, other_clinic), registration, lot, safe, patient)


def test_a_waste_witness_must_sign_and_be_someone_else(
    registration, lot, safe, patient, nurse, prescriber, clinic
):
    who = as_nurse(nurse, clinic)
    out = dispense(who, registration, lot, safe, patient)
    before = LedgerEntry.objects.count()
    for signature, message in [
        (None, "must sign"),
        (Signature(prescriber.get_username(), "wrong"), "signature was not accepted"),
        (witness(nurse), "another person"),
    ]:
        with pytest.raises(StockError, match=message):
            actions.waste(
                who, registration.pk, dispense_id=out.pk, units="1", reason="r", witness=signature
            )
    assert LedgerEntry.objects.count() == before


def test_a_researcher_cannot_witness(registration, lot, safe, patient, nurse, researcher, clinic):
    who = as_nurse(nurse, clinic)
    out = dispense(who, registration, lot, safe, patient)
    with pytest.raises(StockError, match="may not act as the witness"):
        actions.waste(
            who,
            registration.pk,
            dispense_id=out.pk,
            units="1",
            reason="r",
            witness=witness(researcher),
        )


def test_waste_cannot_exceed_what_the_dose_left(
    registration, lot, safe, patient, nurse, prescriber, clinic
):
    who = as_nurse(nurse, clinic)
    out = dispense(who, registration, lot, safe, patient, units="10", dose_mg="35")
    with pytest.raises(StockError, match=r"Only 465\.00 mg of this dispense is left"):
        actions.waste(
            who,
            registration.pk,
            dispense_id=out.pk,
            units="9.4",
            reason="r",
            witness=witness(prescriber),
        )


def test_an_expired_lot_needs_a_prescriber_override(
    registration, vial, safe, patient, nurse, prescriber, clinic
):
    who = as_nurse(nurse, clinic)
    old = receive(
        who, registration, vial, safe, "10", "OLD1", timezone.localdate() - timedelta(days=1)
    ).lot
    with pytest.raises(StockError, match="expired on"):
        dispense(who, registration, old, safe, patient, units="1", dose_mg="10")
    with pytest.raises(StockError, match="reason"):
        dispense(
            who,
            registration,
            old,
            safe,
            patient,
            units="1",
            dose_mg="10",
            expiry_override=witness(prescriber),
        )
    entry = dispense(
        who,
        registration,
        old,
        safe,
        patient,
        units="1",
        dose_mg="10",
        expiry_override=witness(prescriber),
        override_reason="Supply shortage; pharmacist ok",
    )
    assert entry.override_by == prescriber


def test_a_nurse_cannot_override_an_expiry(registration, vial, safe, patient, nurse, clinic, staff):
    from ketacare.accounts.actions import create_staff
    from ketacare.actor import SYSTEM

    other_nurse = create_staff(
        SYSTEM, clinic=clinic, username="n2", password=PASSWORD, role="nurse"
    )
    who = as_nurse(nurse, clinic)
    old = receive(
        who, registration, vial, safe, "10", "OLD1", timezone.localdate() - timedelta(days=1)
    ).lot
    with pytest.raises(StockError, match="may not act as the prescriber"):
        dispense(
            who,
            registration,
            old,
            safe,
            patient,
            units="1",
            dose_mg="10",
            expiry_override=witness(other_nurse),
            override_reason="x",
        )


def test_transfer_moves_between_locations(registration, lot, safe, cabinet, nurse, clinic):
    actions.transfer(
        as_nurse(nurse, clinic),
        registration.pk,
        lot_id=lot.pk,
        from_location_id=safe.pk,
        to_location_id=cabinet.pk,
        units="20",
    )
    assert (units(lot, safe), units(lot, cabinet)) == (80, 20)


def test_a_reversal_undoes_an_entry_and_names_it(registration, lot, safe, patient, nurse, clinic):
    who = as_nurse(nurse, clinic)
    out = dispense(who, registration, lot, safe, patient)
    back = actions.reverse(who, registration.pk, entry_id=out.pk, reason="Wrong patient chosen")
    assert back.corrects == out
    assert units(lot, safe) == 100
    with pytest.raises(StockError, match="already reversed"):
        actions.reverse(who, registration.pk, entry_id=out.pk, reason="again")
    assert verify([registration]) == []


def test_a_loss_needs_the_form_106_facts(registration, lot, safe, clinic_admin, clinic):
    who = as_admin(clinic_admin, clinic)
    with pytest.raises(StockError, match="the date the loss was discovered"):
        actions.report_loss(
            who, registration.pk, lot_id=lot.pk, location_id=safe.pk, units="10", details={}
        )
    loss = actions.report_loss(
        who,
        registration.pk,
        lot_id=lot.pk,
        location_id=safe.pk,
        units="10",
        details={
            "discovered_on": "2026-11-28",
            "loss_type": "theft",
            "description": "Vial missing from the safe at the evening count.",
            "police_notified": "yes",
        },
    )
    assert loss.details["loss_type"] == "theft"
    assert units(lot, safe) == 90


def test_a_failure_half_way_leaves_no_entry(
    registration, lot, safe, patient, nurse, clinic, monkeypatch
):
    """As if the server died after the entry was written but before the balance moved."""
    from ketacare import writes

    def explode(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(writes, "record", explode)
    with pytest.raises(RuntimeError):
        dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    assert LedgerEntry.objects.count() == 1  # the receipt only
    assert units(lot, safe) == 100
    assert Registration.objects.get(pk=registration.pk).last_sequence == 1
    assert verify([registration]) == []
