"""Stock in from a supplier: a delivery into a new or known lot, received into a location.
``write_receive`` builds it (the lot if it is new, and its receipt at the ledger's head), for
the action and for the synthetic clinic's bulk path alike."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.bounds import OutOfBounds, check_date
from ketacare.inventory.actions.checks import (
    Kind,
    StockError,
    location_of,
    locked_registration,
    quantity,
)
from ketacare.inventory.actions.ledger import (
    Balances,
    checkpoint_if_due,
    locked_balances,
    write_entry,
)
from ketacare.inventory.models import LedgerEntry, Location, Lot, Product, Registration
from ketacare.writes import DATABASE, Writes


def write_receive(
    writes: Writes,
    actor: Actor,
    registration: Registration,
    balances: Balances,
    *,
    lot: Lot,
    location: Location,
    units: Decimal,
    supplier: str,
    invoice: str,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """The lot (added when it is new: no primary key yet) and its receipt into ``location``."""
    if lot.pk is None:
        writes.add(lot)
    return write_entry(
        writes,
        actor,
        registration,
        balances,
        kind=Kind.RECEIPT,
        occurred_at=occurred_at,
        lot=lot,
        to_location=location,
        quantity_units=units,
        quantity_mg=lot.product.mg(units),
        supplier=supplier.strip(),
        invoice=invoice.strip(),
    )


@transaction.atomic
def receive(
    actor: Actor,
    registration_id: int,
    *,
    product_id: int,
    lot_number: str,
    expires_on: date,
    location_id: int,
    units: Any,
    supplier: str,
    invoice: str,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Stock in from a supplier, into a new or known lot."""
    registration = locked_registration(actor, registration_id)
    amount = quantity(units)
    try:
        check_date(expires_on, actor.today(), "The expiry date")
    except OutOfBounds as error:
        raise StockError(str(error)) from None
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise StockError("Unknown product.")
    if not lot_number.strip():
        raise StockError("Write the lot number from the package.")
    if not supplier.strip() or not invoice.strip():
        raise StockError("A receipt needs the supplier and the invoice (or DEA Form 222) number.")
    location = location_of(registration, location_id)
    lot = Lot.objects.filter(
        registration=registration, product=product, lot_number=lot_number.strip()
    ).first()
    if lot is None:
        lot = Lot(
            registration=registration,
            product=product,
            lot_number=lot_number.strip(),
            expires_on=expires_on,
        )
    elif lot.expires_on != expires_on:
        raise StockError(
            f"Lot {lot.lot_number} is on record with expiry {lot.expires_on}, not {expires_on}."
        )
    entry = write_receive(
        DATABASE,
        actor,
        registration,
        locked_balances(lot, location),
        lot=lot,
        location=location,
        units=amount,
        supplier=supplier,
        invoice=invoice,
        occurred_at=occurred_at,
    )
    checkpoint_if_due(registration)
    return entry
