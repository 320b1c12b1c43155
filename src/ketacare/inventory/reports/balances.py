"""Stock on hand: each lot at each location, and the total of each product."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ketacare.inventory.models import Product, Registration, StockBalance
from ketacare.inventory.reports.entries import strength


@dataclass(frozen=True)
class BalanceLine:
    dea_number: str
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
    expired: bool


@dataclass(frozen=True)
class ProductTotal:
    product: str
    ndc: str
    units: Decimal
    unit: str
    mg: Decimal


@dataclass(frozen=True)
class Balances:
    lines: list[BalanceLine]
    totals: list[ProductTotal]


def balances(registrations: Iterable[Registration], today: date) -> Balances:
    """What is on hand now, per product, lot and location (empty places left out), with the
    total of each product."""
    rows = (
        StockBalance.objects.filter(lot__registration__in=list(registrations), quantity_units__gt=0)
        .select_related("lot__registration", "lot__product", "location")
        .order_by("lot__product__name", "lot__expires_on", "lot__lot_number", "location__name")
    )
    lines = []
    sums: dict[int, tuple[Product, Decimal, Decimal]] = {}
    for balance in rows:
        product = balance.lot.product
        mg = product.mg(balance.quantity_units)
        lines.append(
            BalanceLine(
                dea_number=balance.lot.registration.dea_number,
                drug=product.get_drug_display(),
                product=product.name,
                ndc=product.ndc,
                strength=strength(product),
                lot_number=balance.lot.lot_number,
                expires_on=balance.lot.expires_on,
                location=balance.location.name,
                units=balance.quantity_units,
                unit=product.unit,
                mg=mg,
                expired=balance.lot.expires_on < today,
            )
        )
        _, units, total_mg = sums.get(product.pk, (product, Decimal(0), Decimal(0)))
        sums[product.pk] = (product, units + balance.quantity_units, total_mg + mg)
    totals = [
        ProductTotal(product.name, product.ndc, units, product.unit, mg)
        for product, units, mg in sums.values()
    ]
    return Balances(lines, totals)
