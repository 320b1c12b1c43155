"""What every movement checks before it writes: the refusal, the quantities the ledger's
columns hold, and the registration, lot, location and balance it acts on (the registration and
the balances locked, so that writers of one ledger queue and a balance is read as it stands)."""

from decimal import Decimal
from typing import Any

from ketacare.actor import Actor
from ketacare.bounds import OutOfBounds, check_decimal, digits_of
from ketacare.clinical.datafiles import load
from ketacare.inventory.models import (
    LedgerEntry,
    Location,
    Lot,
    Product,
    Registration,
    StockBalance,
)
from ketacare.refusals import ActionRefused

Kind = LedgerEntry.Kind
# Entries that move stock, by the direction a reversal takes them back.
STOCK_KINDS = {Kind.RECEIPT, Kind.DISPENSE, Kind.RETURN, Kind.TRANSFER, Kind.LOSS, Kind.ADJUSTMENT}


class StockError(ActionRefused):
    """A refused movement; the message says why. Nothing was written."""


def policy() -> dict[str, Any]:
    return load("policy", package="ketacare.inventory")


def _digits(model: Any, field: str) -> tuple[int, int]:
    return digits_of(model._meta.get_field(field))


# The columns that hold quantities: what they hold is the most anyone may enter.
LEDGER_UNITS = _digits(LedgerEntry, "quantity_units")
LEDGER_MG = _digits(LedgerEntry, "quantity_mg")
BALANCE_UNITS = _digits(StockBalance, "quantity_units")
PRODUCT_AMOUNT = _digits(Product, "mg_per_unit")


def bounded(value: Any, digits: tuple[int, int], what: str) -> Decimal:
    """``value`` as a decimal its column holds, or StockError naming ``what``."""
    try:
        return check_decimal(value, max_digits=digits[0], decimal_places=digits[1], what=what)
    except OutOfBounds as error:
        raise StockError(str(error)) from None


def quantity(value: Any, what: str = "quantity", digits: tuple[int, int] = LEDGER_UNITS) -> Decimal:
    """A positive quantity with at most two decimals that the ledger's column holds, or
    StockError naming what is wrong."""
    number = bounded(value, digits, f"The {what}")
    if number <= 0:
        raise StockError(f"The {what} must be more than 0, got {value}.")
    return number


def locked_registration(actor: Actor, registration_id: int) -> Registration:
    """The registration, locked: every writer of its ledger queues here."""
    try:
        return Registration.objects.select_for_update().get(pk=registration_id, clinic=actor.clinic)
    except Registration.DoesNotExist:
        raise StockError("Unknown DEA registration for this clinic.") from None


def lot_of(registration: Registration, lot_id: int) -> Lot:
    lot = Lot.objects.select_related("product").filter(pk=lot_id, registration=registration).first()
    if lot is None:
        raise StockError("Unknown lot: choose a lot of this registration.")
    return lot


def location_of(registration: Registration, location_id: int | None) -> Location:
    location = (
        Location.objects.filter(pk=location_id, registration=registration).first()
        if location_id is not None
        else None
    )
    if location is None:
        raise StockError("Unknown storage location: choose one of this registration.")
    return location


def locked_balance(lot: Lot, location: Location) -> StockBalance:
    """The lot's balance at the location, locked (a new lot's or place's starts at 0)."""
    balance, _ = StockBalance.objects.select_for_update().get_or_create(lot=lot, location=location)
    return balance
