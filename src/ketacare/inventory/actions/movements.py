"""Stock out of and between the cabinets: a dispense for a patient, the waste of what a
dispense left over, a transfer between locations, a return to the supplier and a loss. Each
runs in one transaction that appends the ledger entry, moves the balances and writes the audit
event (``ledger.append``); a refusal raises StockError before anything is written, and a
failure part-way rolls all of it back."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from ketacare.accounts.models import User
from ketacare.actor import Actor
from ketacare.bounds import OutOfBounds, parse_date
from ketacare.inventory.actions.checks import (
    Kind,
    StockError,
    location_of,
    locked_registration,
    lot_of,
    quantity,
)
from ketacare.inventory.actions.ledger import append
from ketacare.inventory.actions.signatures import (
    EXPIRY_OVERRIDE,
    WASTE_WITNESS,
    Signature,
    confirm_signer,
    confirm_witness,
)
from ketacare.inventory.models import LedgerEntry
from ketacare.patients.models import Patient


def dispense(
    actor: Actor,
    registration_id: int,
    *,
    lot_id: int,
    location_id: int,
    units: Any,
    patient_id: int,
    dose_mg: Any,
    plan_id: int | None = None,
    expiry_override: Signature | None = None,
    override_reason: str = "",
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Stock out for one patient's administration. An expired lot needs a prescriber's
    override (they sign with their own credentials) with a reason."""
    override_by = None
    if expiry_override is not None:
        override_by = confirm_signer(
            actor,
            expiry_override,
            "inventory.override_expiry",
            "prescriber",
            prompt=EXPIRY_OVERRIDE,
        )
    return _dispense(
        actor,
        registration_id,
        lot_id=lot_id,
        location_id=location_id,
        units=units,
        patient_id=patient_id,
        dose_mg=dose_mg,
        plan_id=plan_id,
        override_by=override_by,
        override_reason=override_reason,
        occurred_at=occurred_at,
    )


@transaction.atomic
def _dispense(
    actor: Actor,
    registration_id: int,
    *,
    lot_id: int,
    location_id: int,
    units: Any,
    patient_id: int,
    dose_mg: Any,
    plan_id: int | None,
    override_by: User | None,
    override_reason: str,
    occurred_at: datetime | None,
) -> LedgerEntry:
    registration = locked_registration(actor, registration_id)
    amount = quantity(units)
    lot = lot_of(registration, lot_id)
    location = location_of(registration, location_id)
    patient = Patient.objects.filter(pk=patient_id, clinic=actor.clinic).first()
    if patient is None:
        raise StockError("Unknown patient: dispense to a patient of this clinic.")
    dose = quantity(dose_mg, "dose")
    dispensed_mg = lot.product.mg(amount)
    if dose > dispensed_mg:
        raise StockError(
            f"The dose ({dose} mg) is more than is dispensed ({dispensed_mg} mg = {amount} "
            f"{lot.product.unit})."
        )
    if lot.expires_on < actor.today():
        if override_by is None:
            raise StockError(
                f"Lot {lot.lot_number} expired on {lot.expires_on}. Dispensing it needs a "
                "prescriber's override with a reason."
            )
        if not override_reason.strip():
            raise StockError("Write the reason for dispensing an expired lot.")
    else:
        override_by = None  # an override of a lot in date overrides nothing
    plan = None
    if plan_id is not None:
        from ketacare.planning.models import TreatmentPlan

        plan = TreatmentPlan.objects.filter(pk=plan_id, patient=patient, state="signed").first()
        if plan is None:
            raise StockError("The plan is not a signed plan of this patient.")
    return append(
        actor,
        registration,
        kind=Kind.DISPENSE,
        occurred_at=occurred_at,
        lot=lot,
        from_location=location,
        quantity_units=amount,
        quantity_mg=dispensed_mg,
        patient=patient,
        plan=plan,
        dose_mg=dose,
        override_by=override_by,
        reason=override_reason.strip(),
    )


def waste(
    actor: Actor,
    registration_id: int,
    *,
    dispense_id: int,
    units: Any,
    reason: str,
    witness: Signature | None,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Dispose of what a dispense left over, before a witness who signs with their own
    credentials. Given + wasted can never exceed what was dispensed."""
    witness_user = confirm_witness(actor, witness, prompt=WASTE_WITNESS)
    return _waste(
        actor,
        registration_id,
        dispense_id=dispense_id,
        units=units,
        reason=reason,
        witness_user=witness_user,
        occurred_at=occurred_at,
    )


@transaction.atomic
def _waste(
    actor: Actor,
    registration_id: int,
    *,
    dispense_id: int,
    units: Any,
    reason: str,
    witness_user: User,
    occurred_at: datetime | None,
) -> LedgerEntry:
    registration = locked_registration(actor, registration_id)
    amount = quantity(units)
    source = (
        LedgerEntry.objects.select_related("lot__product")
        .filter(pk=dispense_id, registration=registration, kind=Kind.DISPENSE)
        .first()
    )
    if source is None:
        raise StockError("Unknown dispense: waste is recorded against a dispense.")
    if LedgerEntry.objects.filter(corrects=source).exists():
        raise StockError(f"Dispense #{source.sequence} was reversed: there is nothing to waste.")
    if not reason.strip():
        raise StockError("Write how and why it was wasted.")
    product = source.lot.product
    wasted_mg = product.mg(amount)
    already = LedgerEntry.objects.filter(dispense=source, kind=Kind.WASTE).exclude(
        reversed_by__isnull=False
    ).aggregate(total=Sum("quantity_mg"))["total"] or Decimal(0)
    remainder = source.quantity_mg - (source.dose_mg or 0) - already
    if wasted_mg > remainder:
        raise StockError(
            f"Only {remainder} mg of this dispense is left to waste ({source.quantity_mg} mg "
            f"dispensed, {source.dose_mg} mg dose, {already} mg already wasted); "
            f"{wasted_mg} mg requested."
        )
    return append(
        actor,
        registration,
        kind=Kind.WASTE,
        occurred_at=occurred_at,
        lot=source.lot,
        quantity_units=amount,
        quantity_mg=wasted_mg,
        patient=source.patient,
        dispense=source,
        reason=reason.strip(),
        witness=witness_user,
    )


@transaction.atomic
def transfer(
    actor: Actor,
    registration_id: int,
    *,
    lot_id: int,
    from_location_id: int,
    to_location_id: int,
    units: Any,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    registration = locked_registration(actor, registration_id)
    amount = quantity(units)
    lot = lot_of(registration, lot_id)
    source = location_of(registration, from_location_id)
    target = location_of(registration, to_location_id)
    if source == target:
        raise StockError("A transfer needs two different locations.")
    return append(
        actor,
        registration,
        kind=Kind.TRANSFER,
        occurred_at=occurred_at,
        lot=lot,
        from_location=source,
        to_location=target,
        quantity_units=amount,
        quantity_mg=lot.product.mg(amount),
    )


@transaction.atomic
def return_to_supplier(
    actor: Actor,
    registration_id: int,
    *,
    lot_id: int,
    location_id: int,
    units: Any,
    supplier: str,
    reference: str,
    reason: str,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Stock back to the supplier or a reverse distributor, under the reference they gave
    (a return authorisation or invoice number), which the DEA records must show."""
    registration = locked_registration(actor, registration_id)
    amount = quantity(units)
    lot = lot_of(registration, lot_id)
    location = location_of(registration, location_id)
    if not supplier.strip():
        raise StockError("Name the supplier or reverse distributor the stock goes to.")
    if not reference.strip():
        raise StockError(
            "Give the supplier's reference for the return (return authorisation or invoice)."
        )
    return append(
        actor,
        registration,
        kind=Kind.RETURN,
        occurred_at=occurred_at,
        lot=lot,
        from_location=location,
        quantity_units=amount,
        quantity_mg=lot.product.mg(amount),
        supplier=supplier.strip(),
        invoice=reference.strip()[:100],
        reason=reason.strip(),
    )


# The facts a DEA Form 106 (theft or significant loss) asks for.
LOSS_FIELDS = {
    "discovered_on": "the date the loss was discovered",
    "loss_type": "the type of loss (theft, employee pilferage, lost in transit, other)",
    "description": "what happened",
    "police_notified": "whether the police were notified (yes or no)",
}


@transaction.atomic
def report_loss(
    actor: Actor,
    registration_id: int,
    *,
    lot_id: int,
    location_id: int,
    units: Any,
    details: dict[str, str],
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    registration = locked_registration(actor, registration_id)
    amount = quantity(units)
    lot = lot_of(registration, lot_id)
    location = location_of(registration, location_id)
    missing = [text for key, text in LOSS_FIELDS.items() if not str(details.get(key, "")).strip()]
    if missing:
        raise StockError(f"A loss report needs {', '.join(missing)}.")
    try:
        parse_date(str(details["discovered_on"]), actor.today(), "The discovery date")
    except OutOfBounds as error:
        raise StockError(str(error)) from None
    return append(
        actor,
        registration,
        kind=Kind.LOSS,
        occurred_at=occurred_at,
        lot=lot,
        from_location=location,
        quantity_units=amount,
        quantity_mg=lot.product.mg(amount),
        details={key: str(details[key]).strip() for key in LOSS_FIELDS},
        reason=details["description"].strip(),
    )


# Reversing one of these puts controlled substance back on the book (a waste, a loss) or takes
# a delivery off it (a receipt): like the waste itself, it needs a second person who signs.
