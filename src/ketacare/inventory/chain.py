"""The ledger's hash chain, per registration, and its verification."""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from ketacare.inventory.models import GENESIS_HASH, LedgerEntry, Registration, StockBalance


def entry_digest(content: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the entry's content and its predecessor's digest, in canonical JSON."""
    payload = {**content, "prev_hash": prev_hash}
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    registration: Registration
    message: str


def _chain_problem(registration: Registration, entries: Iterable[LedgerEntry]) -> str | None:
    expected_prev, expected_sequence = GENESIS_HASH, 1
    last = None
    for entry in entries:
        where = f"entry #{entry.sequence} (id {entry.pk}, {entry.kind})"
        if entry.sequence != expected_sequence:
            return f"entry #{expected_sequence} is missing (next found: #{entry.sequence})"
        if entry.prev_hash != expected_prev:
            return f"{where} does not follow the entry before it (chain broken)"
        if entry_digest(entry.content(), entry.prev_hash) != entry.hash:
            return f"{where} was changed after it was written (hash mismatch)"
        expected_prev, expected_sequence, last = entry.hash, expected_sequence + 1, entry
    if last is None and registration.last_sequence:
        return f"the registration records {registration.last_sequence} entries but none exist"
    if last is not None and last.sequence > registration.last_sequence:
        return (
            f"entry #{last.sequence} (id {last.pk}) lies beyond the chain head "
            f"(#{registration.last_sequence}): it was added behind the ledger's back"
        )
    if last is not None and last.sequence != registration.last_sequence:
        return f"entries after #{last.sequence} were removed (the chain head names more)"
    if last is not None and last.hash != registration.last_hash:
        return f"entry #{last.sequence} is not the one the chain head recorded"
    return None


def ledger_sums(registration: Registration) -> dict[tuple[int, int], Decimal]:
    """Units per (lot, location) as the ledger's entries add up."""
    sums: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    movements = LedgerEntry.objects.filter(registration=registration).values_list(
        "lot_id", "from_location_id", "to_location_id", "quantity_units"
    )
    for lot, source, target, units in movements:
        if source is not None:
            sums[lot, source] -= units
        if target is not None:
            sums[lot, target] += units
    return sums


def _balance_problem(registration: Registration) -> str | None:
    sums = ledger_sums(registration)
    stored = {
        (b.lot_id, b.location_id): b.quantity_units
        for b in StockBalance.objects.filter(lot__registration=registration)
    }
    for key in sorted(set(sums) | set(stored)):
        if sums.get(key, Decimal(0)) != stored.get(key, Decimal(0)):
            lot, location = key
            return (
                f"the balance of lot id {lot} at location id {location} is "
                f"{stored.get(key, 0)} but its entries add up to {sums.get(key, 0)}"
            )
    return None


def verify(registrations: Iterable[Registration]) -> list[Problem]:
    """The first problem of each registration's ledger: a broken link, an edited entry, a
    removed entry, or a balance that its entries do not add up to."""
    problems = []
    for stale in registrations:
        # Holding the registration's lock, as every writer does, gives one consistent picture:
        # no entry or balance changes while it is read, so anything past the chain head is a
        # forgery, not a write in flight.
        with transaction.atomic():
            registration = Registration.objects.select_for_update().get(pk=stale.pk)
            entries = LedgerEntry.objects.filter(registration=registration).order_by("sequence")
            message = _chain_problem(registration, entries.iterator()) or _balance_problem(
                registration
            )
        if message:
            problems.append(Problem(registration, message))
    return problems
