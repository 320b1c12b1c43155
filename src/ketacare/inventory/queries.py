"""Read-only questions the ledger's pages ask: what is in stock, what a dispense has left to
waste, the rows of a count sheet, the entries and discrepancies of a clinic. Nothing here
writes; the pages' writes go through ``inventory.actions``. The DEA reports have their own
package, ``inventory.reports``."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from ketacare.accounts.models import Clinic
from ketacare.inventory import actions
from ketacare.inventory.models import (
    Discrepancy,
    LedgerEntry,
    Location,
    PhysicalCount,
    Product,
    Registration,
    StockBalance,
)

Kind = LedgerEntry.Kind
# Stock lists read product by product, the soonest-expiring lot first.
STOCK_ORDER = ("lot__product__name", "lot__expires_on", "lot__lot_number", "location__name")


def registrations(clinic: Clinic | None) -> QuerySet[Registration]:
    """The clinic's DEA registrations, first set up first."""
    return Registration.objects.filter(clinic=clinic).order_by("pk")


# --- stock ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockRow:
    balance: StockBalance
    mg: Decimal
    expired: bool
    expiring: bool
    days_left: int


@dataclass
class ProductStock:
    product: Product
    rows: list[StockRow]

    @property
    def units(self) -> Decimal:
        return sum((row.balance.quantity_units for row in self.rows), Decimal(0))

    @property
    def mg(self) -> Decimal:
        return sum((row.mg for row in self.rows), Decimal(0))


def stock_by_registration(
    registrations: list[Registration], today: date
) -> dict[int, list[ProductStock]]:
    """Balances with stock, per registration and product, in one query."""
    warning_days = int(actions.policy()["expiry_warning_days"])
    balances = (
        StockBalance.objects.filter(lot__registration__in=registrations, quantity_units__gt=0)
        .select_related("lot__product", "location")
        .order_by(*STOCK_ORDER)
    )
    stock: dict[int, dict[int, ProductStock]] = {r.pk: {} for r in registrations}
    for balance in balances:
        lot = balance.lot
        days_left = (lot.expires_on - today).days
        row = StockRow(
            balance=balance,
            mg=lot.product.mg(balance.quantity_units),
            expired=days_left < 0,
            expiring=0 <= days_left <= warning_days,
            days_left=days_left,
        )
        products = stock[lot.registration_id]
        products.setdefault(lot.product_id, ProductStock(lot.product, [])).rows.append(row)
    return {pk: list(products.values()) for pk, products in stock.items()}


def stock_with_units(registration: Registration) -> list[StockBalance]:
    """The lot × location balances of the registration that hold stock, one query."""
    return list(
        StockBalance.objects.filter(lot__registration=registration, quantity_units__gt=0)
        .select_related("lot__product", "location")
        .order_by(*STOCK_ORDER)
    )


def locations(registration: Registration) -> QuerySet[Location]:
    return registration.locations.order_by("name")


def products() -> QuerySet[Product]:
    return Product.objects.order_by("name")


# --- ledger entries ---------------------------------------------------------------------------


def entries_of(clinic: Clinic | None) -> QuerySet[LedgerEntry]:
    """The clinic's entries, each with what its page shows of it."""
    return LedgerEntry.objects.filter(registration__clinic=clinic).select_related(
        "registration",
        "lot__product",
        "from_location",
        "to_location",
        "patient",
        "actor",
        "witness",
        "corrects",
        "reversed_by",
    )


def ledger(registration: Registration) -> QuerySet[LedgerEntry]:
    """Every entry of the registration, newest first."""
    return (
        LedgerEntry.objects.filter(registration=registration)
        .select_related(
            "lot__product",
            "from_location",
            "to_location",
            "patient",
            "actor",
            "witness",
            "override_by",
            "corrects",
            "dispense",
            "reversed_by",
        )
        .order_by("-sequence")
    )


def is_reversed(entry: LedgerEntry) -> bool:
    return LedgerEntry.objects.filter(corrects=entry).exists()


def left_to_waste(dispenses: list[LedgerEntry]) -> dict[int, Decimal]:
    """What each dispense's dose left and no (unreversed) waste has taken, in mg, in one
    query: shown on the waste form and deciding the ledger's waste links; the action itself
    is the one that enforces it."""
    wastes = LedgerEntry.objects.filter(kind=Kind.WASTE, reversed_by__isnull=True)
    wasted = dict(
        wastes.filter(dispense__in=dispenses)
        .values("dispense")
        .annotate(total=Sum("quantity_mg"))
        .values_list("dispense", "total")
    )
    return {
        d.pk: d.quantity_mg - (d.dose_mg or 0) - wasted.get(d.pk, Decimal(0)) for d in dispenses
    }


# --- counts and discrepancies -----------------------------------------------------------------


def count_sheet_rows(registration: Registration, today: date) -> list[StockBalance]:
    """Every place stock is on the book, and the empty places of lots still in date (where
    stock could turn up); long-empty expired lots would only lengthen the sheet."""
    return list(
        StockBalance.objects.filter(lot__registration=registration)
        .filter(Q(quantity_units__gt=0) | Q(lot__expires_on__gte=today))
        .select_related("lot__product", "location")
        .order_by(*STOCK_ORDER)
    )


def has_counts(registration: Registration) -> bool:
    return registration.counts.exists()


def count_summary(count: PhysicalCount) -> tuple[int, int]:
    """(lines counted, discrepancies opened) of a count just recorded."""
    return count.lines.count(), count.lines.filter(discrepancy__isnull=False).count()


def discrepancies_of(clinic: Clinic | None) -> QuerySet[Discrepancy]:
    """The clinic's discrepancies, each with its count line, lot and resolution."""
    return Discrepancy.objects.filter(registration__clinic=clinic).select_related(
        "registration",
        "line__count__counted_by",
        "line__lot__product",
        "line__location",
        "entry",
        "resolved_by",
    )


def open_discrepancy_count(clinic: Clinic | None) -> int:
    return Discrepancy.objects.filter(registration__clinic=clinic, resolved_at__isnull=True).count()


def open_discrepancies(clinic: Clinic | None) -> list[Discrepancy]:
    """Oldest first: the longest open is the first to look into."""
    return list(
        discrepancies_of(clinic).filter(resolved_at__isnull=True).order_by("opened_at", "pk")
    )


def resolved_discrepancies(clinic: Clinic | None, limit: int) -> list[Discrepancy]:
    """The last ``limit`` resolved, newest first."""
    resolved = discrepancies_of(clinic).filter(resolved_at__isnull=False)
    return list(resolved.order_by("-resolved_at")[:limit])
