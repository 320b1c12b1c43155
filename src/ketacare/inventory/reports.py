"""The controlled-substance records a DEA inspector asks for (clinical-reference §6), read from
the ledger: dispensing with its witnessed waste, receipts, balances, physical counts, and the
daily reconciliation of each dispense with its dose and waste.

Each function takes the registrations to report on and returns plain dataclasses, so the
screen, the printable page and the CSV render the same rows, and tests need no HTTP. Every
function runs a fixed number of queries, however many entries it returns.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from ketacare.accounts.models import Clinic, User
from ketacare.bounds import OutOfBounds, parse_date
from ketacare.clinical.datafiles import load
from ketacare.inventory.actions import policy
from ketacare.inventory.models import (
    CountLine,
    LedgerEntry,
    PhysicalCount,
    Product,
    Registration,
    StockBalance,
)

Kind = LedgerEntry.Kind
DEFAULT_DAYS = 30
# Records are kept at least two years; three years covers any inspection without letting one
# request read the whole ledger.
MAX_RANGE_DAYS = 3 * 366


class RangeError(ValueError):
    """A date or date range that cannot be reported on; the message says why."""


@dataclass(frozen=True)
class Period:
    """Whole local days, ``start`` to ``end`` inclusive."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        return day_start(self.start)

    @property
    def until(self) -> datetime:
        """The first instant after the period."""
        return day_start(self.end + timedelta(days=1))

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def parse_day(value: str | None, what: str, default: date) -> date:
    """A YYYY-MM-DD date, ``default`` when empty, or RangeError naming what is wrong."""
    try:
        day = parse_date(value, timezone.localdate(), f"The {what} date")
    except OutOfBounds as error:
        raise RangeError(str(error)) from None
    return default if day is None else day


def parse_period(start: str | None, end: str | None, today: date) -> Period:
    """The range from query parameters; by default the last 30 days up to today."""
    last = parse_day(end, "end", today)
    first = parse_day(start, "start", last - timedelta(days=DEFAULT_DAYS - 1))
    if last < first:
        raise RangeError(f"The end date ({last}) is before the start date ({first}).")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise RangeError(
            f"A report covers at most {MAX_RANGE_DAYS} days; {first} to {last} is "
            f"{(last - first).days + 1} days. Choose a shorter range."
        )
    return Period(first, last)


def registrations_of(clinic: Clinic | None) -> QuerySet[Registration]:
    return Registration.objects.filter(clinic=clinic).order_by("name", "dea_number")


def staff_name(user: User | None) -> str:
    if user is None:
        return ""
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else str(user.get_username())


def plain(number: Decimal) -> str:
    """A decimal without trailing zeros: 50.00 → "50", 0.50 → "0.5"."""
    return f"{Decimal(number).normalize():f}"


def strength(product: Product) -> str:
    return f"{plain(product.mg_per_unit)} mg/{product.unit}"


def _reversal(entry: LedgerEntry) -> LedgerEntry | None:
    # Selected with the entry; an absent reverse one-to-one raises an AttributeError subclass.
    return getattr(entry, "reversed_by", None)


@dataclass(frozen=True)
class Reversal:
    sequence: int
    occurred_at: datetime
    staff: str
    reason: str

    @classmethod
    def of(cls, entry: LedgerEntry) -> "Reversal | None":
        reversal = _reversal(entry)
        if reversal is None:
            return None
        return cls(
            reversal.sequence, reversal.occurred_at, staff_name(reversal.actor), reversal.reason
        )


# --- dispensing log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WasteLine:
    sequence: int
    occurred_at: datetime
    units: Decimal
    mg: Decimal
    staff: str
    witness: str
    reason: str
    reversal: Reversal | None


@dataclass(frozen=True)
class DispenseLine:
    id: int
    dea_number: str
    sequence: int
    occurred_at: datetime
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
    dose_mg: Decimal | None
    patient: str
    mrn: str
    staff: str
    expiry_override_by: str
    reversal: Reversal | None
    wastes: list[WasteLine] = field(default_factory=list)

    @property
    def wasted_mg(self) -> Decimal:
        """Waste that stands: reversed wastes are not counted."""
        return sum((w.mg for w in self.wastes if w.reversal is None), Decimal("0.00"))


def _dispenses(registrations: Iterable[Registration]) -> QuerySet[LedgerEntry]:
    wastes = (
        LedgerEntry.objects.filter(kind=Kind.WASTE)
        .select_related("actor", "witness", "reversed_by__actor")
        .order_by("sequence")
    )
    return (
        LedgerEntry.objects.filter(registration__in=list(registrations), kind=Kind.DISPENSE)
        .select_related(
            "registration",
            "lot__product",
            "from_location",
            "patient",
            "actor",
            "override_by",
            "reversed_by__actor",
        )
        .prefetch_related(Prefetch("wastes", queryset=wastes))
        .order_by("occurred_at", "registration_id", "sequence")
    )


def _dispense_line(entry: LedgerEntry) -> DispenseLine:
    product = entry.lot.product
    patient = entry.patient
    return DispenseLine(
        id=entry.pk,
        dea_number=entry.registration.dea_number,
        sequence=entry.sequence,
        occurred_at=entry.occurred_at,
        drug=product.get_drug_display(),
        product=product.name,
        ndc=product.ndc,
        strength=strength(product),
        lot_number=entry.lot.lot_number,
        expires_on=entry.lot.expires_on,
        location=entry.from_location.name if entry.from_location else "",
        units=entry.quantity_units,
        unit=product.unit,
        mg=entry.quantity_mg,
        dose_mg=entry.dose_mg,
        patient=patient.full_name if patient else "",
        mrn=patient.mrn if patient else "",
        staff=staff_name(entry.actor),
        expiry_override_by=staff_name(entry.override_by),
        reversal=Reversal.of(entry),
        wastes=[
            WasteLine(
                sequence=w.sequence,
                occurred_at=w.occurred_at,
                units=w.quantity_units,
                mg=w.quantity_mg,
                staff=staff_name(w.actor),
                witness=staff_name(w.witness),
                reason=w.reason,
                reversal=Reversal.of(w),
            )
            for w in entry.wastes.all()
        ],
    )


def dispensing_log(
    registrations: Iterable[Registration], period: Period, limit: int | None = None
) -> list[DispenseLine]:
    """Every dispense in the period, oldest first, with all waste recorded against it (also
    waste recorded after the period) and its witness; reversals are marked, not hidden."""
    entries = _dispenses(registrations).filter(
        occurred_at__gte=period.since, occurred_at__lt=period.until
    )
    if limit is not None:
        entries = entries[:limit]
    return [_dispense_line(entry) for entry in entries]


# --- receipts ---------------------------------------------------------------------------------


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
            kind=Kind.RECEIPT,
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


# --- balances ---------------------------------------------------------------------------------


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


# --- physical counts --------------------------------------------------------------------------


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
    return discrepancy.get_resolution_display()


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


# --- daily reconciliation ---------------------------------------------------------------------


def tolerance_mg(product: Product) -> Decimal:
    """How far dose + waste may differ from what was dispensed: one syringe step of a vial's
    solution, or the clinic's tolerance for a nasal device."""
    if product.form == Product.Form.VIAL:
        step_ml = Decimal(str(load("dose_policy")["volume_step_ml"]))
        return (step_ml * product.mg_per_unit).quantize(Decimal("0.01"))
    return Decimal(str(policy()["device_tolerance_mg"])).quantize(Decimal("0.01"))


class Status:
    RECONCILED = "reconciled"
    REVERSED = "reversed"
    NO_DOSE = "no_dose"
    WASTE_MISSING = "waste_missing"
    MISMATCH = "mismatch"


STATUS_LABELS = {
    Status.RECONCILED: "Reconciled",
    Status.REVERSED: "Reversed: nothing to reconcile",
    Status.NO_DOSE: "No dose recorded",
    Status.WASTE_MISSING: "Waste not recorded",
    Status.MISMATCH: "Does not reconcile",
}


@dataclass(frozen=True)
class ReconciliationLine:
    dispense: DispenseLine
    dispensed_mg: Decimal
    dose_mg: Decimal | None
    wasted_mg: Decimal
    unaccounted_mg: Decimal  # dispensed − dose − wasted
    tolerance_mg: Decimal
    status: str

    @property
    def flagged(self) -> bool:
        return self.status not in (Status.RECONCILED, Status.REVERSED)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class ExpiringLot:
    dea_number: str
    product: str
    lot_number: str
    expires_on: date
    location: str
    units: Decimal
    unit: str
    days_left: int

    @property
    def expired(self) -> bool:
        return self.days_left < 0


@dataclass(frozen=True)
class Reconciliation:
    day: date
    lines: list[ReconciliationLine]
    expiring: list[ExpiringLot]
    warning_days: int

    @property
    def flagged(self) -> list[ReconciliationLine]:
        return [line for line in self.lines if line.flagged]


def _status(line: DispenseLine, unaccounted: Decimal, tolerance: Decimal) -> str:
    if line.reversal is not None:
        return Status.REVERSED
    if line.dose_mg is None:
        return Status.NO_DOSE
    if abs(unaccounted) <= tolerance:
        return Status.RECONCILED
    if not any(w.reversal is None for w in line.wastes):
        return Status.WASTE_MISSING
    return Status.MISMATCH


def reconcile(line: DispenseLine, product: Product) -> ReconciliationLine:
    """Whether dose + standing waste account for what was dispensed, within ``product``'s
    measuring precision."""
    tolerance = tolerance_mg(product)
    wasted = line.wasted_mg
    unaccounted = line.mg - (line.dose_mg or Decimal(0)) - wasted
    return ReconciliationLine(
        dispense=line,
        dispensed_mg=line.mg,
        dose_mg=line.dose_mg,
        wasted_mg=wasted,
        unaccounted_mg=unaccounted,
        tolerance_mg=tolerance,
        status=_status(line, unaccounted, tolerance),
    )


def expiring_lots(
    registrations: Iterable[Registration], today: date, days: int
) -> list[ExpiringLot]:
    """Lots in stock that expire within ``days`` of today, or have expired, soonest first."""
    rows = (
        StockBalance.objects.filter(
            lot__registration__in=list(registrations),
            quantity_units__gt=0,
            lot__expires_on__lte=today + timedelta(days=days),
        )
        .select_related("lot__registration", "lot__product", "location")
        .order_by("lot__expires_on", "lot__product__name", "lot__lot_number", "location__name")
    )
    return [
        ExpiringLot(
            dea_number=b.lot.registration.dea_number,
            product=b.lot.product.name,
            lot_number=b.lot.lot_number,
            expires_on=b.lot.expires_on,
            location=b.location.name,
            units=b.quantity_units,
            unit=b.lot.product.unit,
            days_left=(b.lot.expires_on - today).days,
        )
        for b in rows
    ]


def daily_reconciliation(
    registrations: Sequence[Registration], day: date, today: date
) -> Reconciliation:
    """Each dispense of ``day`` against its dose and waste, and the lots about to expire."""
    entries = _dispenses(registrations).filter(
        occurred_at__gte=day_start(day), occurred_at__lt=day_start(day + timedelta(days=1))
    )
    lines = [reconcile(_dispense_line(e), e.lot.product) for e in entries]
    warning_days = int(policy()["expiry_warning_days"])
    return Reconciliation(
        day=day,
        lines=lines,
        expiring=expiring_lots(registrations, today, warning_days),
        warning_days=warning_days,
    )
