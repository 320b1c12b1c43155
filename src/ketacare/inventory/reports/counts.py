"""The record of a physical count: each lot and place with its book and counted quantity. For
an initial or biennial count, the inventory the DEA requires."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ketacare.inventory.models import CountLine, PhysicalCount, Registration
from ketacare.inventory.reports.entries import staff_name, strength


@dataclass(frozen=True)
class CountSheetLine:
    product: str
    ndc: str
    strength: str
    lot_number: str
    expires_on: date
    location: str
    unit: str
    book_units: Decimal
    counted_units: Decimal
    difference_units: Decimal
    book_mg: Decimal
    counted_mg: Decimal
    difference_mg: Decimal
    discrepancy: str


@dataclass(frozen=True)
class CountSheet:
    count: PhysicalCount
    kind: str
    counted_at: datetime
    counted_by: str
    lines: list[CountSheetLine]

    @property
    def open_discrepancies(self) -> int:
        return sum(1 for line in self.lines if line.discrepancy == "open")


def count_for(registrations: Iterable[Registration], count_id: int) -> PhysicalCount | None:
    """The count, if it is one of these registrations'."""
    return (
        PhysicalCount.objects.select_related("registration", "counted_by")
        .filter(pk=count_id, registration__in=list(registrations))
        .first()
    )


def _discrepancy(line: CountLine) -> str:
    discrepancy = getattr(line, "discrepancy", None)
    if discrepancy is None:
        return ""
    if discrepancy.is_open:
        return "open"
    return str(discrepancy.get_resolution_display())


def count_sheet(count: PhysicalCount) -> CountSheet:
    """The inventory record of a physical count: each lot and place with its book and counted
    quantity and the difference (counted − book)."""
    lines = (
        CountLine.objects.filter(count=count)
        .select_related("lot__product", "location", "discrepancy")
        .order_by("lot__product__name", "lot__lot_number", "location__name", "pk")
    )
    sheet_lines = []
    for line in lines:
        product = line.lot.product
        sheet_lines.append(
            CountSheetLine(
                product=product.name,
                ndc=product.ndc,
                strength=strength(product),
                lot_number=line.lot.lot_number,
                expires_on=line.lot.expires_on,
                location=line.location.name,
                unit=product.unit,
                book_units=line.book_units,
                counted_units=line.counted_units,
                difference_units=line.difference,
                book_mg=product.mg(line.book_units),
                counted_mg=product.mg(line.counted_units),
                difference_mg=product.mg(line.difference),
                discrepancy=_discrepancy(line),
            )
        )
    return CountSheet(
        count=count,
        kind=count.get_kind_display(),
        counted_at=count.counted_at,
        counted_by=staff_name(count.counted_by),
        lines=sheet_lines,
    )


def recent_counts(registrations: Iterable[Registration], limit: int = 20) -> list[PhysicalCount]:
    return list(
        PhysicalCount.objects.filter(registration__in=list(registrations))
        .select_related("registration", "counted_by")
        .order_by("-counted_at", "-pk")[:limit]
    )
