"""Physical counts against the book, and the discrepancies they open and how each is resolved
(explained, the book adjusted to the count, or reported as a loss). ``write_count`` builds a
count's rows for the action and for the synthetic clinic's bulk path alike."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.bounds import OutOfBounds, check_decimal, decimal_limit, shown
from ketacare.inventory.actions.checks import (
    BALANCE_UNITS,
    Kind,
    StockError,
    location_of,
    locked_balance,
    locked_registration,
    lot_of,
)
from ketacare.inventory.actions.ledger import append
from ketacare.inventory.actions.movements import report_loss
from ketacare.inventory.models import (
    CountLine,
    Discrepancy,
    Location,
    Lot,
    PhysicalCount,
    Registration,
)
from ketacare.writes import DATABASE, Writes


@dataclass(frozen=True)
class Counted:
    lot_id: int
    location_id: int
    units: Any


def _counted(value: Any, lot: Lot) -> Decimal:
    """A counted quantity: zero or more, at most two decimals, what a balance holds."""
    try:
        number = check_decimal(value, max_digits=BALANCE_UNITS[0], decimal_places=BALANCE_UNITS[1])
    except OutOfBounds:
        number = Decimal(-1)
    if number < 0:
        raise StockError(
            f"Count for lot {lot.lot_number}: a number of zero or more with at most two "
            f"decimals, up to {decimal_limit(*BALANCE_UNITS)}, got {shown(value)}."
        )
    return number


@transaction.atomic
def record_count(
    actor: Actor,
    registration_id: int,
    *,
    kind: str,
    lines: list[Counted],
    note: str = "",
    counted_at: datetime | None = None,
) -> PhysicalCount:
    """A physical count against the book; each difference opens a discrepancy."""
    registration = locked_registration(actor, registration_id)
    if kind not in PhysicalCount.Kind.values:
        raise StockError(f"Unknown count kind {kind!r}.")
    if not lines:
        raise StockError("A count needs at least one counted lot.")
    seen = set()
    checked = []
    for counted in lines:
        lot = lot_of(registration, counted.lot_id)
        location = location_of(registration, counted.location_id)
        if (lot.pk, location.pk) in seen:
            raise StockError(f"Lot {lot.lot_number} at {location.name} is counted twice.")
        seen.add((lot.pk, location.pk))
        units = _counted(counted.units, lot)
        checked.append(Line(lot, location, units, locked_balance(lot, location).quantity_units))
    return write_count(
        DATABASE, actor, registration, kind=kind, lines=checked, note=note, counted_at=counted_at
    )


@dataclass(frozen=True)
class Line:
    """A counted lot at a location, checked, with what the book holds there."""

    lot: Lot
    location: Location
    counted: Decimal
    book: Decimal


def write_count(
    writes: Writes,
    actor: Actor,
    registration: Registration,
    *,
    kind: str,
    lines: list[Line],
    note: str,
    counted_at: datetime | None = None,
) -> PhysicalCount:
    """The count, its lines, a discrepancy for each line that differs from the book, and its
    audit event."""
    count = writes.add(
        PhysicalCount(
            registration=registration,
            kind=kind,
            counted_at=counted_at or actor.now(),
            counted_by=actor.user,
            note=note.strip(),
        )
    )
    discrepancies = 0
    for checked in lines:
        line = writes.add(
            CountLine(
                count=count,
                lot=checked.lot,
                location=checked.location,
                book_units=checked.book,
                counted_units=checked.counted,
            )
        )
        if line.difference:
            writes.add(Discrepancy(line=line, registration=registration, opened_at=actor.now()))
            discrepancies += 1
    writes.record(
        actor,
        Action.CREATE,
        obj=count,
        changes={"kind": kind, "lines": len(lines), "discrepancies": discrepancies},
    )
    return count


@transaction.atomic
def resolve_discrepancy(
    actor: Actor,
    registration_id: int,
    *,
    discrepancy_id: int,
    resolution: str,
    note: str,
    loss_details: dict[str, str] | None = None,
) -> Discrepancy:
    """Close a discrepancy: explain it (book kept), adjust the book to the count, or report
    the shortfall as a loss with its DEA Form 106 facts."""
    registration = locked_registration(actor, registration_id)
    discrepancy = (
        Discrepancy.objects.select_for_update()
        .select_related("line__lot__product", "line__location")
        .filter(pk=discrepancy_id, registration=registration)
        .first()
    )
    if discrepancy is None:
        raise StockError("Unknown discrepancy.")
    if not discrepancy.is_open:
        raise StockError("This discrepancy is already resolved.")
    if not note.strip():
        raise StockError("Write what was found.")
    line = discrepancy.line
    difference = line.difference
    entry = None
    if resolution == Discrepancy.Resolution.ADJUSTED:
        amount = abs(difference)
        entry = append(
            actor,
            registration,
            kind=Kind.ADJUSTMENT,
            lot=line.lot,
            from_location=line.location if difference < 0 else None,
            to_location=line.location if difference > 0 else None,
            quantity_units=amount,
            quantity_mg=line.lot.product.mg(amount),
            reason=note.strip(),
            details={"count": line.count_id, "line": line.pk},
        )
    elif resolution == Discrepancy.Resolution.LOSS:
        if difference > 0:
            raise StockError("The count found more than the book: that is not a loss.")
        entry = report_loss(
            actor,
            registration.pk,
            lot_id=line.lot_id,
            location_id=line.location_id,
            units=abs(difference),
            details=loss_details or {},
        )
    elif resolution != Discrepancy.Resolution.EXPLAINED:
        raise StockError(f"Unknown resolution {resolution!r}.")
    discrepancy.resolution, discrepancy.note, discrepancy.entry = resolution, note.strip(), entry
    discrepancy.resolved_by, discrepancy.resolved_at = actor.user, actor.now()
    discrepancy.save()
    record(
        actor,
        Action.UPDATE,
        obj=discrepancy,
        changes={"resolution": resolution, "note": discrepancy.note, "difference": str(difference)},
    )
    return discrepancy
