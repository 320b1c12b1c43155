"""The daily reconciliation: whether each dispense of a day is accounted for by its dose and
standing waste, within the product's measuring precision, and the lots about to expire."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ketacare.clinical.datafiles import load
from ketacare.inventory.actions import policy
from ketacare.inventory.models import Product, Registration, StockBalance
from ketacare.inventory.reports.dispensing import DispenseLine, dispense_line, dispenses
from ketacare.inventory.reports.scope import day_start


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
    entries = dispenses(registrations).filter(
        occurred_at__gte=day_start(day), occurred_at__lt=day_start(day + timedelta(days=1))
    )
    lines = [reconcile(dispense_line(e), e.lot.product) for e in entries]
    warning_days = int(policy()["expiry_warning_days"])
    return Reconciliation(
        day=day,
        lines=lines,
        expiring=expiring_lots(registrations, today, warning_days),
        warning_days=warning_days,
    )
