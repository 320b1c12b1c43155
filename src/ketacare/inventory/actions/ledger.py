"""The ledger's append: the entry at the head of the registration's chain (its sequence and
hash), the balances it moves, and its audit event.

``write_entry`` builds all of it through ``ketacare.writes.Writes``, once for both writers:
the actions pass ``DATABASE`` with the registration and the balance rows they locked
(``append``), the synthetic clinic's bulk path passes its batching writer with the head and the
balances it keeps in memory (``ketacare.dev.synth.bulk.base``). The rule that a balance cannot
go negative (``moved_balance``) is checked there, before anything is written, on both paths."""

from collections.abc import MutableMapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ketacare.actor import Actor
from ketacare.audit import checkpoints
from ketacare.audit.record import Action
from ketacare.inventory.actions.checks import (
    BALANCE_UNITS,
    LEDGER_MG,
    StockError,
    bounded,
    locked_balance,
)
from ketacare.inventory.chain import entry_digest, ledger_head
from ketacare.inventory.models import LedgerEntry, Location, Lot, Registration, StockBalance
from ketacare.writes import DATABASE, Writes

# A registration's balances by (lot id, location id): what a movement reads and moves.
Balances = MutableMapping[tuple[int, int], StockBalance]


def moved_balance(
    balance: StockBalance | None, sign: int, units: Decimal, lot: Lot, location: Location
) -> Decimal:
    """What the lot holds at the location once ``units`` go out (``sign`` -1) or come in (+1):
    never less than nothing, and no more than the balance's column holds, or StockError.

    Computed here, in Python, not as SQL arithmetic: SQLite would do that in binary floating
    point (122.41 - 24.48 = 97.92999...), and the CHECK would then refuse taking the exact
    remainder."""
    held = Decimal(balance.quantity_units) if balance is not None else Decimal(0)
    if sign < 0 and held < units:
        raise StockError(
            f"Insufficient stock: lot {lot.lot_number} at {location.name} holds "
            f"{held} {lot.product.unit}; {units} {lot.product.unit} requested."
        )
    moved = held + sign * units
    bounded(moved, BALANCE_UNITS, f"The stock at {location.name}")
    return moved


def write_entry(
    writes: Writes,
    actor: Actor,
    registration: Registration,
    balances: Balances,
    *,
    occurred_at: datetime | None = None,
    **fields: Any,
) -> LedgerEntry:
    """Append the entry (``fields``: its kind, ``lot``, locations, quantities, ...) at the
    registration's head and move ``balances`` (a balance not in it is added). Every refusal
    comes before the first write; the caller holds the head (the registration's lock)."""
    assert actor.user is not None
    lot: Lot = fields["lot"]
    units = Decimal(fields["quantity_units"])
    moves = [
        (location, moved_balance(balances.get((lot.pk, location.pk)), sign, units, lot, location))
        for location, sign in ((fields.get("from_location"), -1), (fields.get("to_location"), 1))
        if location is not None
    ]
    now = actor.now()
    occurred_at = occurred_at or now
    if occurred_at > now:
        raise StockError("A movement cannot be recorded ahead of time.")
    # A product's mg per unit times the units may not fit the mg column: refused by name
    # rather than by the database.
    bounded(fields["quantity_mg"], LEDGER_MG, "The quantity in mg")
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
    writes.add(entry)
    registration.last_sequence, registration.last_hash = entry.sequence, entry.hash
    writes.save(registration, "last_sequence", "last_hash")
    for location, moved in moves:
        balance = balances.get((lot.pk, location.pk))
        if balance is None:
            balance = StockBalance(lot=lot, location=location, quantity_units=moved)
            balances[(lot.pk, location.pk)] = writes.add(balance)
        else:
            balance.quantity_units = moved
            writes.save(balance, "quantity_units")
    writes.record(
        actor,
        Action.CREATE,
        obj=entry,
        patient=entry.patient_id,
        changes={
            "kind": entry.kind,
            "sequence": entry.sequence,
            "lot": lot.lot_number,
            "units": str(units),
            "mg": str(entry.quantity_mg),
        },
    )
    return entry


def locked_balances(lot: Lot, *locations: Location | None) -> Balances:
    """The lot's balances at the locations a movement touches, locked in that order (none
    yet for a lot not yet stored: its receipt adds its first)."""
    if lot.pk is None:
        return {}
    return {
        (lot.pk, location.pk): locked_balance(lot, location)
        for location in locations
        if location is not None
    }


def checkpoint_if_due(registration: Registration) -> None:
    """Every so many entries the head goes to the checkpoint file, once the entry commits."""
    if checkpoints.due(registration.last_sequence):
        checkpoints.append_on_commit(checkpoints.LEDGER_LOG, [ledger_head(registration)])


def append(actor: Actor, registration: Registration, **fields: Any) -> LedgerEntry:
    """``write_entry`` in the database, on the balance rows it moves, locked. The caller holds
    the registration's lock (``checks.locked_registration``)."""
    balances = locked_balances(
        fields["lot"], fields.get("from_location"), fields.get("to_location")
    )
    entry = write_entry(DATABASE, actor, registration, balances, **fields)
    checkpoint_if_due(registration)
    return entry
