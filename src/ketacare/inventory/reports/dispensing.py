"""The dispensing log: every dispense with its patient, dose, the waste recorded against it
and its witness. The daily reconciliation reads the same lines."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from ketacare.inventory.models import LedgerEntry, Registration
from ketacare.inventory.reports.entries import Reversal, staff_name, strength
from ketacare.inventory.reports.scope import Period

Kind = LedgerEntry.Kind


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


def dispenses(registrations: Iterable[Registration]) -> QuerySet[LedgerEntry]:
    """The registrations' dispenses, oldest first, each with its waste (two queries)."""
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


def dispense_line(entry: LedgerEntry) -> DispenseLine:
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
    entries = dispenses(registrations).filter(
        occurred_at__gte=period.since, occurred_at__lt=period.until
    )
    if limit is not None:
        entries = entries[:limit]
    return [dispense_line(entry) for entry in entries]
