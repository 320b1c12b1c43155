"""Every stock movement, count and discrepancy resolution. Each runs in one transaction that
appends the ledger entry, moves the balances and writes the audit event; a refusal raises
StockError before anything is written, and a failure part-way rolls all of it back."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from ketacare.accounts.access import Actor
from ketacare.accounts.models import User
from ketacare.accounts.permissions import allowed
from ketacare.accounts.reauth import SignatureRefused, reauthenticate
from ketacare.audit import checkpoints
from ketacare.audit.record import Action, record
from ketacare.bounds import (
    OutOfBounds,
    check_date,
    check_decimal,
    decimal_limit,
    digits_of,
    parse_date,
    shown,
)
from ketacare.clinical.datafiles import load
from ketacare.inventory.chain import entry_digest, ledger_head
from ketacare.inventory.dea import dea_number_problem
from ketacare.inventory.models import (
    CountLine,
    Discrepancy,
    LedgerEntry,
    Location,
    Lot,
    PhysicalCount,
    Product,
    Registration,
    StockBalance,
)
from ketacare.patients.models import Patient
from ketacare.refusals import ActionRefused

Kind = LedgerEntry.Kind
# Entries that move stock, by the direction a reversal takes them back.
STOCK_KINDS = {Kind.RECEIPT, Kind.DISPENSE, Kind.RETURN, Kind.TRANSFER, Kind.LOSS, Kind.ADJUSTMENT}


class StockError(ActionRefused):
    """A refused movement; the message says why. Nothing was written."""


# The prompts' names in the audit trail of a refused signature.
WASTE_WITNESS = "waste witness"
REVERSAL_WITNESS = "reversal witness"
EXPIRY_OVERRIDE = "expired lot override"


def policy() -> dict[str, Any]:
    return load("policy", package="ketacare.inventory")


def _digits(model: Any, field: str) -> tuple[int, int]:
    return digits_of(model._meta.get_field(field))


# The columns that hold quantities: what they hold is the most anyone may enter.
LEDGER_UNITS = _digits(LedgerEntry, "quantity_units")
LEDGER_MG = _digits(LedgerEntry, "quantity_mg")
BALANCE_UNITS = _digits(StockBalance, "quantity_units")
PRODUCT_AMOUNT = _digits(Product, "mg_per_unit")


def _bounded(value: Any, digits: tuple[int, int], what: str) -> Decimal:
    try:
        return check_decimal(value, max_digits=digits[0], decimal_places=digits[1], what=what)
    except OutOfBounds as error:
        raise StockError(str(error)) from None


def quantity(value: Any, what: str = "quantity", digits: tuple[int, int] = LEDGER_UNITS) -> Decimal:
    """A positive quantity with at most two decimals that the ledger's column holds, or
    StockError naming what is wrong."""
    number = _bounded(value, digits, f"The {what}")
    if number <= 0:
        raise StockError(f"The {what} must be more than 0, got {value}.")
    return number


@dataclass(frozen=True)
class Signature:
    """A second person confirming with their own credentials in the same action: a waste or
    reversal witness, or the prescriber overriding an expiry. ``code`` is their authenticator
    code, needed when their sign-in needs one."""

    username: str
    password: str
    code: str = ""


def confirm_signer(
    actor: Actor, signature: Signature | None, role_action: str, who: str, *, prompt: str
) -> User:
    """The person who signs, authenticated as at sign-in (``accounts.reauth``), another person
    than the actor, and allowed ``role_action`` at this clinic. Call it before the action's
    transaction opens, so that a refusal's audit event and lock-out count are kept."""
    if signature is None or not signature.username or not signature.password:
        raise StockError(f"The {who} must sign with their username and password.")
    try:
        user = reauthenticate(
            actor, signature.username, signature.password, signature.code, prompt=prompt
        )
    except SignatureRefused as refused:
        raise StockError(str(refused)) from None
    if actor.user is not None and user.pk == actor.user.pk:
        raise StockError(f"The {who} must be another person than the one recording the entry.")
    membership = user.memberships.filter(clinic=actor.clinic, active=True).first()
    if membership is None or not allowed(membership.role, role_action):
        raise StockError(f"{user.get_username()} may not act as the {who} at this clinic.")
    return user


def confirm_witness(actor: Actor, signature: Signature | None, *, prompt: str) -> User:
    """A witness of a waste or a reversal: another person whose role may move stock."""
    return confirm_signer(actor, signature, "inventory.move", "witness", prompt=prompt)


def _registration(actor: Actor, registration_id: int) -> Registration:
    """The registration, locked: every writer of its ledger queues here."""
    try:
        return Registration.objects.select_for_update().get(pk=registration_id, clinic=actor.clinic)
    except Registration.DoesNotExist:
        raise StockError("Unknown DEA registration for this clinic.") from None


def _lot(registration: Registration, lot_id: int) -> Lot:
    lot = Lot.objects.select_related("product").filter(pk=lot_id, registration=registration).first()
    if lot is None:
        raise StockError("Unknown lot: choose a lot of this registration.")
    return lot


def _location(registration: Registration, location_id: int | None) -> Location:
    location = Location.objects.filter(pk=location_id, registration=registration).first()
    if location is None:
        raise StockError("Unknown storage location: choose one of this registration.")
    return location


def _balance(lot: Lot, location: Location) -> StockBalance:
    balance, _ = StockBalance.objects.select_for_update().get_or_create(lot=lot, location=location)
    return balance


def _take(lot: Lot, location: Location, units: Decimal) -> StockBalance:
    balance = _balance(lot, location)
    if balance.quantity_units < units:
        raise StockError(
            f"Insufficient stock: lot {lot.lot_number} at {location.name} holds "
            f"{balance.quantity_units} {lot.product.unit}; {units} {lot.product.unit} requested."
        )
    return balance


def _append(actor: Actor, registration: Registration, **fields: Any) -> LedgerEntry:
    """Write the entry at the head of the registration's chain and move its balances. The
    caller holds the registration's lock and has checked the balances."""
    assert actor.user is not None
    now = actor.now()
    occurred_at = fields.pop("occurred_at", None) or now
    if occurred_at > now:
        raise StockError("A movement cannot be recorded ahead of time.")
    # A product's mg per unit times the units may not fit the mg column, nor a balance grow
    # past its own: refused by name rather than by the database.
    _bounded(fields["quantity_mg"], LEDGER_MG, "The quantity in mg")
    entry = LedgerEntry(
        registration=registration,
        sequence=registration.last_sequence + 1,
        prev_hash=registration.last_hash,
        actor=actor.user,
        occurred_at=occurred_at,
        recorded_at=now,
        **fields,
    )
    entry.hash = entry_digest(entry.content(), entry.prev_hash)
    entry.save()
    registration.last_sequence, registration.last_hash = entry.sequence, entry.hash
    registration.save(update_fields=["last_sequence", "last_hash"])
    if checkpoints.due(entry.sequence):
        checkpoints.append_on_commit(checkpoints.LEDGER_LOG, [ledger_head(registration)])
    units = entry.quantity_units
    # The new balance is computed here, on the locked row, not as SQL arithmetic: SQLite would
    # do that in binary floating point (122.41 - 24.48 = 97.92999...), and the CHECK would
    # then refuse taking the exact remainder.
    for location, sign in ((entry.from_location, -1), (entry.to_location, 1)):
        if location is not None:
            balance = _balance(entry.lot, location)
            balance.quantity_units = Decimal(balance.quantity_units) + sign * units
            _bounded(balance.quantity_units, BALANCE_UNITS, f"The stock at {location.name}")
            balance.save(update_fields=["quantity_units"])
    record(
        actor,
        Action.CREATE,
        obj=entry,
        patient=entry.patient,
        changes={
            "kind": entry.kind,
            "sequence": entry.sequence,
            "lot": entry.lot.lot_number,
            "units": str(units),
            "mg": str(entry.quantity_mg),
        },
    )
    return entry


# --- set-up -----------------------------------------------------------------------------------


@transaction.atomic
def create_registration(actor: Actor, dea_number: str, name: str, address: str) -> Registration:
    number = dea_number.strip().upper()
    problem = dea_number_problem(number)
    if problem:
        raise StockError(problem)
    if not name.strip():
        raise StockError("Write the registrant's name as on the DEA certificate.")
    if Registration.objects.filter(dea_number=number).exists():
        raise StockError(f"DEA number {number} is already registered.")
    registration = Registration.objects.create(
        clinic=actor.clinic, dea_number=number, name=name.strip(), address=address.strip()
    )
    record(actor, Action.CREATE, obj=registration, changes={"dea_number": number})
    return registration


@transaction.atomic
def add_location(actor: Actor, registration_id: int, name: str, kind: str) -> Location:
    registration = _registration(actor, registration_id)
    if not name.strip():
        raise StockError("Name the storage location.")
    if kind not in Location.Kind.values:
        raise StockError(f"Unknown kind of storage {kind!r}.")
    if registration.locations.filter(name=name.strip()).exists():
        raise StockError(f"There is already a location called {name.strip()}.")
    location = Location.objects.create(registration=registration, name=name.strip(), kind=kind)
    record(actor, Action.CREATE, obj=location, changes={"name": location.name, "kind": kind})
    return location


@transaction.atomic
def add_product(actor: Actor, **fields: Any) -> Product:
    for key in ("ndc", "name", "unit"):
        fields[key] = str(fields.get(key, "")).strip()
        if not fields[key]:
            raise StockError(f"A product needs its {key.upper() if key == 'ndc' else key}.")
    if (
        fields.get("drug") not in Product.Drug.values
        or fields.get("form") not in Product.Form.values
    ):
        raise StockError("Choose the product's drug and form.")
    for key in ("mg_per_unit", "units_per_package"):
        fields[key] = quantity(fields.get(key), key.replace("_", " "), PRODUCT_AMOUNT)
    if Product.objects.filter(ndc=fields["ndc"]).exists():
        raise StockError(f"NDC {fields['ndc']} is already in the product list.")
    product = Product.objects.create(**fields)
    record(actor, Action.CREATE, obj=product, changes={k: str(v) for k, v in fields.items()})
    return product


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
    registration = _registration(actor, registration_id)
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
    location = _location(registration, location_id)
    lot, created = Lot.objects.get_or_create(
        registration=registration,
        product=product,
        lot_number=lot_number.strip(),
        defaults={"expires_on": expires_on},
    )
    if not created and lot.expires_on != expires_on:
        raise StockError(
            f"Lot {lot.lot_number} is on record with expiry {lot.expires_on}, not {expires_on}."
        )
    return _append(
        actor,
        registration,
        kind=Kind.RECEIPT,
        occurred_at=occurred_at,
        lot=lot,
        to_location=location,
        quantity_units=amount,
        quantity_mg=product.mg(amount),
        supplier=supplier.strip(),
        invoice=invoice.strip(),
    )


# --- movements --------------------------------------------------------------------------------


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
    registration = _registration(actor, registration_id)
    amount = quantity(units)
    lot = _lot(registration, lot_id)
    location = _location(registration, location_id)
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
    _take(lot, location, amount)
    return _append(
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
    registration = _registration(actor, registration_id)
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
    return _append(
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
    registration = _registration(actor, registration_id)
    amount = quantity(units)
    lot = _lot(registration, lot_id)
    source = _location(registration, from_location_id)
    target = _location(registration, to_location_id)
    if source == target:
        raise StockError("A transfer needs two different locations.")
    _take(lot, source, amount)
    return _append(
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
    registration = _registration(actor, registration_id)
    amount = quantity(units)
    lot = _lot(registration, lot_id)
    location = _location(registration, location_id)
    if not supplier.strip():
        raise StockError("Name the supplier or reverse distributor the stock goes to.")
    if not reference.strip():
        raise StockError(
            "Give the supplier's reference for the return (return authorisation or invoice)."
        )
    _take(lot, location, amount)
    return _append(
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
    registration = _registration(actor, registration_id)
    amount = quantity(units)
    lot = _lot(registration, lot_id)
    location = _location(registration, location_id)
    missing = [text for key, text in LOSS_FIELDS.items() if not str(details.get(key, "")).strip()]
    if missing:
        raise StockError(f"A loss report needs {', '.join(missing)}.")
    try:
        parse_date(str(details["discovered_on"]), actor.today(), "The discovery date")
    except OutOfBounds as error:
        raise StockError(str(error)) from None
    _take(lot, location, amount)
    return _append(
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
WITNESSED_REVERSALS = {Kind.WASTE: "a waste", Kind.LOSS: "a loss", Kind.RECEIPT: "a receipt"}


def reversal_needs_witness(entry: LedgerEntry) -> bool:
    return entry.kind in WITNESSED_REVERSALS


def reverse(
    actor: Actor,
    registration_id: int,
    *,
    entry_id: int,
    reason: str,
    witness: Signature | None = None,
) -> LedgerEntry:
    """Correct a mistaken entry with one that undoes it and names it; nothing is edited.
    Reversing a waste, a loss or a receipt needs a witness (``WITNESSED_REVERSALS``)."""
    witness_user = None
    if witness is not None:
        witness_user = confirm_witness(actor, witness, prompt=REVERSAL_WITNESS)
    return _reverse(
        actor, registration_id, entry_id=entry_id, reason=reason, witness_user=witness_user
    )


@transaction.atomic
def _reverse(
    actor: Actor, registration_id: int, *, entry_id: int, reason: str, witness_user: User | None
) -> LedgerEntry:
    registration = _registration(actor, registration_id)
    original = (
        LedgerEntry.objects.select_related("lot__product")
        .filter(pk=entry_id, registration=registration)
        .first()
    )
    if original is None:
        raise StockError("Unknown entry.")
    if original.kind == Kind.REVERSAL:
        raise StockError("A reversal cannot itself be reversed; record the movement again.")
    if LedgerEntry.objects.filter(corrects=original).exists():
        raise StockError(f"Entry #{original.sequence} is already reversed.")
    if not reason.strip():
        raise StockError("Write why the entry is reversed.")
    if reversal_needs_witness(original) and witness_user is None:
        raise StockError(
            f"Reversing {WITNESSED_REVERSALS[original.kind]} needs a witness: another person "
            "who signs with their own username and password."
        )
    if original.kind in (Kind.LOSS, Kind.ADJUSTMENT) and not allowed(actor.role, "inventory.count"):
        raise StockError("Only a clinic admin may reverse a loss or a count adjustment.")
    if Discrepancy.objects.filter(entry=original).exists():
        raise StockError(
            f"Entry #{original.sequence} resolved a count discrepancy; record a new count "
            "instead of reversing it."
        )
    if original.kind == Kind.DISPENSE and hasattr(original, "session"):
        # Dispensed for a treatment session: the dose went into the patient with it.
        raise StockError(
            f"Entry #{original.sequence} is the dose of a treatment session: a dose that was "
            "given cannot be reversed. Waste what was left over, with a witness."
        )
    if (
        original.kind == Kind.DISPENSE
        and LedgerEntry.objects.filter(
            dispense=original, kind=Kind.WASTE, reversed_by__isnull=True
        ).exists()
    ):
        raise StockError("Reverse the wastes of this dispense first.")
    # Back the way it came: what went out comes in again, and the other way round.
    source, target = original.to_location, original.from_location
    if source is not None:
        _take(original.lot, source, original.quantity_units)
    return _append(
        actor,
        registration,
        kind=Kind.REVERSAL,
        lot=original.lot,
        from_location=source,
        to_location=target,
        quantity_units=original.quantity_units,
        quantity_mg=original.quantity_mg,
        patient=original.patient,
        corrects=original,
        reason=reason.strip(),
        witness=witness_user,
    )


# --- counts -----------------------------------------------------------------------------------


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
    registration = _registration(actor, registration_id)
    if kind not in PhysicalCount.Kind.values:
        raise StockError(f"Unknown count kind {kind!r}.")
    if not lines:
        raise StockError("A count needs at least one counted lot.")
    count = PhysicalCount.objects.create(
        registration=registration,
        kind=kind,
        counted_at=counted_at or actor.now(),
        counted_by=actor.user,
        note=note.strip(),
    )
    seen = set()
    for counted in lines:
        lot = _lot(registration, counted.lot_id)
        location = _location(registration, counted.location_id)
        if (lot.pk, location.pk) in seen:
            raise StockError(f"Lot {lot.lot_number} at {location.name} is counted twice.")
        seen.add((lot.pk, location.pk))
        units = _counted(counted.units, lot)
        line = CountLine.objects.create(
            count=count,
            lot=lot,
            location=location,
            book_units=_balance(lot, location).quantity_units,
            counted_units=units,
        )
        if line.difference:
            Discrepancy.objects.create(line=line, registration=registration, opened_at=actor.now())
    record(
        actor,
        Action.CREATE,
        obj=count,
        changes={
            "kind": kind,
            "lines": len(lines),
            "discrepancies": count.lines.filter(discrepancy__isnull=False).count(),
        },
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
    registration = _registration(actor, registration_id)
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
        if difference < 0:
            _take(line.lot, line.location, amount)
        entry = _append(
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
