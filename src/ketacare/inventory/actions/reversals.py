"""Correcting a mistaken entry with one that undoes it and names it: nothing in the ledger is
edited. What would put controlled substance back on the book needs a witness."""

from django.db import transaction

from ketacare.accounts.models import User
from ketacare.accounts.permissions import allowed
from ketacare.actor import Actor
from ketacare.inventory.actions.checks import Kind, StockError, locked_registration
from ketacare.inventory.actions.ledger import append
from ketacare.inventory.actions.signatures import REVERSAL_WITNESS, Signature, confirm_witness
from ketacare.inventory.models import Discrepancy, LedgerEntry

WITNESSED_REVERSALS: dict[str, str] = {
    Kind.WASTE: "a waste",
    Kind.LOSS: "a loss",
    Kind.RECEIPT: "a receipt",
}


def reversal_needs_witness(entry: LedgerEntry) -> bool:
    return entry.kind in WITNESSED_REVERSALS


def reverse(
    actor: Actor,
    registration_id: int,
    *,
    entry_id: int,
    reason: str,
    witness: Signature | None = None,
) -> LedgerEntry:
    """Correct a mistaken entry with one that undoes it and names it; nothing is edited.
    Reversing a waste, a loss or a receipt needs a witness (``WITNESSED_REVERSALS``)."""
    witness_user = None
    if witness is not None:
        witness_user = confirm_witness(actor, witness, prompt=REVERSAL_WITNESS)
    return _reverse(
        actor, registration_id, entry_id=entry_id, reason=reason, witness_user=witness_user
    )


@transaction.atomic
def _reverse(
    actor: Actor, registration_id: int, *, entry_id: int, reason: str, witness_user: User | None
) -> LedgerEntry:
    registration = locked_registration(actor, registration_id)
    original = (
        LedgerEntry.objects.select_related("lot__product")
        .filter(pk=entry_id, registration=registration)
        .first()
    )
    if original is None:
        raise StockError("Unknown entry.")
    if original.kind == Kind.REVERSAL:
        raise StockError("A reversal cannot itself be reversed; record the movement again.")
    if LedgerEntry.objects.filter(corrects=original).exists():
        raise StockError(f"Entry #{original.sequence} is already reversed.")
    if not reason.strip():
        raise StockError("Write why the entry is reversed.")
    if reversal_needs_witness(original) and witness_user is None:
        raise StockError(
            f"Reversing {WITNESSED_REVERSALS[original.kind]} needs a witness: another person "
            "who signs with their own username and password."
        )
    if original.kind in (Kind.LOSS, Kind.ADJUSTMENT) and not allowed(actor.role, "inventory.count"):
        raise StockError("Only a clinic admin may reverse a loss or a count adjustment.")
    if Discrepancy.objects.filter(entry=original).exists():
        raise StockError(
            f"Entry #{original.sequence} resolved a count discrepancy; record a new count "
            "instead of reversing it."
        )
    if original.kind == Kind.DISPENSE and hasattr(original, "session"):
        # Dispensed for a treatment session: the dose went into the patient with it.
        raise StockError(
            f"Entry #{original.sequence} is the dose of a treatment session: a dose that was "
            "given cannot be reversed. Waste what was left over, with a witness."
        )
    if (
        original.kind == Kind.DISPENSE
        and LedgerEntry.objects.filter(
            dispense=original, kind=Kind.WASTE, reversed_by__isnull=True
        ).exists()
    ):
        raise StockError("Reverse the wastes of this dispense first.")
    # Back the way it came: what went out comes in again, and the other way round.
    source, target = original.to_location, original.from_location
    return append(
        actor,
        registration,
        kind=Kind.REVERSAL,
        lot=original.lot,
        from_location=source,
        to_location=target,
        quantity_units=original.quantity_units,
        quantity_mg=original.quantity_mg,
        patient=original.patient,
        corrects=original,
        reason=reason.strip(),
        witness=witness_user,
    )
