"""A witness or an overriding prescriber signs on the ledger's forms as at sign-in
(``accounts.reauth``), from the action and from a direct POST: failures count toward their
lock-out and are audited, a locked or another clinic's account is refused in the same words as a
wrong password, and a witness with an authenticator gives its code. Reversing a waste, a loss or
a receipt needs such a witness."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.actions import create_staff
from ketacare.actor import SYSTEM
from ketacare.inventory import actions
from ketacare.inventory.actions import Signature, StockError
from ketacare.inventory.models import LedgerEntry
from tests.accounts.reauth_checks import (
    REFUSED,
    authenticator,
    code_for,
    fail_sign_in_until_locked,
    prompt_failures,
    sign_in_is_locked,
)
from tests.conftest import PASSWORD
from tests.inventory.conftest import as_admin, as_nurse, dispense, receive, witness

LOSS_FACTS = {
    "discovered_on": "2026-11-28",
    "loss_type": "theft",
    "description": "Vial missing from the safe at the evening count.",
    "police_notified": "yes",
}


@pytest.fixture
def dispensed(registration, lot, safe, patient, nurse, clinic):
    """10 mL (500 mg) out for a 35 mg dose: 465 mg to waste."""
    return dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)


@pytest.fixture
def other_admin(other_clinic):
    """Another clinic's admin, whose password is right but who does not work here."""
    return create_staff(
        SYSTEM, clinic=other_clinic, username="other-admin", password=PASSWORD, role="clinic_admin"
    )


def waste(nurse, clinic, registration, dispensed, signature):
    return actions.waste(
        as_nurse(nurse, clinic),
        registration.pk,
        dispense_id=dispensed.pk,
        units="1",
        reason="Remainder of the vial, into the drug waste container",
        witness=signature,
    )


def refusal(call, *args):
    with pytest.raises(StockError) as refused:
        call(*args)
    return str(refused.value)


def wastes():
    return LedgerEntry.objects.filter(kind="waste").count()


# --- the waste witness, from the action -------------------------------------------------------


def test_five_wrong_witness_passwords_lock_the_witness_out(
    dispensed, registration, nurse, prescriber, clinic
):
    args = (nurse, clinic, registration, dispensed)
    for n in range(settings.AXES_FAILURE_LIMIT):
        assert refusal(waste, *args, Signature("prescriber", f"guess {n}")) == REFUSED
    # Locked out: the right password is refused too, here and at the login page.
    assert refusal(waste, *args, witness(prescriber)) == REFUSED
    assert sign_in_is_locked(prescriber)
    events = prompt_failures("waste witness")
    assert len(events) == settings.AXES_FAILURE_LIMIT + 1
    assert {event.actor for event in events} == {nurse}
    assert wastes() == 0


def test_a_locked_out_account_cannot_witness(dispensed, registration, nurse, prescriber, clinic):
    fail_sign_in_until_locked(prescriber)
    assert refusal(waste, nurse, clinic, registration, dispensed, witness(prescriber)) == REFUSED
    assert wastes() == 0


def test_another_clinics_admin_reads_like_a_wrong_password(
    dispensed, registration, nurse, clinic, other_admin
):
    args = (nurse, clinic, registration, dispensed)
    wrong = refusal(waste, *args, Signature("prescriber", "not it"))
    elsewhere = refusal(waste, *args, witness(other_admin))
    assert wrong == elsewhere == REFUSED
    reasons = [event.changes["reason"] for event in prompt_failures("waste witness")]
    assert reasons == ["credentials", "not at this clinic"]
    assert wastes() == 0


def test_a_witness_with_an_authenticator_gives_its_code(
    dispensed, registration, nurse, prescriber, clinic
):
    device = authenticator(prescriber)
    args = (nurse, clinic, registration, dispensed)
    assert refusal(waste, *args, witness(prescriber)) == REFUSED
    wasted = waste(*args, Signature("prescriber", PASSWORD, code_for(device)))
    assert wasted.witness == prescriber


def test_the_expiry_override_is_a_sign_in_too(
    registration, vial, safe, patient, nurse, clinic, other_clinic
):
    elsewhere = create_staff(
        SYSTEM, clinic=other_clinic, username="far", password=PASSWORD, role="prescriber"
    )
    who = as_nurse(nurse, clinic)
    old = receive(
        who, registration, vial, safe, "10", "OLD1", timezone.localdate() - timedelta(days=1)
    ).lot
    assert "expired on" in refusal(dispense, who, registration, old, safe, patient, "1", "10")
    with pytest.raises(StockError, match=REFUSED):
        dispense(
            who,
            registration,
            old,
            safe,
            patient,
            units="1",
            dose_mg="10",
            expiry_override=witness(elsewhere),
            override_reason="Shortage",
        )
    [event] = prompt_failures("expired lot override")
    assert event.changes["username"] == "far"
    assert not LedgerEntry.objects.filter(kind="dispense").exists()


# --- the waste witness, from the page ---------------------------------------------------------


def waste_form(**changes):
    data = {
        "quantity": "1",
        "reason": "Remainder of the vial, into the drug waste container",
        "witness_username": "prescriber",
        "witness_password": PASSWORD,
    }
    return {**data, **changes}


def page_says(response):
    assert response.status_code == 200
    return response.content.decode()


def test_the_waste_page_refuses_alike_and_locks_the_witness_out(
    dispensed, nurse, prescriber, other_admin, as_user
):
    client, url = as_user(nurse), reverse("inventory-waste", args=[dispensed.pk])
    elsewhere = page_says(
        client.post(url, waste_form(witness_username="other-admin"))
    )  # the right password, of someone who does not work here
    assert REFUSED in elsewhere
    for n in range(settings.AXES_FAILURE_LIMIT):
        assert REFUSED in page_says(client.post(url, waste_form(witness_password=f"guess {n}")))
    assert REFUSED in page_says(client.post(url, waste_form()))  # locked out now
    assert sign_in_is_locked(prescriber)
    assert len(prompt_failures("waste witness")) == settings.AXES_FAILURE_LIMIT + 2
    assert wastes() == 0


def test_the_waste_page_takes_the_witness_code(dispensed, nurse, prescriber, as_user):
    device = authenticator(prescriber)
    client, url = as_user(nurse), reverse("inventory-waste", args=[dispensed.pk])
    assert 'name="witness_code"' in client.get(url).content.decode()
    assert REFUSED in page_says(client.post(url, waste_form()))
    response = client.post(url, waste_form(witness_code=code_for(device)))
    assert response.status_code == 302
    assert LedgerEntry.objects.get(kind="waste").witness == prescriber


# --- reversals need a witness -----------------------------------------------------------------


@pytest.fixture
def wasted(dispensed, registration, nurse, prescriber, clinic):
    return waste(nurse, clinic, registration, dispensed, witness(prescriber))


def reverse_entry(who, registration, entry, signature=None):
    return actions.reverse(
        who, registration.pk, entry_id=entry.pk, reason="Entered twice", witness=signature
    )


def reversals():
    return LedgerEntry.objects.filter(kind="reversal").count()


def test_a_nurse_alone_cannot_reverse_a_witnessed_waste(
    wasted, registration, nurse, prescriber, researcher, clinic
):
    who = as_nurse(nurse, clinic)
    assert "needs a witness" in refusal(reverse_entry, who, registration, wasted)
    assert "another person" in refusal(reverse_entry, who, registration, wasted, witness(nurse))
    assert "may not act as the witness" in refusal(
        reverse_entry, who, registration, wasted, witness(researcher)
    )
    wrong = Signature("prescriber", "not it")
    assert refusal(reverse_entry, who, registration, wasted, wrong) == REFUSED
    assert len(prompt_failures("reversal witness")) == 1
    assert reversals() == 0
    back = reverse_entry(who, registration, wasted, witness(prescriber))
    assert (back.corrects, back.witness, back.reason) == (wasted, prescriber, "Entered twice")


def test_reversing_a_receipt_or_a_loss_needs_a_witness(
    registration, lot, safe, nurse, prescriber, clinic_admin, clinic
):
    receipt = LedgerEntry.objects.get(kind="receipt")
    admin = as_admin(clinic_admin, clinic)
    loss = actions.report_loss(
        admin, registration.pk, lot_id=lot.pk, location_id=safe.pk, units="1", details=LOSS_FACTS
    )
    assert "Reversing a loss needs a witness" in refusal(reverse_entry, admin, registration, loss)
    assert reverse_entry(admin, registration, loss, witness(prescriber)).witness == prescriber
    who = as_nurse(nurse, clinic)
    assert "Reversing a receipt needs a witness" in refusal(
        reverse_entry, who, registration, receipt
    )
    assert reverse_entry(who, registration, receipt, witness(prescriber)).witness == prescriber


def test_a_mistaken_dispense_is_reversed_without_a_witness(dispensed, registration, nurse, clinic):
    back = reverse_entry(as_nurse(nurse, clinic), registration, dispensed)
    assert back.corrects == dispensed and back.witness is None


def test_the_reversal_page_asks_for_a_witness_where_one_is_needed(
    wasted, dispensed, nurse, prescriber, as_user
):
    client = as_user(nurse)
    url = reverse("inventory-reverse", args=[wasted.pk])
    assert 'name="witness_password"' in client.get(url).content.decode()
    assert (
        "witness_password"
        not in client.get(reverse("inventory-reverse", args=[dispensed.pk])).content.decode()
    )
    # A nurse alone, posting straight to the page: refused, nothing written.
    assert "The witness must sign" in page_says(client.post(url, {"reason": "Entered twice"}))
    wrong = {"reason": "Entered twice", "witness_username": "prescriber", "witness_password": "x"}
    assert REFUSED in page_says(client.post(url, wrong))
    assert reversals() == 0
    signed = {**wrong, "witness_password": PASSWORD}
    assert client.post(url, signed).status_code == 302
    assert LedgerEntry.objects.get(kind="reversal").witness == prescriber
