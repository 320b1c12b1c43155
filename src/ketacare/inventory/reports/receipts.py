"""The receipt log: stock received from suppliers, with invoice or DEA Form 222 number."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ketacare.inventory.models import LedgerEntry, Registration
from ketacare.inventory.reports.entries import Reversal, staff_name, strength
from ketacare.inventory.reports.scope import Period


@dataclass(frozen=True)
class ReceiptLine:
    dea_number: str
    sequence: int
    occurred_at: datetime
    supplier: str
    invoice: str
    drug: str
    product: str
    ndc: str
    strength: str
    lot_number: str
    expires_on: date
    location: str
    units: Decimal
    unit: str
    mg: Decimal
    staff: str
    reversal: Reversal | None


def receipt_log(
    registrations: Iterable[Registration], period: Period, limit: int | None = None
) -> list[ReceiptLine]:
    """Every receipt in the period, oldest first; reversed receipts are marked."""
    entries = (
        LedgerEntry.objects.filter(
            registration__in=list(registrations),
            kind=LedgerEntry.Kind.RECEIPT,
            occurred_at__gte=period.since,
            occurred_at__lt=period.until,
        )
        .select_related(
            "registration", "lot__product", "to_location", "actor", "reversed_by__actor"
        )
        .order_by("occurred_at", "registration_id", "sequence")
    )
    if limit is not None:
        entries = entries[:limit]
    return [
        ReceiptLine(
            dea_number=e.registration.dea_number,
            sequence=e.sequence,
            occurred_at=e.occurred_at,
            supplier=e.supplier,
            invoice=e.invoice,
            drug=e.lot.product.get_drug_display(),
            product=e.lot.product.name,
            ndc=e.lot.product.ndc,
            strength=strength(e.lot.product),
            lot_number=e.lot.lot_number,
            expires_on=e.lot.expires_on,
            location=e.to_location.name if e.to_location else "",
            units=e.quantity_units,
            unit=e.lot.product.unit,
            mg=e.quantity_mg,
            staff=staff_name(e.actor),
            reversal=Reversal.of(e),
        )
        for e in entries
    ]
